"""Horizontal autoscaling: workloads without it, HPAs that cannot read their metric, bursts
the cluster cannot hold (PERF-007 to PERF-009).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks.capacity import (
    RESOURCES,
    FieldError,
    active_pods_by_node,
    allocatable,
    container_name,
    pod_total,
    read_resource,
)
from checks.context import CheckContext
from checks.k8s import (
    as_number,
    effective_replicas,
)
from checks.model import Result, SkipReason
from checks.performance.common import _fmt, _hpa_resource_metrics, _limitrange_defaults
from checks.registry import check
from checks.snapshot import K8sObject, Snapshot, Workload, pod_template


def _template_of(obj: K8sObject) -> Workload | None:
    """The pod template of a scale target, including CRDs that keep it at ``spec.template`` (Rollout)."""
    pt = pod_template(obj)
    if pt is None:
        template = obj.spec.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
            return None
        pt = template["spec"], template.get("metadata") or {}
    return Workload(obj, pt[0], pt[1])


def _autoscaler_targets(snap: Snapshot) -> dict[tuple[str, str | None, str], str]:
    """(kind, namespace, name) -> description of the autoscaler acting on it (HPA, KEDA, active VPA)."""
    out: dict[tuple[str, str | None, str], str] = {}
    for hpa in snap.of_kind("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        out.setdefault((ref.get("kind", ""), hpa.namespace, ref.get("name", "")), f"HorizontalPodAutoscaler/{hpa.name}")
    for so in snap.of_kind("ScaledObject"):
        ref = so.spec.get("scaleTargetRef") or {}
        out.setdefault((ref.get("kind") or "Deployment", so.namespace, ref.get("name", "")), f"ScaledObject/{so.name}")
    for vpa in snap.of_kind("VerticalPodAutoscaler"):
        mode = ((vpa.spec.get("updatePolicy") or {}).get("updateMode")) or "Auto"
        if mode in ("Auto", "Recreate", "InPlaceOrRecreate"):
            ref = vpa.spec.get("targetRef") or {}
            key = (ref.get("kind", ""), vpa.namespace, ref.get("name", ""))
            out.setdefault(key, f"VerticalPodAutoscaler/{vpa.name}")
    return out


@check("PERF-007")
def no_autoscaling(ctx: CheckContext) -> Iterator[Result]:
    """Warn on Deployments/StatefulSets with effective replicas ≥ 2 that no autoscaler targets.

    Rule (docs/catalogue.md#perf-007): autoscalers are an HPA, a KEDA ScaledObject, or a VPA whose
    updateMode actively resizes (``Auto`` — the default — ``Recreate`` or ``InPlaceOrRecreate``).
    Interpretation: a workload an autoscaler targets is ``passing`` even when its effective replicas
    (HPA minReplicas) are below 2 — the question the check asks is answered. Otherwise replicas < 2
    is ``skipped(not-applicable)``, as are DaemonSets. ScaledObject/VPA are CRDs that may not be
    installed, so they are not in ``requires``; when they could not be listed the warning says so.
    """
    targets = _autoscaler_targets(ctx.snapshot)
    unlisted = [k for k in ("ScaledObject", "VerticalPodAutoscaler") if k in ctx.snapshot.unavailable]
    for w in ctx.snapshot.workloads():
        if w.kind == "DaemonSet":
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "DaemonSets scale with nodes, not replicas")
            continue
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        scaler = targets.get((w.kind, w.namespace, w.name))
        if scaler:
            yield ctx.ok(w, f"autoscaled by {scaler}")
            continue
        replicas = effective_replicas(ctx.snapshot, w)
        if replicas < 2:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"effective replicas {replicas} < 2")
            continue
        note = f" (could not list {', '.join(unlisted)})" if unlisted else ""
        yield ctx.warn(w, f"{replicas} fixed replicas and no HPA, KEDA ScaledObject or active VPA targets it{note}")


def _has_request(c: dict[str, Any], resource: str, lr_default: bool) -> bool:
    """Whether the running pod will carry a request: set, defaulted from the limit, or from a LimitRange."""
    if lr_default:
        return True
    return read_resource(c, "requests", resource) is not None or read_resource(c, "limits", resource) is not None


@check("PERF-008")
def hpa_metric_unusable(ctx: CheckContext) -> Iterator[Result]:
    """One result per HPA: can the controller compute every Resource utilization it targets?

    Rule (docs/catalogue.md#perf-008): ``failing`` when a Resource (or ContainerResource) metric with
    ``target.type: Utilization`` for cpu/memory meets a target container (C*) without that
    request, or the HPA has no metrics (implicit 80 % CPU) and the target lacks CPU requests;
    ``warning`` when averageUtilization > 90 or < 30 (``hpa_utilization_max``/``_min``) or, live,
    when the ``ScalingActive`` or ``AbleToScale`` condition is False. Interpretation: the HPA
    divides by the pod's *effective* request, so a request defaulted from a limit or from a
    Container LimitRange counts as present. A target that is not in the snapshot is a ``warning``
    (manifests only see the objects given to the run).
    """
    hi = float(ctx.setting("hpa_utilization_max", 90))
    lo = float(ctx.setting("hpa_utilization_min", 30))
    lr_defaults = {r: _limitrange_defaults(ctx.snapshot, r) for r in RESOURCES}
    for hpa in ctx.snapshot.of_kind("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        metrics = _hpa_resource_metrics(hpa)
        failures: list[str] = []
        warnings: list[str] = []
        target = ctx.snapshot.get(ref.get("kind", ""), hpa.namespace, ref.get("name", ""))
        workload = _template_of(target) if target is not None else None
        if target is None:
            warnings.append(f"target {ref.get('kind')}/{ref.get('name')} not found")
        try:
            if workload is not None:
                containers = {container_name(c): c for c in workload.long_running_containers()}
                for m in metrics:
                    if m.target_type != "Utilization" or m.resource not in RESOURCES:
                        continue
                    has_lr = hpa.namespace in lr_defaults[m.resource]
                    if m.container is not None and m.container not in containers:
                        failures.append(f"{m.label()}: container not in target")
                        continue
                    pool = [containers[m.container]] if m.container else list(containers.values())
                    lacking = [container_name(c) for c in pool if not _has_request(c, m.resource, has_lr)]
                    if lacking:
                        why = "no metrics (implicit 80% cpu)" if m.implicit else f"{m.label()} utilization target"
                        failures.append(f"{why} but no {m.resource} request on: {', '.join(lacking)}")
        except FieldError as exc:
            yield ctx.error(hpa, f"target {ref.get('kind')}/{ref.get('name')}: {exc}", container=exc.container)
            continue
        for m in metrics:
            util = as_number(m.utilization) if m.target_type == "Utilization" and not m.implicit else None
            if util is not None and not lo <= util <= hi:
                warnings.append(f"{m.label()} averageUtilization {m.utilization}% outside {lo:g}-{hi:g}%")
        if ctx.live:
            for cond in hpa.status.get("conditions") or []:
                if cond.get("type") in ("ScalingActive", "AbleToScale") and cond.get("status") == "False":
                    warnings.append(f"{cond['type']}=False: {cond.get('reason', '')} {cond.get('message', '')}".strip())
        if failures:
            yield ctx.fail(hpa, "; ".join(failures), details=failures + warnings)
        elif warnings:
            yield ctx.warn(hpa, "; ".join(warnings), details=warnings)
        else:
            yield ctx.ok(hpa)


def _free_capacity(snap: Snapshot) -> dict[str, float] | None:
    """Allocatable minus requested over schedulable nodes; None when no schedulable node is listed."""
    nodes = [n for n in snap.of_kind("Node") if not n.spec.get("unschedulable")]
    if not nodes:
        return None
    pods_by_node = active_pods_by_node(snap)
    free = dict.fromkeys(RESOURCES, 0.0)
    for node in nodes:
        alloc = allocatable(node)
        for r in RESOURCES:
            free[r] += alloc[r] or 0.0
            free[r] -= sum(pod_total(p.spec, "requests", r) for p in pods_by_node.get(node.name, ()))
    return free


@check("PERF-009")
def hpa_burst_capacity(ctx: CheckContext) -> Iterator[Result]:
    """Compare each HPA's remaining burst with the cluster's free allocatable CPU and memory.

    Rule (docs/catalogue.md#perf-009): burst = (maxReplicas − current replicas) × per-pod requests, as
    Popeye computes it (the current pods' requests are already subtracted from free capacity, so
    multiplying by maxReplicas would count them twice). Free = Σ allocatable of schedulable nodes −
    Σ requests of non-terminated pods on them. ``warning`` per HPA whose burst exceeds free
    capacity; with two or more HPAs, a cluster row warns when all of them at max would exceed it.
    """
    hpas = ctx.snapshot.of_kind("HorizontalPodAutoscaler")
    if not hpas:
        return
    free = _free_capacity(ctx.snapshot)
    if free is None:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no schedulable nodes listed")
        return
    total = dict.fromkeys(RESOURCES, 0.0)
    evaluated = 0
    for hpa in hpas:
        ref = hpa.spec.get("scaleTargetRef") or {}
        target = ctx.snapshot.get(ref.get("kind", ""), hpa.namespace, ref.get("name", ""))
        workload = _template_of(target) if target is not None else None
        if workload is None:
            yield ctx.skip(hpa, SkipReason.NOT_APPLICABLE, f"target {ref.get('kind')}/{ref.get('name')} not found")
            continue
        current = hpa.status.get("currentReplicas")
        if current is None:
            current = target.spec.get("replicas", 1)
        extra = max(0, int((as_number(hpa.spec.get("maxReplicas")) or 0) - (as_number(current) or 0)))
        burst = {r: extra * pod_total(workload.pod_spec, "requests", r, default_to_limit=True) for r in RESOURCES}
        evaluated += 1
        for r in RESOURCES:
            total[r] += burst[r]
        over = [r for r in RESOURCES if burst[r] > 0 and burst[r] > free[r]]
        details = {"extraReplicas": extra, "burst": burst, "free": free}
        if over:
            text = ", ".join(f"{r} {_fmt(r, burst[r])} > free {_fmt(r, max(free[r], 0))}" for r in over)
            yield ctx.warn(hpa, f"{extra} more replicas at max would need {text}", details=details)
        else:
            yield ctx.ok(hpa, details=details)
    if evaluated >= 2:
        over = [r for r in RESOURCES if total[r] > 0 and total[r] > free[r]]
        details = {"burst": total, "free": free}
        if over:
            text = ", ".join(f"{r} {_fmt(r, total[r])} > free {_fmt(r, max(free[r], 0))}" for r in over)
            yield ctx.warn(None, f"all HPAs at maxReplicas would need {text}", details=details)
        else:
            yield ctx.ok(None, "all HPAs at maxReplicas fit the free capacity", details=details)
