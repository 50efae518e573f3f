"""Reliability pillar checks (REL-xxx): probes, replicas, disruption budgets, references, live health.

Relationship checks (PDB, HPA, Service, Ingress, references) follow catalogue §2.1: in manifest mode
the run only sees the objects it was given, so "the other object does not exist" is a ``warning``
there (it may be created elsewhere) and ``failing`` only on a live cluster, where absence is a fact.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from checks.context import CheckContext
from checks.k8s import ZONE_LABELS, effective_replicas, parse_image, selector_matches, service_selector_matches
from checks.model import Result, SkipReason, Status
from checks.registry import check
from checks.snapshot import WORKLOAD_KINDS, K8sObject, Snapshot, Workload

W = WORKLOAD_KINDS  # the catalogue's workload kinds (§2.1)
JOB_KINDS = ("Job", "CronJob")
SCALABLE_KINDS = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


# ---- shared helpers ---------------------------------------------------------------------------

def _name(c: dict[str, Any]) -> str:
    return c.get("name") or "?"


def _service_selectors(snap: Snapshot) -> dict[str | None, list[dict[str, str]]]:
    """Per namespace, the selectors of Services that route to pods (built once per check run)."""
    out: dict[str | None, list[dict[str, str]]] = defaultdict(list)
    for svc in snap.of_kind("Service"):
        selector = svc.spec.get("selector")
        if selector and svc.spec.get("type") != "ExternalName":
            out[svc.namespace].append(selector)
    return out


def _selected_by_service(selectors: dict[str | None, list[dict[str, str]]], w: Workload) -> bool:
    labels = w.pod_labels
    return any(service_selector_matches(sel, labels) for sel in selectors.get(w.namespace, ()))


def _int_or_percent(value: Any) -> tuple[int | None, float | None]:
    """An IntOrString as ``(absolute, None)`` or ``(None, percent)``; ``(None, None)`` when unset/invalid."""
    if value is None or isinstance(value, bool):
        return None, None
    if isinstance(value, int):
        return value, None
    text = str(value).strip()
    try:
        if text.endswith("%"):
            return None, float(text[:-1])
        return int(text), None
    except ValueError:
        return None, None


def _replica_count(snap: Snapshot, w: Workload) -> int | None:
    """How many pods a workload keeps running, or None when the spec cannot say (DaemonSet, Job)."""
    if w.kind == "Pod":
        return 1
    if w.kind in SCALABLE_KINDS:
        return effective_replicas(snap, w)
    if w.kind == "DaemonSet" and "desiredNumberScheduled" in w.obj.status:
        return int(w.obj.status["desiredNumberScheduled"])
    return None


def _wkey(w: Workload) -> tuple[str, str | None, str]:
    return (w.kind, w.namespace, w.name)


def _pdb_matches(snap: Snapshot) -> list[tuple[K8sObject, list[Workload]]]:
    """Every PDB with the workloads its full selector picks in its own namespace (§1 "PDB match")."""
    return [
        (pdb, snap.select_workloads(pdb.namespace, pdb.spec.get("selector")))
        for pdb in snap.of_kind("PodDisruptionBudget")
    ]


def _missing(ctx: CheckContext, subject: Any, message: str, **kw: Any) -> Result:
    """A referenced object is absent: a fact on a live cluster, only a suspicion on manifests (§2.1)."""
    if ctx.live:
        return ctx.fail(subject, message, **kw)
    return ctx.warn(subject, message + " (not in the assessed manifests; it may be created elsewhere)", **kw)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _worst(issues: list[tuple[Status, str]]) -> Status:
    statuses = {s for s, _ in issues}
    for s in (Status.FAILING, Status.WARNING):
        if s in statuses:
            return s
    return Status.PASSING


def _report(ctx: CheckContext, subject: Any, issues: list[tuple[Status, str]], **kw: Any) -> Result:
    """One row per subject with the worst status; the message lists the issues of that status."""
    if not issues:
        return ctx.ok(subject)
    worst = _worst(issues)
    message = "; ".join(m for s, m in issues if s is worst)
    return ctx.result(subject, worst, message, details=[m for _, m in issues], **kw)


# ---- REL-001 / REL-002 probes -------------------------------------------------------------------

@check(
    id="REL-001",
    pillar="reliability",
    name="Readiness probe missing",
    severity="medium",
    description="Without a readiness probe a Service sends traffic to a pod as soon as its process starts, "
    "and keeps sending it while the pod is overloaded or broken.",
    remediation="Add a readinessProbe to every long-running container (an HTTP or TCP check of the "
    "port the Service targets).",
    mode="manifest",
    requires=(*W, "Service"),
    peers={
        "polaris": ("readinessProbeMissing",),
        "kube-score": ("pod-probes",),
        "checkov": ("CKV_K8S_9",),
        "kube-linter": ("no-readiness-probe",),
        "kubescape": ("C-0018",),
        "popeye": ("POP-102", "POP-104"),
    },
)
def readiness_probe_missing(ctx: CheckContext) -> Iterator[Result]:
    """Containers in C* without a readinessProbe.

    Rule (catalogue REL-001): failing when the workload is selected by a Service in its namespace
    (traffic reaches unready pods), warning when no Service selects it (nothing routes to it yet).
    Jobs and CronJobs run to completion and are not load-balanced: skipped. Plain init containers
    are not in C* and are never evaluated.
    """
    selectors = _service_selectors(ctx.snap)
    for w in ctx.snap.workloads():
        if w.kind in JOB_KINDS:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "Jobs and CronJobs are not load-balanced")
            continue
        bad = [_name(c) for c in w.long_running_containers() if not c.get("readinessProbe")]
        names = ", ".join(bad)
        if not bad:
            yield ctx.ok(w)
        elif _selected_by_service(selectors, w):
            message = f"no readinessProbe and a Service routes to it: {names}"
            yield ctx.fail(w, message, container=bad[0], details=bad, field=w.container_path(bad[0], "readinessProbe"))
        else:
            message = f"no readinessProbe (no Service selects it): {names}"
            yield ctx.warn(w, message, container=bad[0], details=bad, field=w.container_path(bad[0], "readinessProbe"))


@check(
    id="REL-002",
    pillar="reliability",
    name="Liveness probe missing",
    severity="low",
    description="Without a liveness probe a deadlocked process keeps its pod Running forever; the "
    "kubelet only restarts containers that exit.",
    remediation="Add a livenessProbe that checks the process itself (not its dependencies), with a "
    "generous failureThreshold; never reuse the readiness probe unchanged.",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("livenessProbeMissing",),
        "kube-score": ("pod-probes",),
        "checkov": ("CKV_K8S_8",),
        "kube-linter": ("no-liveness-probe",),
        "kubescape": ("C-0056",),
        "popeye": ("POP-103",),
    },
)
def liveness_probe_missing(ctx: CheckContext) -> Iterator[Result]:
    """Containers in C* without a livenessProbe: warning only.

    Rule (catalogue REL-002): a missing liveness probe is a warning, never failing, because a
    wrong liveness probe (restart storms under load) is worse than none (kube-score
    README_PROBES.md). Jobs and CronJobs are skipped.
    """
    for w in ctx.snap.workloads():
        if w.kind in JOB_KINDS:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "Jobs and CronJobs run to completion")
            continue
        bad = [_name(c) for c in w.long_running_containers() if not c.get("livenessProbe")]
        if bad:
            message = f"no livenessProbe: {', '.join(bad)}"
            yield ctx.warn(w, message, container=bad[0], details=bad, field=w.container_path(bad[0], "livenessProbe"))
        else:
            yield ctx.ok(w)


@check(
    id="REL-003",
    pillar="reliability",
    name="Probe misconfiguration",
    severity="medium",
    description="A liveness probe identical to the readiness probe restarts pods that are merely busy, "
    "and a probe aimed at a port the container does not declare never succeeds.",
    remediation="Give the liveness probe its own, cheaper endpoint or a higher failureThreshold, and point "
    "every probe at a port listed in the container's ports (by name or number).",
    mode="manifest",
    requires=W,
    peers={
        "kube-score": ("pod-probes-identical",),
        "kube-linter": ("liveness-port", "readiness-port", "startup-port"),
        "popeye": ("POP-105",),
    },
)
def probe_misconfiguration(ctx: CheckContext) -> Iterator[Result]:
    """Identical liveness/readiness probes and probes on undeclared ports, over C*.

    Rule (catalogue REL-003): failing when livenessProbe == readinessProbe (the whole probe, as
    kube-score compares it); failing when an httpGet/tcpSocket/grpc port *name* is not a named port
    of the same container (the kubelet cannot resolve it); warning when a numeric probe port is not
    a declared containerPort (it may still work, the declaration is informational).
    """
    for w in ctx.snap.workloads():
        issues: list[tuple[Status, str]] = []
        first: str | None = None
        for c in w.long_running_containers():
            cname = _name(c)
            ports = c.get("ports") or []
            names = {p.get("name") for p in ports if p.get("name")}
            numbers = {str(p.get("containerPort")) for p in ports if p.get("containerPort") is not None}
            found: list[tuple[Status, str]] = []
            live, ready = c.get("livenessProbe"), c.get("readinessProbe")
            if live and ready and live == ready:
                found.append((Status.FAILING, f"{cname}: livenessProbe is identical to readinessProbe"))
            for probe_name in PROBES:
                probe = c.get(probe_name) or {}
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    port = (probe.get(handler) or {}).get("port")
                    if port is None:
                        continue
                    text = str(port)
                    if text.isdigit():
                        if text not in numbers:
                            msg = f"{cname}: {probe_name} port {text} is not a declared containerPort"
                            found.append((Status.WARNING, msg))
                    elif text not in names:
                        found.append((Status.FAILING, f"{cname}: {probe_name} port name {text!r} is not declared"))
            if found and first is None:
                first = cname
            issues += found
        yield _report(ctx, w, issues, container=first)


@check(
    id="REL-004",
    pillar="reliability",
    name="Mutable image tag",
    severity="high",
    description="An image without a tag, or tagged latest, can change under a running workload: two "
    "replicas may run different code and a rollback does not roll back.",
    remediation="Pin every image to an explicit version tag, or better an @sha256 digest.",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("tagNotSpecified",),
        "kube-score": ("container-image-tag",),
        "checkov": ("CKV_K8S_14",),
        "kube-linter": ("latest-tag",),
        "trivy": ("KSV-0013",),
        "popeye": ("POP-100", "POP-101"),
    },
)
def mutable_image_tag(ctx: CheckContext) -> Iterator[Result]:
    """Containers in C whose image has no tag and no digest, or the tag ``latest``.

    Rule (catalogue REL-004): failing for a mutable reference; an explicit non-latest tag or a
    digest passes. A container without an image is reported as failing too (nothing pins it).
    """
    for w in ctx.snap.workloads():
        bad = []
        field = None
        for c in w.containers(include_ephemeral=ctx.live):
            image = c.get("image")
            if not image or parse_image(str(image)).mutable:
                bad.append(f"{_name(c)} ({image or 'no image'})")
                field = field or w.container_path(c, "image")
        if bad:
            message = f"mutable image reference: {', '.join(bad)}"
            yield ctx.fail(w, message, container=bad[0].split(" ")[0], details=bad, field=field)
        else:
            yield ctx.ok(w)


# ---- replicas, naked pods, PDBs -----------------------------------------------------------------

@check(
    id="REL-005",
    pillar="reliability",
    name="Single replica",
    severity="medium",
    description="A workload with one replica is down during every node drain, eviction or crash.",
    remediation="Run at least two replicas (set spec.replicas, or the HPA's minReplicas when an HPA "
    "manages the workload).",
    mode="manifest",
    requires=("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job", "CronJob", "HorizontalPodAutoscaler"),
    peers={
        "polaris": ("deploymentMissingReplicas",),
        "kube-score": ("deployment-replicas",),
        "kube-linter": ("minimum-three-replicas",),
    },
)
def single_replica(ctx: CheckContext) -> Iterator[Result]:
    """Deployments, StatefulSets and unowned ReplicaSets with effective replicas below the threshold.

    Rule (catalogue REL-005): warning when effective replicas (HPA minReplicas wins) < ``min_replicas``
    (default 2). Replicas 0 is a deliberate scale-down (COST-006 looks at it): skipped. DaemonSets
    and Jobs/CronJobs have no replica count to raise: skipped. Bare Pods (REL-006) and
    ReplicationControllers are not in the row and get no result.
    """
    threshold = int(ctx.setting("min_replicas", 2))
    for w in ctx.snap.workloads():
        if w.kind in ("DaemonSet", *JOB_KINDS):
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"{w.kind} has no replica count")
            continue
        if w.kind not in ("Deployment", "StatefulSet", "ReplicaSet"):
            continue
        replicas = effective_replicas(ctx.snap, w)
        if replicas == 0 or w.obj.spec.get("replicas") == 0:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "scaled to zero")
        elif replicas < threshold:
            via = " (HPA minReplicas)" if ctx.snap.hpa_for(w.obj) is not None else ""
            yield ctx.warn(w, f"{replicas} replica(s){via}, fewer than {threshold}", details={"replicas": replicas})
        else:
            yield ctx.ok(w)


@check(
    id="REL-006",
    pillar="reliability",
    name="Naked Pod",
    severity="medium",
    description="A Pod that no controller owns is not recreated when its node fails or it is evicted.",
    remediation="Run the pod through a Deployment, StatefulSet, DaemonSet or Job.",
    mode="manifest",
    requires=W,
    peers={"kubescape": ("C-0073",), "popeye": ("POP-208",)},
)
def naked_pod(ctx: CheckContext) -> Iterator[Result]:
    """Pods without an owner fail; controller-managed workloads pass.

    Rule (catalogue REL-006): failing for a Pod without ownerReferences. Mirror/static pods
    (``kubernetes.io/config.mirror``) are managed by the kubelet and pods owned by anything
    (controller or CRD) are skipped. Interpretation: an ownerReference without ``controller: true``
    also counts as owned (Kubescape and Popeye test for any ownerReference); every other top-level
    workload passes, since a controller recreates its pods.
    """
    for w in ctx.snap.workloads():
        if w.kind != "Pod":
            yield ctx.ok(w)
        elif "kubernetes.io/config.mirror" in w.obj.annotations:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "mirror (static) pod managed by the kubelet")
        elif w.obj.owner_refs:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "pod is owned by " + w.obj.owner_refs[0].get("kind", "?"))
        else:
            yield ctx.fail(w, "pod is not managed by a controller")


@check(
    id="REL-007",
    pillar="reliability",
    name="Missing PodDisruptionBudget",
    severity="medium",
    description="Without a PodDisruptionBudget a node drain may evict every replica of a workload at once.",
    remediation="Add a PodDisruptionBudget (maxUnavailable: 1 is a good default) whose selector matches "
    "the pod template labels.",
    mode="manifest",
    requires=("Deployment", "StatefulSet", "PodDisruptionBudget", "HorizontalPodAutoscaler"),
    peers={
        "polaris": ("missingPodDisruptionBudget",),
        "kube-score": ("deployment-has-poddisruptionbudget", "statefulset-has-poddisruptionbudget"),
        "popeye": ("POP-206",),
    },
)
def missing_pdb(ctx: CheckContext) -> Iterator[Result]:
    """Deployments/StatefulSets with effective replicas ≥ 2 that no PDB selects.

    Rule (catalogue REL-007): a PDB selects the workload when its full LabelSelector (matchLabels
    and matchExpressions) matches the pod-template labels in the same namespace — not Polaris'
    any-one-key match (§1 "PDB match"). Effective replicas < 2: skipped. A missing PDB is failing
    on a live cluster and a warning on manifests (§2.1: the PDB may live in another repository).
    """
    covered: set[tuple[str, str | None, str]] = set()
    for _, matched in _pdb_matches(ctx.snap):
        covered.update(_wkey(w) for w in matched)
    for w in ctx.snap.workloads():
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        replicas = effective_replicas(ctx.snap, w)
        if replicas < 2:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"{replicas} replica(s): a PDB cannot help")
        elif _wkey(w) in covered:
            yield ctx.ok(w)
        else:
            yield _missing(ctx, w, f"{replicas} replicas and no PodDisruptionBudget selects the pods")


@check(
    id="REL-008",
    pillar="reliability",
    name="PDB blocks voluntary evictions",
    severity="high",
    description="A PodDisruptionBudget that allows zero disruptions makes node drains, upgrades and "
    "cluster-autoscaler scale-downs hang.",
    remediation="Use maxUnavailable: 1 (or minAvailable below the replica count) and set "
    "unhealthyPodEvictionPolicy: AlwaysAllow so broken pods can be evicted.",
    mode="manifest",
    requires=("PodDisruptionBudget", *W, "HorizontalPodAutoscaler"),
    peers={
        "polaris": ("pdbDisruptionsIsZero",),
        "kube-linter": ("pdb-max-unavailable", "pdb-min-available", "pdb-unhealthy-pod-eviction-policy"),
        "popeye": ("POP-901",),
    },
)
def pdb_blocks_evictions(ctx: CheckContext) -> Iterator[Result]:
    """PDBs that allow no voluntary disruption.

    Rule (catalogue REL-008): failing for maxUnavailable 0 / 0%, minAvailable 100%, or minAvailable
    ≥ the effective replicas of the matched workloads (summed). A percentage minAvailable is rounded
    up as the disruption controller does, so 90% of 2 replicas (= 2) blocks too. The replica
    comparison is made only when every matched workload has a known replica count (not DaemonSets
    on manifests, not Jobs) and the total is above zero. Warning when unhealthyPodEvictionPolicy is
    unset (crash-looping pods then block drains); passing otherwise.
    """
    for pdb, matched in _pdb_matches(ctx.snap):
        spec = pdb.spec
        issues: list[tuple[Status, str]] = []
        max_abs, max_pct = _int_or_percent(spec.get("maxUnavailable"))
        min_abs, min_pct = _int_or_percent(spec.get("minAvailable"))
        if max_abs == 0 or max_pct == 0:
            issues.append((Status.FAILING, "maxUnavailable is 0: no pod can ever be evicted"))
        if min_pct is not None and min_pct >= 100:
            issues.append((Status.FAILING, "minAvailable is 100%: no pod can ever be evicted"))
        counts = [_replica_count(ctx.snap, w) for w in matched]
        if matched and None not in counts and (min_abs is not None or (min_pct is not None and min_pct < 100)):
            total = sum(c for c in counts if c is not None)
            needed = min_abs if min_abs is not None else math.ceil((min_pct or 0) * total / 100)
            if total > 0 and needed >= total:
                issues.append((Status.FAILING, f"minAvailable {spec.get('minAvailable')} ≥ {total} matched replica(s)"))
        if not spec.get("unhealthyPodEvictionPolicy"):
            issues.append((Status.WARNING, "unhealthyPodEvictionPolicy is unset (unhealthy pods can block drains)"))
        yield _report(ctx, pdb, issues)


@check(
    id="REL-009",
    pillar="reliability",
    name="PDB invalid, dangling or overlapping",
    severity="medium",
    description="A PDB without a budget protects nothing, a PDB that selects nothing is dead weight, and "
    "pods covered by two PDBs cannot be evicted at all (the eviction API refuses).",
    remediation="Give each PDB exactly one of minAvailable or maxUnavailable, a selector that matches its "
    "workload, and make sure no pod is selected by two PDBs.",
    mode="manifest",
    requires=("PodDisruptionBudget", *W),
    peers={"kube-score": ("poddisruptionbudget-has-policy",), "popeye": ("POP-900", "POP-209")},
)
def pdb_invalid(ctx: CheckContext) -> Iterator[Result]:
    """PDBs with no policy, overlapping another PDB, or selecting nothing.

    Rule (catalogue REL-009): failing when neither minAvailable nor maxUnavailable is set; failing
    when a workload it selects is selected by another PDB too (matches are indexed per workload once);
    warning when the full selector matches no pod template in the namespace; passing otherwise.
    """
    matches = _pdb_matches(ctx.snap)
    pdbs_of: dict[tuple[str, str | None, str], list[str]] = defaultdict(list)
    for pdb, matched in matches:
        for w in matched:
            pdbs_of[_wkey(w)].append(pdb.name)
    for pdb, matched in matches:
        issues: list[tuple[Status, str]] = []
        if pdb.spec.get("minAvailable") is None and pdb.spec.get("maxUnavailable") is None:
            issues.append((Status.FAILING, "neither minAvailable nor maxUnavailable is set"))
        for w in matched:
            others = [n for n in pdbs_of[_wkey(w)] if n != pdb.name]
            if others:
                issues.append((Status.FAILING, f"{w.kind}/{w.name} is also selected by PDB {', '.join(others)}"))
        if not matched:
            issues.append((Status.WARNING, "selector matches no pod or pod template in the namespace"))
        yield _report(ctx, pdb, issues)


@check(
    id="REL-010",
    pillar="reliability",
    name="PDB conflicts with HPA",
    severity="medium",
    description="When a PDB's minAvailable is at least the HPA's minReplicas, a workload scaled down to "
    "its minimum can never lose a pod, so node drains hang.",
    remediation="Keep the PDB's minAvailable below the HPA's minReplicas, or use maxUnavailable.",
    mode="manifest",
    requires=("PodDisruptionBudget", "HorizontalPodAutoscaler", *W),
    peers={"polaris": ("pdbMinAvailableGreaterThanHPAMinReplicas",)},
)
def pdb_conflicts_with_hpa(ctx: CheckContext) -> Iterator[Result]:
    """PDBs whose absolute minAvailable is ≥ the minReplicas of an HPA on a matched workload.

    Rule (catalogue REL-010): failing for absolute minAvailable ≥ HPA minReplicas (default 1);
    passing otherwise (percentages scale with the HPA); skipped when no matched workload has an HPA.
    """
    for pdb, matched in _pdb_matches(ctx.snap):
        hpas = [(w, hpa) for w in matched if (hpa := ctx.snap.hpa_for(w.obj)) is not None]
        if not hpas:
            yield ctx.skip(pdb, SkipReason.NOT_APPLICABLE, "no HPA targets the selected workloads")
            continue
        min_abs, _ = _int_or_percent(pdb.spec.get("minAvailable"))
        bad = []
        for w, hpa in hpas:
            floor = hpa.spec.get("minReplicas")
            floor = 1 if floor is None else int(floor)
            if min_abs is not None and min_abs >= floor:
                bad.append(f"{w.kind}/{w.name}: minAvailable {min_abs} ≥ HPA {hpa.name} minReplicas {floor}")
        if bad:
            yield ctx.fail(pdb, "; ".join(bad), details=bad)
        else:
            yield ctx.ok(pdb)


ZONE_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")


@check(
    id="REL-011",
    pillar="reliability",
    name="Replicas not spread across failure domains",
    severity="medium",
    description="Replicas the scheduler is free to pack onto one node or zone all fail together when "
    "that node or zone does.",
    remediation="Add topologySpreadConstraints (topologyKey topology.kubernetes.io/zone or "
    "kubernetes.io/hostname) or podAntiAffinity on the pod's own labels.",
    mode="manifest",
    requires=("Deployment", "StatefulSet", "HorizontalPodAutoscaler"),
    peers={
        "polaris": ("topologySpreadConstraint",),
        "kube-score": (
            "deployment-has-host-podantiaffinity",
            "statefulset-has-host-podantiaffinity",
            "pod-topology-spread-constraints",
        ),
        "kube-linter": ("no-anti-affinity",),
    },
)
def replicas_not_spread(ctx: CheckContext) -> Iterator[Result]:
    """Multi-replica Deployments/StatefulSets without anti-affinity or spread constraints.

    Rule (catalogue REL-011): passing with podAntiAffinity (required or preferred) on
    ``kubernetes.io/hostname`` or ``topology.kubernetes.io/zone`` whose labelSelector matches the
    pod's own labels, or with a valid topologySpreadConstraint; failing for an invalid constraint
    (maxSkew ≤ 0, no topologyKey, no labelSelector, minDomains 0, whenUnsatisfiable not
    DoNotSchedule/ScheduleAnyway) even if anti-affinity is also present; warning when neither.
    Effective replicas < 2: skipped.
    """
    for w in ctx.snap.workloads():
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        replicas = effective_replicas(ctx.snap, w)
        if replicas < 2:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"{replicas} replica(s): nothing to spread")
            continue
        invalid, valid = [], 0
        for i, tsc in enumerate(w.pod_spec.get("topologySpreadConstraints") or []):
            problems = []
            skew = tsc.get("maxSkew")
            if not isinstance(skew, int) or isinstance(skew, bool) or skew <= 0:
                problems.append(f"maxSkew {skew!r}")
            if not tsc.get("topologyKey"):
                problems.append("no topologyKey")
            if tsc.get("labelSelector") is None:
                problems.append("no labelSelector")
            if tsc.get("minDomains") == 0:
                problems.append("minDomains 0")
            if tsc.get("whenUnsatisfiable") not in WHEN_UNSATISFIABLE:
                problems.append(f"whenUnsatisfiable {tsc.get('whenUnsatisfiable')!r}")
            if problems:
                invalid.append(f"topologySpreadConstraints[{i}]: {', '.join(problems)}")
            else:
                valid += 1
        if invalid:
            yield ctx.fail(w, "; ".join(invalid), details=invalid)
        elif valid or _has_anti_affinity(w):
            yield ctx.ok(w)
        else:
            yield ctx.warn(w, f"{replicas} replicas with neither podAntiAffinity nor topologySpreadConstraints")


def _has_anti_affinity(w: Workload) -> bool:
    anti = ((w.pod_spec.get("affinity") or {}).get("podAntiAffinity")) or {}
    terms = list(anti.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
    preferred = anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    terms += [(t or {}).get("podAffinityTerm") or {} for t in preferred]
    return any(
        t.get("topologyKey") in ZONE_KEYS and selector_matches(t.get("labelSelector"), w.pod_labels) for t in terms
    )


# ---- object relationships ----------------------------------------------------------------------

@check(
    id="REL-012",
    pillar="reliability",
    name="Selector does not match template",
    severity="high",
    description="A controller whose selector does not match its own pod template cannot own its pods; "
    "apps/v1 rejects it at apply time.",
    remediation="Make spec.selector match spec.template.metadata.labels.",
    mode="manifest",
    requires=("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"),
    peers={
        "kube-score": (
            "deployment-pod-selector-labels-match-template-metadata-labels",
            "statefulset-pod-selector-labels-match-template-metadata-labels",
        ),
        "kube-linter": ("mismatching-selector",),
        "kubescape": ("C-0296",),
        "popeye": ("POP-508",),
    },
)
def selector_mismatch(ctx: CheckContext) -> Iterator[Result]:
    """``spec.selector`` (full LabelSelector) against the pod-template labels.

    Rule (catalogue REL-012): failing on mismatch. A missing or empty selector on an apps/v1
    controller is failing too (required and non-empty there; kube-linter reports it); a Job without
    a selector passes because the Job controller generates one.
    """
    for w in ctx.snap.workloads():
        if w.kind not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
            continue
        selector = w.obj.spec.get("selector")
        if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
            if w.kind == "Job":
                yield ctx.ok(w)
            else:
                yield ctx.fail(w, "spec.selector is missing or empty", field="spec.selector")
        elif selector_matches(selector, w.pod_labels):
            yield ctx.ok(w)
        else:
            details = {"selector": selector, "labels": w.pod_labels}
            message = "spec.selector does not match spec.template.metadata.labels"
            yield ctx.fail(w, message, details=details, field="spec.selector")


class _PodLabelIndex:
    """Per namespace ``(key, value) -> pod indexes`` so a Service selector is a set intersection."""

    def __init__(self, pods: list[K8sObject]):
        self.pods = pods
        self.by_pair: dict[tuple[str | None, str, str], set[int]] = defaultdict(set)
        for i, pod in enumerate(pods):
            for k, v in pod.labels.items():
                self.by_pair[(pod.namespace, k, str(v))].add(i)

    def select(self, namespace: str | None, selector: dict[str, str]) -> list[K8sObject]:
        sets = sorted((self.by_pair.get((namespace, k, str(v)), set()) for k, v in selector.items()), key=len)
        if not sets:
            return []
        hit = set(sets[0]).intersection(*sets[1:])
        return [self.pods[i] for i in sorted(hit)]


def _ready_endpoints(snap: Snapshot) -> dict[tuple[str | None, str], int]:
    """Ready endpoint count per Service from EndpointSlices (``ready`` unset counts as ready)."""
    out: dict[tuple[str | None, str], int] = defaultdict(int)
    for es in snap.of_kind("EndpointSlice"):
        svc = es.labels.get("kubernetes.io/service-name")
        if not svc:
            continue
        for ep in es.raw.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is not False:
                out[(es.namespace, svc)] += len(ep.get("addresses") or []) or 1
    return out


@check(
    id="REL-013",
    pillar="reliability",
    name="Service selects nothing",
    severity="high",
    description="A Service whose selector matches no pod has no endpoints: every request to it fails.",
    remediation="Fix the Service selector (or the pod template labels) so that they match, in the same namespace.",
    mode="manifest",
    requires=("Service", *W, "EndpointSlice"),
    peers={
        "kube-score": ("service-targets-pod",),
        "kube-linter": ("dangling-service",),
        "kubescape": ("C-0293",),
        "popeye": ("POP-1100", "POP-1105", "POP-1109"),
    },
)
def service_selects_nothing(ctx: CheckContext) -> Iterator[Result]:
    """Services with a selector that matches no pod or pod template in their namespace.

    Rule (catalogue REL-013): failing when nothing matches (a warning on manifests, §2.1: the pods
    may be deployed from elsewhere); live, also a warning when the matched pods give 0 ready
    endpoints, or only one (no redundancy). Live matching also looks at pods themselves, so pods of
    operators whose CRDs the run does not list still count. Selector-less and ExternalName Services
    are skipped.
    """
    pods = _PodLabelIndex(ctx.snap.of_kind("Pod")) if ctx.live else None
    ready = _ready_endpoints(ctx.snap) if ctx.live else {}
    for svc in ctx.snap.of_kind("Service"):
        selector = svc.spec.get("selector")
        if not selector or svc.spec.get("type") == "ExternalName":
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "Service without a selector")
            continue
        templates = ctx.snap.select_workloads(svc.namespace, {"matchLabels": selector})
        matched_pods = pods.select(svc.namespace, selector) if pods is not None else []
        if not templates and not matched_pods:
            yield _missing(ctx, svc, f"selector {selector} matches no pod or pod template in the namespace")
            continue
        if ctx.live:
            count = ready.get((svc.namespace, svc.name), 0)
            if count == 0:
                yield ctx.warn(svc, "selector matches pods but the Service has 0 ready endpoints")
                continue
            if count == 1:
                yield ctx.warn(svc, "the Service has a single ready endpoint")
                continue
        yield ctx.ok(svc)


def _service_port_ok(svc: K8sObject, port: dict[str, Any] | Any) -> bool:
    ports = svc.spec.get("ports") or []
    if isinstance(port, dict):
        if port.get("name"):
            return any(p.get("name") == port["name"] for p in ports)
        if port.get("number") is not None:
            return any(str(p.get("port")) == str(port["number"]) for p in ports)
        return True
    if port is None:
        return True
    text = str(port)
    if text.isdigit():
        return any(str(p.get("port")) == text for p in ports)
    return any(p.get("name") == text for p in ports)


def _ingress_backends(ing: K8sObject) -> list[tuple[str, Any]]:
    """``(service name, port)`` for every Service backend (networking.k8s.io/v1 and v1beta1 shapes)."""
    spec = ing.spec
    backends = [spec.get("defaultBackend") or spec.get("backend")]
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            backends.append(path.get("backend"))
    out = []
    for b in backends:
        if not b:
            continue
        if b.get("service"):
            out.append((b["service"].get("name") or "", b["service"].get("port")))
        elif b.get("serviceName"):
            out.append((b["serviceName"], b.get("servicePort")))
    return out


@check(
    id="REL-014",
    pillar="reliability",
    name="Dangling Ingress backend / HPA target",
    severity="high",
    description="An Ingress path whose Service (or port) does not exist returns 503s; an HPA whose target "
    "does not exist scales nothing.",
    remediation="Point Ingress backends at an existing Service and one of its ports, and HPA "
    "scaleTargetRef at an existing workload.",
    mode="manifest",
    requires=("Ingress", "Service", "HorizontalPodAutoscaler", *SCALABLE_KINDS),
    peers={
        "kube-score": ("ingress-targets-service", "horizontalpodautoscaler-has-target"),
        "kube-linter": ("dangling-ingress", "dangling-horizontalpodautoscaler"),
        "kubescape": ("C-0298", "C-0300"),
        "popeye": ("POP-1401", "POP-1402", "POP-600"),
    },
)
def dangling_backends(ctx: CheckContext) -> Iterator[Result]:
    """Ingress Service backends and HPA scale targets that do not resolve.

    Rule (catalogue REL-014): failing when the referenced Service or scale target does not exist
    (a warning on manifests, §2.1), and failing when the Service exists but has no such port
    (that is visible in the run itself). Resource backends are not checked. An HPA targeting a kind
    the run holds no object of at all (e.g. a CRD on a live cluster we did not list) is a warning:
    it cannot be verified.
    """
    for ing in ctx.snap.of_kind("Ingress"):
        missing, bad_port = [], []
        for name, port in _ingress_backends(ing):
            svc = ctx.snap.get("Service", ing.namespace, name)
            if svc is None:
                missing.append(f"Service {name}")
            elif not _service_port_ok(svc, port):
                shown = (port.get("name") or port.get("number")) if isinstance(port, dict) else port
                bad_port.append(f"Service {name} has no port {shown}")
        if bad_port:
            yield ctx.fail(ing, "; ".join(bad_port + missing), details=bad_port + missing)
        elif missing:
            yield _missing(ctx, ing, "backend " + ", ".join(missing) + " does not exist", details=missing)
        else:
            yield ctx.ok(ing)
    known_kinds = set(ctx.snap.kinds())
    for hpa in ctx.snap.of_kind("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        kind, name = ref.get("kind") or "", ref.get("name") or ""
        if ctx.snap.get(kind, hpa.namespace, name) is not None:
            yield ctx.ok(hpa)
        elif ctx.live and kind not in SCALABLE_KINDS and kind not in known_kinds:
            yield ctx.warn(hpa, f"scale target {kind}/{name} is of a kind this run did not list; cannot verify")
        else:
            yield _missing(ctx, hpa, f"scale target {kind}/{name} does not exist")


_ALWAYS_PRESENT = {
    "ServiceAccount": {"default"},
    "ConfigMap": {"kube-root-ca.crt"},
    "PriorityClass": {"system-cluster-critical", "system-node-critical"},
}


Ref = tuple[str, str, str, str | None]


def _pod_references(pod_spec: dict[str, Any], containers: list[dict[str, Any]]) -> list[Ref]:
    """``(kind, name, where, container)`` for every required object a pod spec references."""
    refs: list[Ref] = []
    sa = pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount")
    if sa:
        refs.append(("ServiceAccount", sa, "serviceAccountName", None))
    if pod_spec.get("priorityClassName"):
        refs.append(("PriorityClass", pod_spec["priorityClassName"], "priorityClassName", None))
    for s in pod_spec.get("imagePullSecrets") or []:
        if s.get("name"):
            refs.append(("Secret", s["name"], "imagePullSecrets", None))
    for vol in pod_spec.get("volumes") or []:
        where = f"volume {vol.get('name', '?')}"
        cm, secret, pvc = vol.get("configMap"), vol.get("secret"), vol.get("persistentVolumeClaim")
        if cm and cm.get("name") and not cm.get("optional"):
            refs.append(("ConfigMap", cm["name"], where, None))
        if secret and secret.get("secretName") and not secret.get("optional"):
            refs.append(("Secret", secret["secretName"], where, None))
        if pvc and pvc.get("claimName"):
            refs.append(("PersistentVolumeClaim", pvc["claimName"], where, None))
        # Projected sources are references too (catalogue §1 regression "projected volumes").
        for src in (vol.get("projected") or {}).get("sources") or []:
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                item = src.get(key)
                if item and item.get("name") and not item.get("optional"):
                    refs.append((kind, item["name"], where + " (projected)", None))
    for c in containers:
        cname = _name(c)
        for env in c.get("env") or []:
            value_from = env.get("valueFrom") or {}
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                item = value_from.get(key)
                if item and item.get("name") and not item.get("optional"):
                    refs.append((kind, item["name"], f"env {env.get('name', '?')}", cname))
        for src in c.get("envFrom") or []:
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                item = src.get(key)
                if item and item.get("name") and not item.get("optional"):
                    refs.append((kind, item["name"], "envFrom", cname))
    return refs


@check(
    id="REL-015",
    pillar="reliability",
    name="Missing referenced objects",
    severity="high",
    description="A pod that references a missing ServiceAccount, ConfigMap, Secret, PVC or PriorityClass "
    "is never created or never starts.",
    remediation="Create the referenced object in the workload's namespace, or mark optional ConfigMap/Secret "
    "references with optional: true.",
    mode="manifest",
    requires=(*W, "ServiceAccount", "ConfigMap", "Secret", "PersistentVolumeClaim", "PriorityClass"),
    peers={
        "kube-linter": ("non-existent-service-account", "env-value-from"),
        "kubescape": ("C-0307",),
        "popeye": ("POP-304", "POP-305", "POP-307", "POP-407", "POP-507"),
    },
)
def missing_references(ctx: CheckContext) -> Iterator[Result]:
    """Objects a pod spec needs that the snapshot does not hold.

    Rule (catalogue REL-015): serviceAccountName, ConfigMap/Secret volumes (including projected
    sources), env/envFrom references not marked ``optional: true``, PVC claimName, imagePullSecrets
    and priorityClassName. Failing on a live cluster; a warning on manifests, where the object may be
    created elsewhere. Objects Kubernetes creates itself (the ``default`` ServiceAccount, the
    ``kube-root-ca.crt`` ConfigMap, the system PriorityClasses) always exist.
    """
    for w in ctx.snap.workloads():
        missing: list[str] = []
        first_container: str | None = None
        seen: set[tuple[str, str]] = set()
        for kind, name, where, container in _pod_references(w.pod_spec, w.containers(include_ephemeral=ctx.live)):
            if (kind, name) in seen or name in _ALWAYS_PRESENT.get(kind, ()):
                continue
            ns = None if kind == "PriorityClass" else w.namespace
            if ctx.snap.get(kind, ns, name) is None:
                seen.add((kind, name))
                missing.append(f"{kind}/{name} ({where}{', container ' + container if container else ''})")
                first_container = first_container or container
        if missing:
            yield _missing(ctx, w, "missing " + ", ".join(missing), container=first_container, details=missing)
        else:
            yield ctx.ok(w)


@check(
    id="REL-016",
    pillar="reliability",
    name="HPA replica bounds",
    severity="medium",
    description="An HPA whose maxReplicas does not exceed minReplicas cannot scale, and one whose "
    "minReplicas is 1 leaves the workload with a single replica at quiet times.",
    remediation="Set minReplicas ≥ 2 and maxReplicas > minReplicas.",
    mode="manifest",
    requires=("HorizontalPodAutoscaler",),
    peers={
        "polaris": ("hpaMinAvailability", "hpaMaxAvailability"),
        "kube-score": ("horizontalpodautoscaler-replicas",),
        "kube-linter": ("hpa-minimum-three-replicas",),
    },
)
def hpa_bounds(ctx: CheckContext) -> Iterator[Result]:
    """HPA bounds: failing for maxReplicas ≤ minReplicas, warning for minReplicas < ``min_replicas`` (2).

    minReplicas defaults to 1 when unset, as the API server does.
    """
    threshold = int(ctx.setting("min_replicas", 2))
    for hpa in ctx.snap.of_kind("HorizontalPodAutoscaler"):
        low = hpa.spec.get("minReplicas")
        low = 1 if low is None else int(low)
        high = hpa.spec.get("maxReplicas")
        if high is not None and int(high) <= low:
            message = f"maxReplicas {high} ≤ minReplicas {low}: the HPA cannot scale"
            yield ctx.fail(hpa, message, field="spec.maxReplicas")
        elif low < threshold:
            yield ctx.warn(hpa, f"minReplicas {low} is below {threshold}")
        else:
            yield ctx.ok(hpa)


@check(
    id="REL-017",
    pillar="reliability",
    name="Unsafe rollout configuration",
    severity="low",
    description="A Recreate rollout takes every pod of a served Deployment down at once; a Deployment "
    "managed by an HPA that also sets spec.replicas is reset to that count on every apply.",
    remediation="Use the RollingUpdate strategy for served Deployments, and drop spec.replicas from "
    "Deployments an HPA manages.",
    mode="manifest",
    requires=("Deployment", "Service", "HorizontalPodAutoscaler"),
    peers={
        "kube-score": ("deployment-strategy", "deployment-targeted-by-hpa-does-not-have-replicas-configured"),
        "kube-linter": ("no-rolling-update-strategy",),
        "kubescape": ("C-0305",),
    },
)
def unsafe_rollout(ctx: CheckContext) -> Iterator[Result]:
    """Recreate strategy on a Service-selected Deployment; spec.replicas on an HPA target (manifests).

    Rule (catalogue REL-017): warnings only. The replicas rule applies to manifests alone: a live
    Deployment always has spec.replicas (the API server defaults it), so it proves nothing there.
    """
    selectors = _service_selectors(ctx.snap)
    for w in ctx.snap.workloads():
        if w.kind != "Deployment":
            continue
        issues = []
        if (w.obj.spec.get("strategy") or {}).get("type") == "Recreate" and _selected_by_service(selectors, w):
            issues.append("strategy Recreate on a Deployment a Service routes to (downtime on every rollout)")
        if not ctx.live and "replicas" in w.obj.spec and ctx.snap.hpa_for(w.obj) is not None:
            issues.append("spec.replicas is set although an HPA manages the Deployment")
        if issues:
            yield ctx.warn(w, "; ".join(issues), details=issues)
        else:
            yield ctx.ok(w)


# ---- CronJob schedules --------------------------------------------------------------------------

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_NAMES = {
    3: {
        m: i + 1
        for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"))
    },
    4: {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))},
}
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _cron_field(text: str, index: int) -> set[int]:
    lo, hi = _BOUNDS[index]
    names = _NAMES.get(index, {})
    out: set[int] = set()
    for part in text.lower().split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body in ("*", "?"):
            start, end = lo, hi
        else:
            a, _, b = body.partition("-")
            start = names[a] if a in names else int(a)
            end = (names[b] if b in names else int(b)) if b else (hi if step_text else start)
        if step <= 0 or start < lo or end > hi:
            raise ValueError(part)
        out.update(range(start, end + 1, step))
    if index == 4 and 7 in out:
        out = (out - {7}) | {0}
    return out


def _cron_next(schedule: str, after: datetime, tz: str | None) -> datetime | None:
    """The first fire time strictly after ``after`` (Vixie-cron semantics), or None if it never fires."""
    text = schedule.strip()
    match = re.match(r"^(?:CRON_)?TZ=(\S+)\s+(.*)$", text)
    if match:
        tz, text = match.group(1), match.group(2)
    text = _MACROS.get(text.lower(), text)
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(schedule)
    minutes, hours, doms, months, dows = (_cron_field(f, i) for i, f in enumerate(fields))
    dom_star, dow_star = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    zone = ZoneInfo(tz) if tz else UTC
    t = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(100_000):
        if t.month not in months:
            t = (t.replace(day=1, hour=0, minute=0) + timedelta(days=32)).replace(day=1)
            continue
        dom_ok, dow_ok = t.day in doms, (t.weekday() + 1) % 7 in dows
        day_ok = (dom_ok and dow_ok) if (dom_star or dow_star) else (dom_ok or dow_ok)
        if not day_ok:
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if t.hour not in hours:
            t = t.replace(minute=0) + timedelta(hours=1)
            continue
        if t.minute not in minutes:
            t += timedelta(minutes=1)
            continue
        return t.replace(tzinfo=zone).astimezone(UTC)
    return None


@check(
    id="REL-018",
    pillar="reliability",
    name="CronJob / Job robustness",
    severity="low",
    description="CronJobs without a starting deadline pile up missed runs after an outage, overlapping runs "
    "corrupt shared state, and a Job whose pods restart Always is rejected.",
    remediation="Set startingDeadlineSeconds and concurrencyPolicy: Forbid (or Replace) on CronJobs, and "
    "restartPolicy OnFailure or Never on Job pod templates.",
    mode="manifest",
    requires=("CronJob", "Job"),
    peers={
        "kube-score": ("cronjob-has-deadline", "cronjob-restartpolicy"),
        "kube-linter": ("restart-policy",),
        "popeye": ("POP-1500", "POP-1501", "POP-1502"),
    },
)
def cronjob_robustness(ctx: CheckContext) -> Iterator[Result]:
    """CronJob deadline and concurrency, Job restart policy, and (live) suspended or stale CronJobs.

    Rule (catalogue REL-018): warning without startingDeadlineSeconds; warning for concurrencyPolicy
    Allow — including unset, which the API server defaults to Allow, so manifests and live clusters
    agree; failing when the pod restartPolicy is not OnFailure/Never (unset defaults to Always).
    Live: warning when suspended, or when at least two scheduled runs were missed since
    ``status.lastScheduleTime`` (creation time if it never ran) — "older than 2 intervals".
    """
    now = ctx.snap.now()
    for w in ctx.snap.workloads():
        if w.kind not in JOB_KINDS:
            continue
        issues: list[tuple[Status, str]] = []
        policy = w.pod_spec.get("restartPolicy")
        if policy not in ("OnFailure", "Never"):
            issues.append((Status.FAILING, f"pod restartPolicy is {policy or 'unset (Always)'}, not OnFailure/Never"))
        if w.kind == "CronJob":
            spec = w.obj.spec
            if spec.get("startingDeadlineSeconds") is None:
                issues.append((Status.WARNING, "no startingDeadlineSeconds"))
            if (spec.get("concurrencyPolicy") or "Allow") == "Allow":
                issues.append((Status.WARNING, "concurrencyPolicy Allow: runs may overlap"))
            if ctx.live:
                issues += _cron_live_issues(w.obj, now)
        yield _report(ctx, w, issues)


def _cron_live_issues(cj: K8sObject, now: datetime) -> list[tuple[Status, str]]:
    if cj.spec.get("suspend"):
        return [(Status.WARNING, "CronJob is suspended")]
    last = _parse_time(cj.status.get("lastScheduleTime")) or _parse_time(cj.meta.get("creationTimestamp"))
    if last is None or not cj.spec.get("schedule"):
        return []
    try:
        first = _cron_next(str(cj.spec["schedule"]), last, cj.spec.get("timeZone"))
        second = _cron_next(str(cj.spec["schedule"]), first, cj.spec.get("timeZone")) if first else None
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return [(Status.WARNING, f"cannot parse schedule {cj.spec['schedule']!r}")]
    if second is not None and second <= now:
        return [(Status.WARNING, f"last scheduled {last.isoformat()}: at least two runs were missed")]
    return []


@check(
    id="REL-019",
    pillar="reliability",
    name="StatefulSet without headless Service",
    severity="medium",
    description="A StatefulSet's pods get their stable DNS names from the headless Service named in "
    "spec.serviceName; without it peers cannot find each other.",
    remediation="Create a Service with clusterIP: None selecting the StatefulSet's pods and set "
    "spec.serviceName to its name.",
    mode="manifest",
    requires=("StatefulSet", "Service"),
    peers={"kube-score": ("statefulset-has-servicename",)},
)
def statefulset_headless_service(ctx: CheckContext) -> Iterator[Result]:
    """StatefulSet ``spec.serviceName`` must name an existing headless Service.

    Rule (catalogue REL-019): failing when serviceName is empty or the Service is not headless
    (``clusterIP: None``); a missing Service is failing live and a warning on manifests (§2.1).
    """
    for w in ctx.snap.workloads():
        if w.kind != "StatefulSet":
            continue
        name = w.obj.spec.get("serviceName")
        svc = ctx.snap.get("Service", w.namespace, name) if name else None
        if not name:
            yield ctx.fail(w, "spec.serviceName is empty", field="spec.serviceName")
        elif svc is None:
            yield _missing(ctx, w, f"Service {name} does not exist")
        elif svc.spec.get("clusterIP") != "None":
            yield ctx.fail(w, f"Service {name} is not headless (clusterIP: None)")
        else:
            yield ctx.ok(w)


# ---- live health --------------------------------------------------------------------------------

BAD_WAITING = ("CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull")


def _desired_available(obj: K8sObject) -> tuple[int, int] | None:
    status = obj.status
    if obj.kind == "DaemonSet":
        return int(status.get("desiredNumberScheduled") or 0), int(status.get("numberAvailable") or 0)
    if obj.kind in SCALABLE_KINDS:
        desired = obj.spec.get("replicas")
        desired = 1 if desired is None else int(desired)
        available = status.get("availableReplicas")
        if available is None and obj.kind == "StatefulSet":
            available = status.get("readyReplicas")
        return desired, int(available or 0)
    return None


def _pod_problems(pod: K8sObject, restart_threshold: int) -> list[tuple[Status, str]]:
    status = pod.status
    phase = status.get("phase")
    if phase == "Succeeded":
        return []
    out: list[tuple[Status, str]] = []
    if phase == "Failed":
        out.append((Status.FAILING, f"pod {pod.name} Failed ({status.get('reason') or 'no reason'})"))
    statuses = list(status.get("initContainerStatuses") or []) + list(status.get("containerStatuses") or [])
    for cs in statuses:
        reason = ((cs.get("state") or {}).get("waiting") or {}).get("reason")
        if reason in BAD_WAITING:
            out.append((Status.FAILING, f"pod {pod.name} container {cs.get('name')}: {reason}"))
        restarts = int(cs.get("restartCount") or 0)
        if restarts > restart_threshold:
            out.append((Status.WARNING, f"pod {pod.name} container {cs.get('name')} restarted {restarts} times"))
    if phase != "Failed":
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "True":
            out.append((Status.FAILING, f"pod {pod.name} is not Ready (phase {phase or 'unknown'})"))
    return out


@check(
    id="REL-020",
    pillar="reliability",
    name="Workload and pod health",
    severity="high",
    description="Workloads below their desired availability, and pods crash-looping, failing to pull "
    "their image or not Ready, are outages in progress.",
    remediation="Inspect the pod events and logs (kubectl describe / logs --previous) and fix the cause: "
    "image name or pull secret, crashing process, failing probe or unschedulable pod.",
    mode="live",
    requires=W,
    peers={
        "popeye": (
            "POP-200", "POP-201", "POP-202", "POP-203", "POP-204", "POP-205", "POP-207", "POP-501", "POP-1120",
        ),
    },
)
def workload_health(ctx: CheckContext) -> Iterator[Result]:
    """Controller availability and pod states, rolled up to the top-level workload.

    Rule (catalogue REL-020): failing when available < desired (Deployment, StatefulSet,
    DaemonSet, ReplicaSet, ReplicationController), or when a pod is CrashLoopBackOff /
    ImagePullBackOff (or ErrImagePull, the same failure before back-off) / Failed / not Ready;
    warning when a container restarted more than ``restart_threshold`` (3) times. Succeeded pods
    (finished Job runs) are healthy.
    """
    threshold = int(ctx.setting("restart_threshold", 3))
    for w in ctx.snap.workloads():
        issues: list[tuple[Status, str]] = []
        counts = _desired_available(w.obj)
        if counts is not None and counts[1] < counts[0]:
            issues.append((Status.FAILING, f"{counts[1]} of {counts[0]} desired replicas available"))
        pods = [w.obj] if w.kind == "Pod" else ctx.snap.pods_of(w.obj)
        for pod in pods:
            issues += _pod_problems(pod, threshold)
        yield _report(ctx, w, issues)


def _tolerates(tol: tuple[str, str, str, str], taint: dict[str, Any]) -> bool:
    key, operator, value, effect = tol
    if effect and effect != taint.get("effect"):
        return False
    if operator == "Exists":
        return not key or key == taint.get("key")
    return key == taint.get("key") and value == (taint.get("value") or "")


@check(
    id="REL-021",
    pillar="reliability",
    name="Node health",
    severity="high",
    description="A node that is not Ready, has no network or runs out of PIDs cannot run pods; pressure, "
    "cordons and taints nothing tolerates silently shrink the cluster's capacity.",
    remediation="Investigate the node (kubectl describe node, kubelet logs); uncordon or replace it, and "
    "remove taints no workload is meant to tolerate.",
    mode="live",
    requires=("Node", *W),
    peers={
        "popeye": (
            "POP-700", "POP-701", "POP-702", "POP-703", "POP-704", "POP-705", "POP-706", "POP-707", "POP-711",
        ),
    },
)
def node_health(ctx: CheckContext) -> Iterator[Result]:
    """Node conditions, cordons and taints.

    Rule (catalogue REL-021): failing when Ready is not True, or NetworkUnavailable / PIDPressure is
    True; warning for MemoryPressure / DiskPressure, a cordoned node, or a NoSchedule/NoExecute taint
    no pod or pod template tolerates. Taints under ``node.kubernetes.io/`` mirror conditions and the
    cordon (reported above) and PreferNoSchedule taints do not block scheduling: not counted.
    """
    tolerations: set[tuple[str, str, str, str]] = set()
    specs = [w.pod_spec for w in ctx.snap.workloads()] + [p.spec for p in ctx.snap.of_kind("Pod")]
    for spec in specs:
        for t in spec.get("tolerations") or []:
            tol = (t.get("key") or "", t.get("operator") or "Equal", t.get("value") or "", t.get("effect") or "")
            tolerations.add(tol)
    for node in ctx.snap.of_kind("Node"):
        issues: list[tuple[Status, str]] = []
        conditions = {c.get("type"): c.get("status") for c in node.status.get("conditions") or []}
        if conditions.get("Ready") != "True":
            issues.append((Status.FAILING, f"Ready is {conditions.get('Ready', 'unknown')}"))
        for cond in ("NetworkUnavailable", "PIDPressure"):
            if conditions.get(cond) == "True":
                issues.append((Status.FAILING, cond))
        for cond in ("MemoryPressure", "DiskPressure"):
            if conditions.get(cond) == "True":
                issues.append((Status.WARNING, cond))
        if node.spec.get("unschedulable"):
            issues.append((Status.WARNING, "cordoned (unschedulable)"))
        for taint in node.spec.get("taints") or []:
            if taint.get("effect") == "PreferNoSchedule" or (taint.get("key") or "").startswith("node.kubernetes.io/"):
                continue
            if not any(_tolerates(tol, taint) for tol in tolerations):
                text = f"{taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}"
                issues.append((Status.WARNING, f"taint {text} is tolerated by no pod"))
        yield _report(ctx, node, issues)


_CONTROL_PLANE = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


@check(
    id="REL-022",
    pillar="reliability",
    name="Failure-domain redundancy",
    severity="medium",
    description="Worker nodes in a single zone, fewer than two Ready workers, or a single control-plane "
    "node make the whole cluster fail with one zone or machine.",
    remediation="Spread worker nodes (node groups) across at least two availability zones, run at least two "
    "Ready workers, and run three control-plane nodes on self-managed clusters.",
    mode="live",
    requires=("Node",),
    peers={"popeye": ("POP-712",)},
)
def failure_domain_redundancy(ctx: CheckContext) -> Iterator[Result]:
    """Cluster-level redundancy of nodes, as one cluster row.

    Rule (catalogue REL-022): warning when every schedulable worker is in one zone (nodes without a
    zone label count as one unknown zone: spread cannot be proven), when fewer than 2 workers are
    Ready, or when exactly one control-plane node is visible (managed control planes show none).
    Skipped when the run lists no nodes at all.
    """
    nodes = ctx.snap.of_kind("Node")
    if not nodes:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no nodes listed")
        return
    workers = [n for n in nodes if not any(k in n.labels for k in _CONTROL_PLANE)]
    control_plane = len(nodes) - len(workers)
    ready_workers = [
        n for n in workers
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in n.status.get("conditions") or [])
    ]
    schedulable = [n for n in workers if not n.spec.get("unschedulable")]
    zones = {next((n.labels[k] for k in ZONE_LABELS if n.labels.get(k)), "") for n in schedulable}
    issues: list[tuple[Status, str]] = []
    if len(zones) == 1:
        zone = next(iter(zones))
        text = f"all schedulable workers are in zone {zone}" if zone else "workers have no zone label"
        issues.append((Status.WARNING, text))
    if len(ready_workers) < 2:
        issues.append((Status.WARNING, f"{len(ready_workers)} Ready worker node(s)"))
    if control_plane == 1:
        issues.append((Status.WARNING, "single control-plane node"))
    yield _report(ctx, None, issues)


@check(
    id="REL-023",
    pillar="reliability",
    name="Storage health",
    severity="high",
    description="A PVC that is Lost or stays Pending keeps its pods from starting; a Failed PV holds data "
    "that is no longer reclaimed or reachable.",
    remediation="Check the PVC events and the StorageClass provisioner; recover or delete Lost claims and "
    "Failed volumes.",
    mode="live",
    requires=("PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Pod"),
    peers={"popeye": ("POP-1001", "POP-1002", "POP-1003", "POP-1004")},
)
def storage_health(ctx: CheckContext) -> Iterator[Result]:
    """PVC and PV phases.

    Rule (catalogue REL-023): failing for a Lost PVC, a PVC Pending longer than
    ``pvc_pending_minutes`` (10) since creation, and a Failed PV; passing otherwise. Interpretation:
    a Pending PVC of a WaitForFirstConsumer StorageClass that no pod uses is waiting by design
    (binding happens when a pod is scheduled) and passes.
    """
    limit = timedelta(minutes=float(ctx.setting("pvc_pending_minutes", 10)))
    now = ctx.snap.now()
    default_sc = next(
        (
            sc
            for sc in ctx.snap.of_kind("StorageClass")
            if sc.annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
        ),
        None,
    )
    used: set[tuple[str | None, str]] = set()
    for pod in ctx.snap.of_kind("Pod"):
        for vol in pod.spec.get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                used.add((pod.namespace, claim))
    for pvc in ctx.snap.of_kind("PersistentVolumeClaim"):
        phase = pvc.status.get("phase")
        if phase == "Lost":
            yield ctx.fail(pvc, "PVC is Lost: its volume no longer exists")
            continue
        if phase == "Pending":
            created = _parse_time(pvc.meta.get("creationTimestamp"))
            sc_name = pvc.spec.get("storageClassName")
            sc = ctx.snap.get("StorageClass", None, sc_name) if sc_name else default_sc
            waiting = sc is not None and sc.raw.get("volumeBindingMode") == "WaitForFirstConsumer"
            if waiting and (pvc.namespace, pvc.name) not in used:
                yield ctx.ok(pvc, "Pending until a pod uses it (WaitForFirstConsumer)")
            elif created is not None and now - created > limit:
                minutes = int((now - created).total_seconds() // 60)
                yield ctx.fail(pvc, f"PVC Pending for {minutes} minutes", details={"minutes": minutes})
            else:
                yield ctx.ok(pvc, "Pending (within the threshold)")
            continue
        yield ctx.ok(pvc)
    for pv in ctx.snap.of_kind("PersistentVolume"):
        if pv.status.get("phase") == "Failed":
            yield ctx.fail(pv, f"PV Failed: {pv.status.get('message') or pv.status.get('reason') or 'no message'}")
        else:
            yield ctx.ok(pv)
