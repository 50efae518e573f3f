"""Live health: workloads and pods, nodes, storage (REL-020, REL-021, REL-023)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from checks.context import CheckContext
from checks.model import Result, Status
from checks.registry import check
from checks.reliability.common import SCALABLE_KINDS, _parse_time, _report
from checks.snapshot import K8sObject

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


@check("REL-020")
def workload_health(ctx: CheckContext) -> Iterator[Result]:
    """Controller availability and pod states, rolled up to the top-level workload.

    Rule (docs/catalogue.md#rel-020): failing when available < desired (Deployment, StatefulSet,
    DaemonSet, ReplicaSet, ReplicationController), or when a pod is CrashLoopBackOff /
    ImagePullBackOff (or ErrImagePull, the same failure before back-off) / Failed / not Ready;
    warning when a container restarted more than ``restart_threshold`` (3) times. Succeeded pods
    (finished Job runs) are healthy.
    """
    threshold = int(ctx.setting("restart_threshold", 3))
    for w in ctx.snapshot.workloads():
        issues: list[tuple[Status, str]] = []
        counts = _desired_available(w.obj)
        if counts is not None and counts[1] < counts[0]:
            issues.append((Status.FAILING, f"{counts[1]} of {counts[0]} desired replicas available"))
        pods = [w.obj] if w.kind == "Pod" else ctx.snapshot.pods_of(w.obj)
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


@check("REL-021")
def node_health(ctx: CheckContext) -> Iterator[Result]:
    """Node conditions, cordons and taints.

    Rule (docs/catalogue.md#rel-021): failing when Ready is not True, or NetworkUnavailable / PIDPressure is
    True; warning for MemoryPressure / DiskPressure, a cordoned node, or a NoSchedule/NoExecute taint
    no pod or pod template tolerates. Taints under ``node.kubernetes.io/`` mirror conditions and the
    cordon (reported above) and PreferNoSchedule taints do not block scheduling: not counted.
    """
    tolerations: set[tuple[str, str, str, str]] = set()
    specs = [w.pod_spec for w in ctx.snapshot.workloads()] + [p.spec for p in ctx.snapshot.of_kind("Pod")]
    for spec in specs:
        for t in spec.get("tolerations") or []:
            tol = (t.get("key") or "", t.get("operator") or "Equal", t.get("value") or "", t.get("effect") or "")
            tolerations.add(tol)
    for node in ctx.snapshot.of_kind("Node"):
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


@check("REL-023")
def storage_health(ctx: CheckContext) -> Iterator[Result]:
    """PVC and PV phases.

    Rule (docs/catalogue.md#rel-023): failing for a Lost PVC, a PVC Pending longer than
    ``pvc_pending_minutes`` (10) since creation, and a Failed PV; passing otherwise. Interpretation:
    a Pending PVC of a WaitForFirstConsumer StorageClass that no pod uses is waiting by design
    (binding happens when a pod is scheduled) and passes.
    """
    limit = timedelta(minutes=float(ctx.setting("pvc_pending_minutes", 10)))
    now = ctx.snapshot.now()
    default_sc = next(
        (
            sc
            for sc in ctx.snapshot.of_kind("StorageClass")
            if sc.annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
        ),
        None,
    )
    used: set[tuple[str | None, str]] = set()
    for pod in ctx.snapshot.of_kind("Pod"):
        for vol in pod.spec.get("volumes") or []:
            claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                used.add((pod.namespace, claim))
    for pvc in ctx.snapshot.of_kind("PersistentVolumeClaim"):
        phase = pvc.status.get("phase")
        if phase == "Lost":
            yield ctx.fail(pvc, "PVC is Lost: its volume no longer exists")
            continue
        if phase == "Pending":
            created = _parse_time(pvc.meta.get("creationTimestamp"))
            sc_name = pvc.spec.get("storageClassName")
            sc = ctx.snapshot.get("StorageClass", None, sc_name) if sc_name else default_sc
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
    for pv in ctx.snapshot.of_kind("PersistentVolume"):
        if pv.status.get("phase") == "Failed":
            yield ctx.fail(pv, f"PV Failed: {pv.status.get('message') or pv.status.get('reason') or 'no message'}")
        else:
            yield ctx.ok(pv)
