"""Node capacity used well: bin-packing, node autoscaling, efficient hardware (SUS-001, SUS-002,
SUS-007).
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.capacity import (
    RESOURCES,
    active_pods_by_node,
    allocatable,
    percent,
    pod_total,
)
from checks.context import CheckContext
from checks.k8s import effective_replicas
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


@check("SUS-001")
def poor_bin_packing(ctx: CheckContext) -> Iterator[Result]:
    """One result per node: how much of it do real workloads request?

    Rule (docs/catalogue.md#sus-001): Σ requests of non-terminated pods that are neither DaemonSet pods nor
    mirror (static) pods, over allocatable. ``failing`` when no such pod runs on the node (idle
    node); ``warning`` when both CPU and memory are below ``binpacking_min_percent`` (20) %;
    ``skipped(not-applicable)`` for control-plane nodes and, unless ``binpacking_skip_tainted`` is
    false, nodes with a NoSchedule/NoExecute taint or cordoned (dedicated or draining nodes are
    sized for their purpose, not for packing).
    """
    floor = float(ctx.setting("binpacking_min_percent", 20))
    skip_tainted = bool(ctx.setting("binpacking_skip_tainted", True))
    pods_by_node = active_pods_by_node(ctx.snapshot)
    for node in ctx.snapshot.of_kind("Node"):
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


@check("SUS-002")
def no_node_autoscaling(ctx: CheckContext) -> Iterator[Result]:
    """One cluster row: is anything scaling the node fleet?

    Rule (docs/catalogue.md#sus-002): ``passing`` when one of these is found, else ``warning``: a running
    cluster-autoscaler or Karpenter Deployment (by name, ``app``/``app.kubernetes.io/name`` label or
    image); Karpenter ``NodePool``/``Provisioner`` objects; nodes labelled by Karpenter or EKS Auto
    Mode, GKE Autopilot (``gk3-`` node names) or GKE auto-provisioned pools; or the
    ``kube-system/cluster-autoscaler-status`` ConfigMap that GKE and AKS publish for their managed
    autoscaler. Karpenter's CRDs are optional, so they are not in ``requires``.
    """
    found: list[tuple[K8sObject | None, str]] = []
    for d in ctx.snapshot.of_kind("Deployment"):
        if _autoscaler_deployment(d):
            found.append((d, f"Deployment {d.namespace}/{d.name}"))
    for pool in ctx.snapshot.of_kind("NodePool", "Provisioner"):
        if pool.api_version.startswith("karpenter."):
            found.append((pool, f"Karpenter {pool.kind} {pool.name}"))
    status = ctx.snapshot.get("ConfigMap", "kube-system", "cluster-autoscaler-status")
    if status is not None:
        found.append((status, "managed cluster-autoscaler status ConfigMap"))
    for node in ctx.snapshot.of_kind("Node"):
        why = _managed_autoscaling_node(node)
        if why:
            found.append((node, why))
            break
    if found:
        yield ctx.ok(found[0][0], f"node autoscaling found: {found[0][1]}", details=[f[1] for f in found])
    else:
        yield ctx.warn(None, "no cluster-autoscaler, Karpenter or managed node autoscaling detected")


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
    for w in ctx.snapshot.workloads():
        if w.kind != "Deployment" or effective_replicas(ctx.snapshot, w) < 1:
            continue
        if not any("persistentVolumeClaim" in v for v in w.pod_spec.get("volumes") or []):
            out.append(f"{w.namespace}/{w.name}")
    return out


@check("SUS-007")
def efficient_capacity(ctx: CheckContext) -> Iterator[Result]:
    """One cluster row: are arm64 nodes and (for stateless workloads) spot capacity in use?

    Rule (docs/catalogue.md#sus-007): info findings — no node labelled ``kubernetes.io/arch=arm64``; no
    spot/preemptible node (Karpenter, EKS, GKE spot/preemptible, AKS spot labels) while stateless
    workloads exist (Deployments with replicas that mount no PVC). The row is ``warning`` (severity
    info) when either finding holds, else ``passing``; ``skipped(not-applicable)`` without nodes.
    """
    nodes = ctx.snapshot.of_kind("Node")
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
