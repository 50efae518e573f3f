"""Sustainability pillar checks (SUS-xxx): packing, scaling to demand, idle capacity, efficient hardware.

Where the catalogue gives an ``info`` outcome: SUS-007 and SUS-008 have severity ``info`` and no
other finding, so their ``info`` is a ``warning`` row (severity info weighs 0 in scores). SUS-006
has a real ``warning`` and a weaker ``info``; there the ``info`` is a ``passing`` row whose message
carries the note, so it never lowers a score.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from checks.capacity import (
    RESOURCES,
    active_pods_by_node,
    allocatable,
    lenient_quantity,
    percent,
    pod_metrics,
    pod_total,
    running_pods_by_owner,
)
from checks.context import CheckContext
from checks.k8s import ZONE_LABELS, as_number, effective_replicas, selector_matches
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import K8sObject

CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")
HARD_TAINTS = ("NoSchedule", "NoExecute")
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def _is_daemon_or_mirror(pod: K8sObject) -> bool:
    ref = pod.controller_ref or {}
    return ref.get("kind") == "DaemonSet" or MIRROR_ANNOTATION in pod.annotations


def _is_control_plane(node: K8sObject) -> bool:
    if any(label in node.labels for label in CONTROL_PLANE_LABELS):
        return True
    return any(t.get("key") in CONTROL_PLANE_LABELS for t in node.spec.get("taints") or [])


# ---- SUS-001: bin-packing ---------------------------------------------------------------------------


@check(
    id="SUS-001",
    pillar="sustainability",
    name="Poor node bin-packing",
    severity="medium",
    description="A node that is mostly empty still draws most of its power; packing workloads onto fewer "
    "nodes lets the autoscaler remove the rest.",
    remediation="Enable consolidation (Karpenter) or scale-down (cluster-autoscaler), right-size requests, "
    "and remove node pools whose nodes only run DaemonSets.",
    mode="live",
    requires=("Node", "Pod"),
    peers={},
)
def poor_bin_packing(ctx: CheckContext) -> Iterator[Result]:
    """One result per node: how much of it do real workloads request?

    Rule (catalogue SUS-001): Σ requests of non-terminated pods that are neither DaemonSet pods nor
    mirror (static) pods, over allocatable. ``failing`` when no such pod runs on the node (idle
    node); ``warning`` when both CPU and memory are below ``binpacking_min_percent`` (20) %;
    ``skipped(not-applicable)`` for control-plane nodes and, unless ``binpacking_skip_tainted`` is
    false, nodes with a NoSchedule/NoExecute taint or cordoned (dedicated or draining nodes are
    sized for their purpose, not for packing).
    """
    floor = float(ctx.setting("binpacking_min_percent", 20))
    skip_tainted = bool(ctx.setting("binpacking_skip_tainted", True))
    pods_by_node = active_pods_by_node(ctx.snap)
    for node in ctx.snap.of_kind("Node"):
        if _is_control_plane(node):
            yield ctx.skip(node, SkipReason.NOT_APPLICABLE, "control-plane node")
            continue
        taints = [t.get("key") for t in node.spec.get("taints") or [] if t.get("effect") in HARD_TAINTS]
        if skip_tainted and (taints or node.spec.get("unschedulable")):
            why = ", ".join(taints) or "cordoned"
            yield ctx.skip(node, SkipReason.NOT_APPLICABLE, f"tainted or cordoned node ({why})")
            continue
        alloc = allocatable(node)
        if not alloc["cpu"] or not alloc["memory"]:
            yield ctx.skip(node, SkipReason.NOT_APPLICABLE, "node reports no allocatable cpu/memory")
            continue
        pods = [p for p in pods_by_node.get(node.name, ()) if not _is_daemon_or_mirror(p)]
        if not pods:
            yield ctx.fail(node, "idle node: it runs only DaemonSet or mirror pods")
            continue
        used = {r: percent(sum(pod_total(p.spec, "requests", r) for p in pods), alloc[r] or 0.0) for r in RESOURCES}
        details = {f"{r}RequestPercent": round(used[r], 1) for r in RESOURCES}
        if all(used[r] < floor for r in RESOURCES):
            yield ctx.warn(
                node,
                f"workloads request {used['cpu']:.0f}% of CPU and {used['memory']:.0f}% of memory (< {floor:g}%)",
                details=details,
            )
        else:
            yield ctx.ok(node, details=details)


# ---- SUS-002: node autoscaling ---------------------------------------------------------------------

AUTOSCALER_NAMES = ("cluster-autoscaler", "karpenter")
AUTOSCALER_NODE_LABELS = ("karpenter.sh/nodepool", "karpenter.sh/provisioner-name")


def _autoscaler_deployment(d: K8sObject) -> bool:
    if d.spec.get("replicas") == 0:
        return False
    names = [d.name, d.labels.get("app.kubernetes.io/name", ""), d.labels.get("app", "")]
    template = (d.spec.get("template") or {}).get("spec") or {}
    names += [c.get("image") or "" for c in template.get("containers") or []]
    return any(key in text for text in names for key in AUTOSCALER_NAMES)


def _managed_autoscaling_node(node: K8sObject) -> str | None:
    labels = node.labels
    for key in AUTOSCALER_NODE_LABELS:
        if key in labels:
            return f"node label {key}"
    if labels.get("eks.amazonaws.com/compute-type") == "auto":
        return "EKS Auto Mode node"
    if node.name.startswith("gk3-"):
        return "GKE Autopilot node"
    if labels.get("cloud.google.com/gke-nodepool", "").startswith("nap-"):
        return "GKE node auto-provisioning"
    return None


@check(
    id="SUS-002",
    pillar="sustainability",
    name="No node autoscaling / consolidation",
    severity="medium",
    description="Without node autoscaling the cluster keeps its peak-sized fleet running through every quiet "
    "hour; consolidation removes nodes that workloads no longer need.",
    remediation="Run cluster-autoscaler or Karpenter (with consolidation), or use a managed mode such as EKS "
    "Auto Mode or GKE Autopilot.",
    mode="live",
    requires=("Deployment", "Node", "ConfigMap"),
    peers={},
)
def no_node_autoscaling(ctx: CheckContext) -> Iterator[Result]:
    """One cluster row: is anything scaling the node fleet?

    Rule (catalogue SUS-002): ``passing`` when one of these is found, else ``warning``: a running
    cluster-autoscaler or Karpenter Deployment (by name, ``app``/``app.kubernetes.io/name`` label or
    image); Karpenter ``NodePool``/``Provisioner`` objects; nodes labelled by Karpenter or EKS Auto
    Mode, GKE Autopilot (``gk3-`` node names) or GKE auto-provisioned pools; or the
    ``kube-system/cluster-autoscaler-status`` ConfigMap that GKE and AKS publish for their managed
    autoscaler. Karpenter's CRDs are optional, so they are not in ``requires``.
    """
    found: list[tuple[K8sObject | None, str]] = []
    for d in ctx.snap.of_kind("Deployment"):
        if _autoscaler_deployment(d):
            found.append((d, f"Deployment {d.namespace}/{d.name}"))
    for pool in ctx.snap.of_kind("NodePool", "Provisioner"):
        if pool.api_version.startswith("karpenter."):
            found.append((pool, f"Karpenter {pool.kind} {pool.name}"))
    status = ctx.snap.get("ConfigMap", "kube-system", "cluster-autoscaler-status")
    if status is not None:
        found.append((status, "managed cluster-autoscaler status ConfigMap"))
    for node in ctx.snap.of_kind("Node"):
        why = _managed_autoscaling_node(node)
        if why:
            found.append((node, why))
            break
    if found:
        yield ctx.ok(found[0][0], f"node autoscaling found: {found[0][1]}", details=[f[1] for f in found])
    else:
        yield ctx.warn(None, "no cluster-autoscaler, Karpenter or managed node autoscaling detected")


# ---- SUS-003: right-sizing --------------------------------------------------------------------------

RECOMMENDERS = ("vpa-recommender", "goldilocks")


@check(
    id="SUS-003",
    pillar="sustainability",
    name="No right-sizing mechanism",
    severity="low",
    description="Requests set once and never revisited drift away from real usage; a recommender (VPA, "
    "Goldilocks) keeps reserved capacity close to what workloads use.",
    remediation="Install the Vertical Pod Autoscaler (at least its recommender) or Goldilocks and create VPA "
    "objects for your workloads.",
    mode="live",
    requires=("Deployment",),
    peers={},
)
def no_right_sizing(ctx: CheckContext) -> Iterator[Result]:
    """One cluster row: is there any VPA object or right-sizing recommender?

    Rule (catalogue SUS-003): ``passing`` when VerticalPodAutoscaler objects exist or a
    recommender Deployment runs (``vpa-recommender``, Goldilocks — matched by name, label or image;
    extend with the ``rightsizing_recommenders`` setting), else ``warning``. An installed CRD alone
    is not a mechanism. The VPA CRD is optional, so it is not in ``requires``.
    """
    markers = tuple(ctx.setting("rightsizing_recommenders", RECOMMENDERS))
    vpas = ctx.snap.of_kind("VerticalPodAutoscaler")
    if vpas:
        yield ctx.ok(vpas[0], f"{len(vpas)} VerticalPodAutoscaler object(s)")
        return
    for d in ctx.snap.of_kind("Deployment"):
        template = (d.spec.get("template") or {}).get("spec") or {}
        texts = [d.name, d.labels.get("app.kubernetes.io/name", ""), d.labels.get("app", "")]
        texts += [c.get("image") or "" for c in template.get("containers") or []]
        if any(m in t for t in texts for m in markers):
            yield ctx.ok(d, f"right-sizing recommender Deployment {d.namespace}/{d.name}")
            return
    yield ctx.warn(None, "no VerticalPodAutoscaler objects and no right-sizing recommender found")


# ---- SUS-004: idle workloads ------------------------------------------------------------------------

IDLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Pod"})


@check(
    id="SUS-004",
    pillar="sustainability",
    name="Idle workload",
    severity="low",
    description="A workload whose every replica uses almost no CPU still holds its requested capacity (and "
    "nodes) for nothing.",
    remediation="Scale it to zero when unused (KEDA, kube-downscaler), merge it with another service, or remove it.",
    mode="live+metrics",
    requires=("Pod",),
    peers={"popeye": ("POP-503",)},
)
def idle_workload(ctx: CheckContext) -> Iterator[Result]:
    """Warn when every running replica of a workload uses less than ``idle_cpu_millicores`` (5m) CPU.

    Rule (catalogue SUS-004): pods are rolled up to their top owner; ``warning`` only when all
    running pods have metrics and each pod's total CPU is below the threshold; ``passing`` when one
    replica is busier; ``skipped(requires-metrics)`` when some running pod has no metrics (idleness
    cannot be proven). DaemonSets, Jobs and CronJobs are not judged: per-node agents and batch pods
    cannot be scaled to zero this way.
    """
    threshold = float(ctx.setting("idle_cpu_millicores", 5)) / 1000.0
    for top, pods in running_pods_by_owner(ctx.snap).values():
        if top.kind not in IDLE_KINDS:
            continue
        usage: list[float] = []
        for pod in pods:
            m = pod_metrics(ctx.snap, pod.namespace, pod.name)
            if m is not None:
                usage.append(sum(lenient_quantity((c or {}).get("cpu")) or 0.0 for c in m.values()))
        if any(u >= threshold for u in usage):
            yield ctx.ok(top, details={"cpuCores": usage})
        elif len(usage) < len(pods):
            yield ctx.skip(top, SkipReason.REQUIRES_METRICS, f"no metrics for {len(pods) - len(usage)} running pod(s)")
        else:
            yield ctx.warn(
                top,
                f"all {len(pods)} running replica(s) use < {threshold * 1000:g}m CPU",
                details={"cpuCores": usage},
            )


# ---- SUS-005: object accumulation -------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _failed_at(pod: K8sObject) -> datetime | None:
    """When the pod last stopped: the latest container finishedAt, else its start or creation time."""
    ends = []
    for cs in (pod.status.get("containerStatuses") or []) + (pod.status.get("initContainerStatuses") or []):
        ts = _timestamp(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if ts:
            ends.append(ts)
    if ends:
        return max(ends)
    return _timestamp(pod.status.get("startTime")) or _timestamp(pod.meta.get("creationTimestamp"))


@check(
    id="SUS-005",
    pillar="sustainability",
    name="Object accumulation",
    severity="low",
    description="Old ReplicaSets and failed pods pile up in etcd and in every controller's cache, costing "
    "memory and API-server work on each list.",
    remediation="Keep revisionHistoryLimit at 10 or less and delete failed/evicted pods (or lower the "
    "kube-controller-manager terminated-pod-gc-threshold).",
    mode="manifest",
    requires=("Deployment", "ReplicaSet", "Pod"),
    peers={},
)
def object_accumulation(ctx: CheckContext) -> Iterator[Result]:
    """One result per Deployment, and (live) per Failed pod.

    Rule (catalogue SUS-005): ``warning`` when a Deployment's ``revisionHistoryLimit`` >
    ``revision_history_max`` (10); live: ``warning`` when a Deployment owns more than 10
    zero-replica ReplicaSets, and for Failed pods (Evicted pods are Failed) older than
    ``failed_pod_age_hours`` (24) — age since the last container finished, else since start.
    Succeeded pods are not flagged (the catalogue only names Failed/Evicted in its results).
    """
    max_history = int(ctx.setting("revision_history_max", 10))
    max_age = float(ctx.setting("failed_pod_age_hours", 24)) * 3600
    for d in ctx.snap.of_kind("Deployment"):
        findings = []
        limit = as_number(d.spec.get("revisionHistoryLimit"))
        if limit is not None and limit > max_history:
            findings.append(f"revisionHistoryLimit {limit:g} > {max_history}")
        if ctx.live:
            idle = [
                rs.name
                for rs in ctx.snap.children(d)
                if rs.kind == "ReplicaSet" and not as_number(rs.spec.get("replicas"))
            ]
            if len(idle) > max_history:
                findings.append(f"{len(idle)} zero-replica ReplicaSets retained")
        if findings:
            yield ctx.warn(d, "; ".join(findings), details=findings)
        else:
            yield ctx.ok(d)
    if not ctx.live:
        return
    now = ctx.snap.now()
    for pod in ctx.snap.of_kind("Pod"):
        if pod.status.get("phase") != "Failed":
            continue
        when = _failed_at(pod)
        reason = pod.status.get("reason") or "Failed"
        if when is not None and (now - when).total_seconds() > max_age:
            days = (now - when).total_seconds() / 86400
            details = {"reason": reason, "since": when.isoformat()}
            yield ctx.warn(pod, f"{reason} pod kept for {days:.1f} days", details=details)
        else:
            yield ctx.ok(pod, f"{reason} pod younger than {max_age / 3600:g} h")


# ---- SUS-006: non-production over-provisioning ------------------------------------------------------

NONPROD_SELECTORS = [
    {"matchExpressions": [{"key": key, "operator": "In", "values": ["dev", "development", "test", "staging", "qa"]}]}
    for key in ("env", "environment")
]
REPLICATED_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"})


@check(
    id="SUS-006",
    pillar="sustainability",
    name="Non-production over-provisioning",
    severity="low",
    description="Development and test environments rarely need redundancy or to run outside working hours; "
    "extra replicas there burn energy for nothing.",
    remediation="Run one replica in non-production namespaces and scale them down off-hours (kube-downscaler "
    "annotations, kube-green SleepInfo, KEDA cron).",
    mode="manifest",
    requires=("Namespace", *sorted(REPLICATED_KINDS), "HorizontalPodAutoscaler"),
    peers={},
)
def nonprod_overprovisioning(ctx: CheckContext) -> Iterator[Result]:
    """Warn on replicated workloads with more than one effective replica in non-production namespaces.

    Rule (catalogue SUS-006): non-production namespaces are Namespace objects whose labels match
    any selector in ``nonprod_namespace_selectors`` (default ``env``/``environment`` in dev,
    development, test, staging, qa). ``warning`` when effective replicas > 1 (this is HPA
    minReplicas when an HPA targets the workload); otherwise ``passing``, with the catalogue's
    ``info`` note in the message when neither the workload nor its namespace carries a
    ``downscaler/*`` annotation and the namespace has no kube-green SleepInfo.
    """
    selectors = ctx.setting("nonprod_namespace_selectors", NONPROD_SELECTORS)
    prefixes = tuple(ctx.setting("downscaler_annotation_prefixes", ["downscaler/"]))
    nonprod = {
        ns.name: ns for ns in ctx.snap.of_kind("Namespace") if any(selector_matches(s, ns.labels) for s in selectors)
    }
    if not nonprod:
        return
    sleeping = {s.namespace for s in ctx.snap.of_kind("SleepInfo")}

    def scheduled(annotations: dict[str, str]) -> bool:
        return any(key.startswith(prefixes) for key in annotations)

    for w in ctx.snap.workloads():
        ns = nonprod.get(w.namespace or "")
        if ns is None or w.kind not in REPLICATED_KINDS:
            continue
        replicas = effective_replicas(ctx.snap, w)
        source = "HPA minReplicas" if ctx.snap.hpa_for(w.obj) is not None else "replicas"
        if replicas > 1:
            yield ctx.warn(w, f"{source} {replicas} in non-production namespace {ns.name}")
        elif scheduled(w.obj.annotations) or scheduled(ns.annotations) or ns.name in sleeping:
            yield ctx.ok(w)
        else:
            yield ctx.ok(w, "note: no scale-down schedule (e.g. kube-downscaler) in a non-production namespace")


# ---- SUS-007: efficient capacity --------------------------------------------------------------------

ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")
SPOT_LABELS = {
    "karpenter.sh/capacity-type": "spot",
    "eks.amazonaws.com/capacityType": "SPOT",
    "cloud.google.com/gke-spot": "true",
    "cloud.google.com/gke-preemptible": "true",
    "kubernetes.azure.com/scalesetpriority": "spot",
}


def _stateless(ctx: CheckContext) -> list[str]:
    """Running Deployments that mount no PersistentVolumeClaim: candidates for spot capacity."""
    out = []
    for w in ctx.snap.workloads():
        if w.kind != "Deployment" or effective_replicas(ctx.snap, w) < 1:
            continue
        if not any("persistentVolumeClaim" in v for v in w.pod_spec.get("volumes") or []):
            out.append(f"{w.namespace}/{w.name}")
    return out


@check(
    id="SUS-007",
    pillar="sustainability",
    name="Energy-efficient capacity not used",
    severity="info",
    description="Arm64 nodes deliver more work per watt for most workloads, and spot capacity runs on hardware "
    "that is already powered on; neither is used here.",
    remediation="Add an arm64 node pool (multi-arch images) and run stateless workloads on spot/preemptible capacity.",
    mode="live",
    requires=("Node", "Deployment"),
    peers={},
)
def efficient_capacity(ctx: CheckContext) -> Iterator[Result]:
    """One cluster row: are arm64 nodes and (for stateless workloads) spot capacity in use?

    Rule (catalogue SUS-007): info findings — no node labelled ``kubernetes.io/arch=arm64``; no
    spot/preemptible node (Karpenter, EKS, GKE spot/preemptible, AKS spot labels) while stateless
    workloads exist (Deployments with replicas that mount no PVC). The row is ``warning`` (severity
    info) when either finding holds, else ``passing``; ``skipped(not-applicable)`` without nodes.
    """
    nodes = ctx.snap.of_kind("Node")
    if not nodes:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no nodes listed")
        return
    arm = any(any(n.labels.get(k) == "arm64" for k in ARCH_LABELS) for n in nodes)
    spot = any(any(n.labels.get(k, "").lower() == v.lower() for k, v in SPOT_LABELS.items()) for n in nodes)
    findings = []
    if not arm:
        findings.append("no arm64 nodes")
    stateless = _stateless(ctx) if not spot else []
    if stateless:
        findings.append(f"no spot/preemptible nodes while {len(stateless)} stateless Deployment(s) run")
    if findings:
        yield ctx.warn(None, "; ".join(findings), details={"findings": findings, "stateless": stateless[:20]})
    else:
        yield ctx.ok(None, "arm64 nodes present; spot capacity present or not needed")


# ---- SUS-008: cross-zone traffic --------------------------------------------------------------------

TOPOLOGY_ANNOTATIONS = ("service.kubernetes.io/topology-mode", "service.kubernetes.io/topology-aware-hints")


@check(
    id="SUS-008",
    pillar="sustainability",
    name="Cross-zone traffic not minimised",
    severity="info",
    description="Without topology-aware routing a Service spreads requests across zones, so traffic crosses "
    "zone boundaries (energy and transfer cost) even when a local replica could answer.",
    remediation="Set spec.trafficDistribution: PreferClose (or the service.kubernetes.io/topology-mode: Auto "
    "annotation) on multi-replica Services.",
    mode="manifest",
    requires=("Service", "Node", *sorted(REPLICATED_KINDS), "DaemonSet", "HorizontalPodAutoscaler"),
    peers={},
)
def cross_zone_traffic(ctx: CheckContext) -> Iterator[Result]:
    """One result per ClusterIP Service with a selector.

    Rule (catalogue SUS-008): info finding (``warning`` row, severity info) for a Service of type
    ClusterIP (not headless) whose selected workloads total ≥ 2 effective replicas, in a multi-zone
    cluster, with neither ``spec.trafficDistribution`` nor a topology annotation (``topology-mode``
    other than Disabled, or ``topology-aware-hints: auto``) nor ``internalTrafficPolicy: Local``.
    Zones come from node labels; with no Node objects (manifests) the cluster is assumed multi-zone
    (``assume_multi_zone``, default true). Other Services are ``skipped(not-applicable)``. A
    DaemonSet counts as one replica per node (2 when nodes are unknown).
    """
    nodes = ctx.snap.of_kind("Node")
    zones = {n.labels.get(ZONE_LABELS[0]) or n.labels.get(ZONE_LABELS[1]) for n in nodes} - {None, ""}
    multi_zone = len(zones) > 1 if nodes else bool(ctx.setting("assume_multi_zone", True))
    for svc in ctx.snap.of_kind("Service"):
        spec = svc.spec
        if (spec.get("type") or "ClusterIP") != "ClusterIP" or spec.get("clusterIP") == "None":
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "not a ClusterIP Service with a virtual IP")
            continue
        selector = spec.get("selector")
        if not selector:
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "Service has no selector")
            continue
        if not multi_zone:
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "single-zone cluster")
            continue
        selected = ctx.snap.select_workloads(svc.namespace, {"matchLabels": selector})
        replicas = sum(
            (len(nodes) or 2) if w.kind == "DaemonSet" else effective_replicas(ctx.snap, w)
            for w in selected
            if w.kind in REPLICATED_KINDS or w.kind in ("DaemonSet", "Pod")
        )
        if replicas < 2:
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, f"selects {replicas} replica(s)")
            continue
        mode = str(svc.annotations.get(TOPOLOGY_ANNOTATIONS[0], "")).lower()
        hints = str(svc.annotations.get(TOPOLOGY_ANNOTATIONS[1], "")).lower()
        if spec.get("trafficDistribution") or (mode and mode != "disabled") or hints == "auto":
            yield ctx.ok(svc)
        elif spec.get("internalTrafficPolicy") == "Local":
            yield ctx.ok(svc, "internalTrafficPolicy Local keeps traffic on the node")
        else:
            assumed = "" if nodes else " (assuming a multi-zone cluster)"
            message = f"{replicas} replicas behind a ClusterIP Service without topology-aware routing{assumed}"
            yield ctx.warn(svc, message)
