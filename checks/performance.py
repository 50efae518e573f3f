"""Performance-efficiency pillar checks (PERF-xxx): requests and limits, autoscaling, capacity, webhooks.

The resource checks read the container set ``C*`` (regular containers plus restartable sidecar init
containers, catalogue §2.1): run-to-completion init containers do not hold resources while the pod
serves, so they are not judged here. Quantities go through :func:`checks.k8s.parse_quantity`; a value
the API server would reject is an ``error`` result naming the container and field (catalogue §2.1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from checks.capacity import (
    RESOURCES,
    FieldError,
    active_pods_by_node,
    allocatable,
    container_name,
    lenient_quantity,
    percent,
    pod_metrics,
    pod_total,
    read_resource,
    running_pods_by_owner,
)
from checks.context import CheckContext
from checks.k8s import (
    as_number,
    container_resource,
    effective_replicas,
    selector_matches,
)
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import WORKLOAD_KINDS, K8sObject, Snapshot, Workload, pod_template

W = WORKLOAD_KINDS  # the catalogue's workload kinds (§2.1)
# Kinds an HPA (or KEDA/VPA) can scale whose pod template we know.
SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


# ---- shared helpers (also used by checks.sustainability) ----------------------------------------


def _template_of(obj: K8sObject) -> Workload | None:
    """The pod template of a scale target, including CRDs that keep it at ``spec.template`` (Rollout)."""
    pt = pod_template(obj)
    if pt is None:
        template = obj.spec.get("template")
        if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
            return None
        pt = template["spec"], template.get("metadata") or {}
    return Workload(obj, pt[0], pt[1])


def _fmt(resource: str, value: float) -> str:
    return f"{value * 1000:.0f}m" if resource == "cpu" else f"{value / 2**20:.0f}Mi"


def _limitrange_defaults(snap: Snapshot, resource: str) -> dict[str | None, tuple[str, Any]]:
    """namespace -> (LimitRange name, default request) for Container-type LimitRange items.

    The API server defaults a Container item's ``defaultRequest`` from ``default`` and ``default``
    from ``max``, so any of the three supplies a request to containers that omit one.
    """
    out: dict[str | None, tuple[str, Any]] = {}
    for lr in snap.of_kind("LimitRange"):
        for item in lr.spec.get("limits") or []:
            if (item.get("type") or "Container") != "Container":
                continue
            for key in ("defaultRequest", "default", "max"):
                value = (item.get(key) or {}).get(resource)
                if value is not None:
                    out.setdefault(lr.namespace, (lr.name, value))
                    break
    return out


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


# ---- PERF-001 / PERF-002: requests ----------------------------------------------------------------


def _requests_missing(ctx: CheckContext, resource: str) -> Iterator[Result]:
    defaults = _limitrange_defaults(ctx.snap, resource)
    for w in ctx.snap.workloads():
        for c in w.long_running_containers():
            name = container_name(c)
            try:
                value = read_resource(c, "requests", resource)
            except FieldError as exc:
                yield ctx.error(w, str(exc), container=name)
                continue
            if value is not None:
                yield ctx.ok(w, container=name)
            elif w.namespace in defaults:
                lr_name, default = defaults[w.namespace]
                yield ctx.ok(
                    w,
                    f"container {name} sets no requests.{resource}; LimitRange {lr_name} in the namespace "
                    f"supplies a default request of {default}",
                    container=name,
                    details={"limitRange": lr_name, "defaultRequest": default},
                )
            else:
                yield ctx.fail(
                    w,
                    f"container {name} has no resources.requests.{resource}",
                    container=name,
                    field=w.container_path(c, f"resources.requests.{resource}"),
                )


@check(
    id="PERF-001",
    pillar="performance",
    name="CPU requests missing",
    severity="medium",
    description="Without a CPU request the scheduler places the pod as if it needed no CPU, so nodes are "
    "overpacked and the container gets the lowest CPU share under contention.",
    remediation="Set resources.requests.cpu on every container (or a LimitRange defaultRequest for the namespace).",
    mode="manifest",
    requires=(*W, "LimitRange"),
    peers={
        "polaris": ("cpuRequestsMissing",),
        "kube-score": ("container-resources",),
        "checkov": ("CKV_K8S_10",),
        "kube-linter": ("unset-cpu-requirements",),
        "kubescape": ("C-0268", "C-0050"),
        "trivy": ("KSV-0015",),
        "popeye": ("POP-106",),
    },
)
def cpu_requests_missing(ctx: CheckContext) -> Iterator[Result]:
    """Fail each C* container without a CPU request: scheduling and CPU shares depend on it.

    Rule (catalogue PERF-001): every container in C* sets ``resources.requests.cpu``; one result per
    container (the catalogue says "per container"). A missing request is ``passing`` with a note
    when a Container-type LimitRange in the namespace supplies a default (``defaultRequest``, or
    ``default``/``max`` from which the API server defaults it).

    Interpretation: the catalogue applies the LimitRange note in manifest mode because "live objects
    are already defaulted"; that holds for Pods but not for controller templates (LimitRange
    admission only mutates Pods), and live workloads are judged through their templates, so the note
    applies in both modes. A request that would only come from a limit (API defaulting) still fails,
    as in every peer.
    """
    yield from _requests_missing(ctx, "cpu")


@check(
    id="PERF-002",
    pillar="performance",
    name="Memory requests missing",
    severity="medium",
    description="Without a memory request the scheduler can place the pod on a node without room for it, "
    "and the pod is among the first evicted under memory pressure.",
    remediation="Set resources.requests.memory on every container (or a LimitRange defaultRequest for the namespace).",
    mode="manifest",
    requires=(*W, "LimitRange"),
    peers={
        "polaris": ("memoryRequestsMissing",),
        "kube-score": ("container-resources",),
        "checkov": ("CKV_K8S_12",),
        "kubescape": ("C-0269", "C-0004"),
        "trivy": ("KSV-0016",),
        "popeye": ("POP-106",),
    },
)
def memory_requests_missing(ctx: CheckContext) -> Iterator[Result]:
    """Fail each C* container without a memory request: scheduling and eviction order depend on it.

    Rule (catalogue PERF-002): as PERF-001 for ``resources.requests.memory``, including the
    LimitRange note (see PERF-001 for why it applies in live mode too).
    """
    yield from _requests_missing(ctx, "memory")


# ---- PERF-003: memory limit ------------------------------------------------------------------------


@check(
    id="PERF-003",
    pillar="performance",
    name="Memory limit missing",
    severity="medium",
    description="A container without a memory limit can consume all of a node's memory, so one leak "
    "triggers OOM kills and evictions of its neighbours.",
    remediation="Set resources.limits.memory on every container.",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("memoryLimitsMissing",),
        "kube-score": ("container-resources",),
        "checkov": ("CKV_K8S_13",),
        "kube-linter": ("unset-memory-requirements",),
        "kubescape": ("C-0271", "C-0004"),
        "trivy": ("KSV-0018",),
        "popeye": ("POP-107",),
    },
)
def memory_limit_missing(ctx: CheckContext) -> Iterator[Result]:
    """Fail each C* container without ``resources.limits.memory`` (one result per container).

    Memory is incompressible: without a limit the blast radius of a leak is the whole node.
    """
    for w in ctx.snap.workloads():
        for c in w.long_running_containers():
            name = container_name(c)
            try:
                value = read_resource(c, "limits", "memory")
            except FieldError as exc:
                yield ctx.error(w, str(exc), container=name)
                continue
            if value is None:
                yield ctx.fail(
                    w,
                    f"container {name} has no resources.limits.memory",
                    container=name,
                    field=w.container_path(c, "resources.limits.memory"),
                )
            else:
                yield ctx.ok(w, container=name)


# ---- PERF-004: CPU limit (advisory) ----------------------------------------------------------------


@check(
    id="PERF-004",
    pillar="performance",
    name="CPU limit missing (advisory)",
    severity="low",
    description="Without a CPU limit a container may use idle CPU on the node. That is often what you want "
    "(CPU limits cause CFS throttling), so this check is advisory and can be turned off or made strict.",
    remediation="Set resources.limits.cpu where noisy neighbours matter, or set cpu_limit_policy: off if your "
    "policy is to run without CPU limits.",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("cpuLimitsMissing",),
        "kube-score": ("container-resources",),
        "checkov": ("CKV_K8S_11",),
        "kubescape": ("C-0270", "C-0050"),
        "trivy": ("KSV-0011",),
    },
)
def cpu_limit_missing(ctx: CheckContext) -> Iterator[Result]:
    """Flag workloads whose C* containers lack ``resources.limits.cpu``.

    The status follows ``cpu_limit_policy``: ``warning`` (default), ``failing``, or ``off`` (one
    ``skipped(disabled)`` row). Peers disagree on CPU limits because they trade isolation against
    throttling (kube-score #30, EKS BPG node efficiency), hence the policy switch.
    """
    policy = str(ctx.setting("cpu_limit_policy", "warning")).strip().lower()
    if policy == "off":
        yield ctx.skip(None, SkipReason.DISABLED, "cpu_limit_policy is off")
        return
    if policy not in ("warning", "failing"):
        yield ctx.error(None, f"cpu_limit_policy must be off, warning or failing, not {policy!r}")
        return
    verdict = ctx.warn if policy == "warning" else ctx.fail
    for w in ctx.snap.workloads():
        try:
            containers = w.long_running_containers()
            missing = [container_name(c) for c in containers if read_resource(c, "limits", "cpu") is None]
        except FieldError as exc:
            yield ctx.error(w, str(exc), container=exc.container)
            continue
        if missing:
            yield verdict(w, f"no resources.limits.cpu on: {', '.join(missing)}", container=missing[0], details=missing)
        else:
            yield ctx.ok(w)


# ---- PERF-005: request / limit ratio ---------------------------------------------------------------


@check(
    id="PERF-005",
    pillar="performance",
    name="Request/limit ratio out of bounds",
    severity="low",
    description="A limit far above the request lets a container burst well beyond what the scheduler "
    "reserved, so nodes overcommit and pods are OOM-killed or throttled unpredictably.",
    remediation="Keep memory limits within 2x and CPU limits within 10x of the request (or set memory "
    "request equal to limit for Guaranteed-class memory).",
    mode="manifest",
    requires=W,
    peers={
        "kube-score": (
            "container-memory-requests-equal-limits",
            "container-cpu-requests-equal-limits",
            "container-resource-requests-equal-limits",
        ),
    },
)
def request_limit_ratio(ctx: CheckContext) -> Iterator[Result]:
    """Warn when a C* container's limit/request ratio exceeds the configured bounds.

    Rule (catalogue PERF-005): ``warning`` when memory limit / request > ``memory_limit_request_ratio``
    (2) or cpu limit / request > ``cpu_limit_request_ratio`` (10). Strict mode (per-check setting
    ``memory_requests_equal_limits: true``) fails when the memory request differs from the limit,
    as kube-score does; a request without a limit counts as different, a limit without a request
    as equal (the API server defaults the request to the limit). Containers that set neither side
    of a pair are not judged here (PERF-001..004 cover them); a workload with nothing to compare is
    ``skipped(not-applicable)``.
    """
    bounds = {
        "memory": float(ctx.setting("memory_limit_request_ratio", 2.0)),
        "cpu": float(ctx.setting("cpu_limit_request_ratio", 10.0)),
    }
    strict = bool(ctx.setting("memory_requests_equal_limits", False))
    for w in ctx.snap.workloads():
        over: list[dict[str, Any]] = []
        unequal: list[str] = []
        compared = False
        try:
            for c in w.long_running_containers():
                for resource in RESOURCES:
                    req, lim = read_resource(c, "requests", resource), read_resource(c, "limits", resource)
                    if strict and resource == "memory" and (req is not None or lim is not None):
                        compared = True
                        if req is not None and req != lim:
                            unequal.append(container_name(c))
                    if req is None or lim is None:
                        continue
                    compared = True
                    ratio = float("inf") if req == 0 else lim / req
                    if ratio > bounds[resource]:
                        over.append({"container": container_name(c), "resource": resource, "ratio": round(ratio, 2)})
        except FieldError as exc:
            yield ctx.error(w, str(exc), container=exc.container)
            continue
        if unequal:
            yield ctx.fail(
                w, f"memory request differs from limit on: {', '.join(unequal)}", container=unequal[0], details=unequal
            )
        elif over:
            text = ", ".join(f"{o['container']} {o['resource']} {o['ratio']}x" for o in over)
            yield ctx.warn(w, f"limit/request ratio above bound: {text}", container=over[0]["container"], details=over)
        elif compared:
            yield ctx.ok(w)
        else:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no container sets both a request and a limit")


# ---- PERF-006: ephemeral storage (opt-in) ----------------------------------------------------------


@check(
    id="PERF-006",
    pillar="performance",
    name="Ephemeral storage unbounded",
    severity="low",
    description="Containers that write logs, caches or emptyDir data without an ephemeral-storage request "
    "and limit can fill the node's disk and get neighbours evicted.",
    remediation="Set resources.requests and resources.limits for ephemeral-storage on every container.",
    mode="manifest",
    requires=W,
    peers={"kube-score": ("container-ephemeral-storage-request-and-limit",)},
    opt_in=True,
)
def ephemeral_storage_unbounded(ctx: CheckContext) -> Iterator[Result]:
    """Warn when a C* container lacks an ephemeral-storage request or limit (opt-in check).

    Opt-in because many workloads never touch local disk; when enabled it mirrors kube-score's
    container-ephemeral-storage-request-and-limit with ``warning`` instead of failing.
    """
    for w in ctx.snap.workloads():
        missing: list[str] = []
        try:
            for c in w.long_running_containers():
                absent = [s for s in ("requests", "limits") if read_resource(c, s, "ephemeral-storage") is None]
                if absent:
                    missing.append(f"{container_name(c)} ({' and '.join(absent)})")
        except FieldError as exc:
            yield ctx.error(w, str(exc), container=exc.container)
            continue
        if missing:
            yield ctx.warn(
                w,
                f"no ephemeral-storage bound on: {', '.join(missing)}",
                container=missing[0].split(" ", 1)[0],
                details=missing,
            )
        else:
            yield ctx.ok(w)


# ---- PERF-007: autoscaling -------------------------------------------------------------------------


@check(
    id="PERF-007",
    pillar="performance",
    name="Scalable workload without autoscaling",
    severity="low",
    description="A multi-replica service with a fixed replica count is sized for peak all day (waste) or "
    "for average load (saturation at peak); an autoscaler follows demand.",
    remediation="Add a HorizontalPodAutoscaler (or KEDA ScaledObject, or a VPA in Auto mode) for the workload.",
    mode="manifest",
    requires=("Deployment", "StatefulSet", "DaemonSet", "HorizontalPodAutoscaler"),
    peers={},
)
def no_autoscaling(ctx: CheckContext) -> Iterator[Result]:
    """Warn on Deployments/StatefulSets with effective replicas ≥ 2 that no autoscaler targets.

    Rule (catalogue PERF-007): autoscalers are an HPA, a KEDA ScaledObject, or a VPA whose
    updateMode actively resizes (``Auto`` — the default — ``Recreate`` or ``InPlaceOrRecreate``).
    Interpretation: a workload an autoscaler targets is ``passing`` even when its effective replicas
    (HPA minReplicas) are below 2 — the question the check asks is answered. Otherwise replicas < 2
    is ``skipped(not-applicable)``, as are DaemonSets. ScaledObject/VPA are CRDs that may not be
    installed, so they are not in ``requires``; when they could not be listed the warning says so.
    """
    targets = _autoscaler_targets(ctx.snap)
    unlisted = [k for k in ("ScaledObject", "VerticalPodAutoscaler") if k in ctx.snap.unavailable]
    for w in ctx.snap.workloads():
        if w.kind == "DaemonSet":
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "DaemonSets scale with nodes, not replicas")
            continue
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        scaler = targets.get((w.kind, w.namespace, w.name))
        if scaler:
            yield ctx.ok(w, f"autoscaled by {scaler}")
            continue
        replicas = effective_replicas(ctx.snap, w)
        if replicas < 2:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"effective replicas {replicas} < 2")
            continue
        note = f" (could not list {', '.join(unlisted)})" if unlisted else ""
        yield ctx.warn(w, f"{replicas} fixed replicas and no HPA, KEDA ScaledObject or active VPA targets it{note}")


# ---- PERF-008: HPA metrics -------------------------------------------------------------------------


@dataclass
class _Metric:
    resource: str
    container: str | None
    target_type: str
    utilization: float | None
    implicit: bool = False

    def label(self) -> str:
        where = f" of container {self.container}" if self.container else ""
        return f"{self.resource}{where}"


def _hpa_resource_metrics(hpa: K8sObject) -> list[_Metric]:
    """Resource/ContainerResource metrics of an HPA, with the implicit 80 % CPU target when none is set."""
    spec = hpa.spec
    metrics = spec.get("metrics")
    if hpa.api_version == "autoscaling/v1" or (not metrics and "targetCPUUtilizationPercentage" in spec):
        util = spec.get("targetCPUUtilizationPercentage")
        return [_Metric("cpu", None, "Utilization", 80 if util is None else util, implicit=util is None)]
    if not metrics:
        return [_Metric("cpu", None, "Utilization", 80, implicit=True)]
    out = []
    for m in metrics:
        kind = m.get("type")
        if kind == "Resource":
            src, container = m.get("resource") or {}, None
        elif kind == "ContainerResource":
            src = m.get("containerResource") or {}
            container = src.get("container") or "?"
        else:
            continue
        target = src.get("target")
        if isinstance(target, dict):
            target_type, util = target.get("type") or "", target.get("averageUtilization")
        else:  # autoscaling/v2beta1 shape
            util = src.get("targetAverageUtilization")
            target_type = "Utilization" if util is not None else "AverageValue"
        out.append(_Metric(str(src.get("name") or ""), container, target_type, util))
    return out


def _has_request(c: dict[str, Any], resource: str, lr_default: bool) -> bool:
    """Whether the running pod will carry a request: set, defaulted from the limit, or from a LimitRange."""
    if lr_default:
        return True
    return read_resource(c, "requests", resource) is not None or read_resource(c, "limits", resource) is not None


@check(
    id="PERF-008",
    pillar="performance",
    name="HPA cannot evaluate its metric",
    severity="high",
    description="A utilization target needs a request on every container of the target pods; without it "
    "the HPA reports FailedGetResourceMetric and never scales.",
    remediation="Set requests for the metric's resource on every container of the target, or switch the metric "
    "to an AverageValue target; keep averageUtilization between 30 and 90.",
    mode="manifest",
    requires=("HorizontalPodAutoscaler", *SCALABLE, "LimitRange"),
    peers={"popeye": ("POP-600",)},
)
def hpa_metric_unusable(ctx: CheckContext) -> Iterator[Result]:
    """One result per HPA: can the controller compute every Resource utilization it targets?

    Rule (catalogue PERF-008): ``failing`` when a Resource (or ContainerResource) metric with
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
    lr_defaults = {r: _limitrange_defaults(ctx.snap, r) for r in RESOURCES}
    for hpa in ctx.snap.of_kind("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        metrics = _hpa_resource_metrics(hpa)
        failures: list[str] = []
        warnings: list[str] = []
        target = ctx.snap.get(ref.get("kind", ""), hpa.namespace, ref.get("name", ""))
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


# ---- PERF-009: HPA burst vs capacity ---------------------------------------------------------------


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


@check(
    id="PERF-009",
    pillar="performance",
    name="HPA burst exceeds cluster capacity",
    severity="low",
    description="If an HPA scaling to maxReplicas needs more CPU or memory than the cluster has free, the "
    "extra pods stay Pending exactly when load peaks.",
    remediation="Lower maxReplicas, right-size the pods' requests, or make sure node autoscaling can add capacity.",
    mode="live",
    requires=("HorizontalPodAutoscaler", "Node", "Pod", *SCALABLE),
    peers={"popeye": ("POP-602", "POP-603", "POP-604", "POP-605")},
)
def hpa_burst_capacity(ctx: CheckContext) -> Iterator[Result]:
    """Compare each HPA's remaining burst with the cluster's free allocatable CPU and memory.

    Rule (catalogue PERF-009): burst = (maxReplicas − current replicas) × per-pod requests, as
    Popeye computes it (the current pods' requests are already subtracted from free capacity, so
    multiplying by maxReplicas would count them twice). Free = Σ allocatable of schedulable nodes −
    Σ requests of non-terminated pods on them. ``warning`` per HPA whose burst exceeds free
    capacity; with two or more HPAs, a cluster row warns when all of them at max would exceed it.
    """
    hpas = ctx.snap.of_kind("HorizontalPodAutoscaler")
    if not hpas:
        return
    free = _free_capacity(ctx.snap)
    if free is None:
        yield ctx.skip(None, SkipReason.NOT_APPLICABLE, "no schedulable nodes listed")
        return
    total = dict.fromkeys(RESOURCES, 0.0)
    evaluated = 0
    for hpa in hpas:
        ref = hpa.spec.get("scaleTargetRef") or {}
        target = ctx.snap.get(ref.get("kind", ""), hpa.namespace, ref.get("name", ""))
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


# ---- PERF-010: metrics API -------------------------------------------------------------------------

METRICS_APISERVICE = "v1beta1.metrics.k8s.io"


@check(
    id="PERF-010",
    pillar="performance",
    name="Metrics API unavailable",
    severity="medium",
    description="Resource-metric HPAs, kubectl top and VPA recommendations all read metrics.k8s.io; without "
    "it autoscaling silently stops.",
    remediation="Install and run metrics-server (or another metrics.k8s.io provider) and make sure its "
    "APIService is Available.",
    mode="live",
    requires=("APIService", "HorizontalPodAutoscaler"),
    peers={"popeye": ("POP-402",)},
)
def metrics_api_unavailable(ctx: CheckContext) -> Iterator[Result]:
    """Is the ``v1beta1.metrics.k8s.io`` APIService registered and Available?

    Rule (catalogue PERF-010): ``passing`` when its Available condition is True; ``failing`` when it
    is not Available (absent or unhealthy) while HPAs with Resource metrics exist (they cannot
    scale); otherwise ``warning``. The row is about the APIService, or the cluster when it is absent.
    """
    api = ctx.snap.get("APIService", None, METRICS_APISERVICE)
    available = api is not None and any(
        c.get("type") == "Available" and c.get("status") == "True" for c in api.status.get("conditions") or []
    )
    if available:
        yield ctx.ok(api)
        return
    dependent = [
        f"{h.namespace}/{h.name}"
        for h in ctx.snap.of_kind("HorizontalPodAutoscaler")
        if any(m.resource in RESOURCES for m in _hpa_resource_metrics(h))
    ]
    state = "is not registered" if api is None else "is not Available"
    if dependent:
        message = f"{METRICS_APISERVICE} {state} but {len(dependent)} HPA(s) use Resource metrics"
        yield ctx.fail(api, message, details=dependent)
    else:
        yield ctx.warn(api, f"{METRICS_APISERVICE} {state}")


# ---- PERF-011: node saturation ---------------------------------------------------------------------


@check(
    id="PERF-011",
    pillar="performance",
    name="Node saturation / overcommit",
    severity="medium",
    description="A node whose requests are nearly all allocated cannot take rescheduled pods, and memory "
    "limits far above allocatable mean OOM kills once pods burst together.",
    remediation="Add capacity or rebalance pods; bring memory limits closer to requests.",
    mode="live",
    requires=("Node", "Pod"),
    peers={"popeye": ("POP-709", "POP-710")},
)
def node_saturation(ctx: CheckContext) -> Iterator[Result]:
    """One result per node: requests, memory limits and (with metrics) usage against allocatable.

    Rule (catalogue PERF-011): ``warning`` when Σ CPU or memory requests of non-terminated pods ≥
    ``node_request_percent`` (90) % of allocatable, when Σ memory limits > ``node_memory_limit_percent``
    (150) %, or when node usage from metrics.k8s.io > ``node_usage_percent`` (80) %. Containers
    without a memory limit add nothing to the limit sum (Popeye does the same).
    """
    req_pct = float(ctx.setting("node_request_percent", 90))
    lim_pct = float(ctx.setting("node_memory_limit_percent", 150))
    use_pct = float(ctx.setting("node_usage_percent", 80))
    pods_by_node = active_pods_by_node(ctx.snap)
    node_usage = (ctx.snap.metrics or {}).get("nodes") or {}
    for node in ctx.snap.of_kind("Node"):
        alloc = allocatable(node)
        if not alloc["cpu"] or not alloc["memory"]:
            yield ctx.skip(node, SkipReason.NOT_APPLICABLE, "node reports no allocatable cpu/memory")
            continue
        pods = pods_by_node.get(node.name, ())
        findings = []
        stats: dict[str, Any] = {}
        for r in RESOURCES:
            requested = sum(pod_total(p.spec, "requests", r) for p in pods)
            stats[f"{r}RequestPercent"] = round(percent(requested, alloc[r]), 1)
            if percent(requested, alloc[r]) >= req_pct:
                findings.append(f"{r} requests at {percent(requested, alloc[r]):.0f}% of allocatable")
        limits = sum(pod_total(p.spec, "limits", "memory") for p in pods)
        stats["memoryLimitPercent"] = round(percent(limits, alloc["memory"]), 1)
        if percent(limits, alloc["memory"]) > lim_pct:
            findings.append(f"memory limits at {percent(limits, alloc['memory']):.0f}% of allocatable")
        usage = node_usage.get(node.name) or {}
        for r in RESOURCES:
            used = lenient_quantity(usage.get(r))
            if used is not None and percent(used, alloc[r]) > use_pct:
                findings.append(f"{r} usage at {percent(used, alloc[r]):.0f}% of allocatable")
        if findings:
            yield ctx.warn(node, "; ".join(findings), details={"findings": findings, **stats})
        else:
            yield ctx.ok(node, details=stats)


# ---- PERF-012: under-provisioned containers --------------------------------------------------------


@check(
    id="PERF-012",
    pillar="performance",
    name="Under-provisioned containers",
    severity="medium",
    description="A container using more than it requests relies on spare node capacity and is first in "
    "line for eviction; one near its limit is about to be throttled or OOM-killed.",
    remediation="Raise the container's requests (and limits) to match observed usage, or use a VPA recommendation.",
    mode="live+metrics",
    requires=("Pod",),
    peers={"popeye": ("POP-109", "POP-110", "POP-111", "POP-112", "POP-503", "POP-505")},
)
def under_provisioned(ctx: CheckContext) -> Iterator[Result]:
    """Compare each running container's current usage with its request and limit.

    Rule (catalogue PERF-012): ``warning`` when usage > request, or > ``limit_usage_percent`` (80) %
    of the limit, from one metrics snapshot. Pods are rolled up to their top owner (catalogue §2.1)
    so each workload gets one row listing its offending containers; a workload none of whose
    running pods has metrics is ``skipped(requires-metrics)``. Containers without a request or
    limit are not compared on that side (PERF-001..003 report them).
    """
    limit_pct = float(ctx.setting("limit_usage_percent", 80))
    for top, pods in running_pods_by_owner(ctx.snap).values():
        findings: list[str] = []
        measured = False
        for pod in pods:
            usage = pod_metrics(ctx.snap, pod.namespace, pod.name)
            if usage is None:
                continue
            measured = True
            pod_workload = Workload(pod, pod.spec, pod.meta)
            for c in pod_workload.long_running_containers():
                used = usage.get(container_name(c)) or {}
                for r in RESOURCES:
                    value = lenient_quantity(used.get(r))
                    if value is None:
                        continue
                    req = lenient_quantity(container_resource(c, "requests", r))
                    lim = lenient_quantity(container_resource(c, "limits", r))
                    if req is not None and value > req:
                        findings.append(f"{pod.name}/{container_name(c)} {r} {_fmt(r, value)} > request {_fmt(r, req)}")
                    if lim and percent(value, lim) > limit_pct:
                        findings.append(f"{pod.name}/{container_name(c)} {r} at {percent(value, lim):.0f}% of limit")
        if not measured:
            yield ctx.skip(top, SkipReason.REQUIRES_METRICS, "no metrics reported for its running pods")
        elif findings:
            container = findings[0].split(" ", 1)[0].split("/", 1)[1]
            yield ctx.warn(
                top,
                "; ".join(findings[:5]) + (" ..." if len(findings) > 5 else ""),
                container=container,
                details=findings,
            )
        else:
            yield ctx.ok(top)


# ---- PERF-013: PriorityClass -----------------------------------------------------------------------


@check(
    id="PERF-013",
    pillar="performance",
    name="PriorityClass not set",
    severity="low",
    description="Without a priority every pod has priority 0, so under pressure the scheduler cannot "
    "preempt less important pods to keep important services running.",
    remediation="Set spec.priorityClassName on long-running workloads, or create a globalDefault PriorityClass.",
    mode="manifest",
    requires=("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "PriorityClass"),
    peers={"polaris": ("priorityClassNotSet",), "kube-linter": ("priority-class-name",)},
)
def priority_class_not_set(ctx: CheckContext) -> Iterator[Result]:
    """Warn on long-running workloads without ``priorityClassName`` when no globalDefault PriorityClass exists.

    Rule (catalogue PERF-013): workloads except Job/CronJob; ``passing`` when the name is set or a
    PriorityClass with ``globalDefault: true`` exists (in manifest mode: among the objects given).
    """
    default = next((pc.name for pc in ctx.snap.of_kind("PriorityClass") if pc.raw.get("globalDefault") is True), None)
    for w in ctx.snap.workloads():
        if w.kind in ("Job", "CronJob"):
            continue
        if w.pod_spec.get("priorityClassName"):
            yield ctx.ok(w)
        elif default:
            yield ctx.ok(w, f"no priorityClassName; globalDefault PriorityClass {default} applies")
        else:
            yield ctx.warn(w, "no priorityClassName and no globalDefault PriorityClass")


# ---- PERF-014: admission webhooks ------------------------------------------------------------------


def _ready_endpoints(snap: Snapshot) -> dict[tuple[str | None, str], int]:
    """(namespace, service) -> number of distinct ready endpoints, from EndpointSlices else Endpoints."""
    ready: dict[tuple[str | None, str], set[str]] = defaultdict(set)
    for eps in snap.of_kind("EndpointSlice"):
        svc = eps.labels.get("kubernetes.io/service-name")
        if not svc:
            continue
        for ep in eps.raw.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:
                continue
            ident = (ep.get("targetRef") or {}).get("name") or ",".join(ep.get("addresses") or [])
            ready[(eps.namespace, svc)].add(ident)
    for ep in snap.of_kind("Endpoints"):
        key = (ep.namespace, ep.name)
        if key in ready:
            continue
        for subset in ep.raw.get("subsets") or []:
            for addr in subset.get("addresses") or []:
                ready[key].add((addr.get("targetRef") or {}).get("name") or addr.get("ip") or "?")
    return {k: len(v) for k, v in ready.items()}


def _excludes_kube_system(webhook: dict[str, Any], kube_system_labels: dict[str, str]) -> bool:
    ns_sel = webhook.get("namespaceSelector")
    if ns_sel and not selector_matches(ns_sel, kube_system_labels):
        return True
    obj_sel = webhook.get("objectSelector")
    # An objectSelector that unlabelled objects do not match makes the webhook opt-in, so system
    # pods (which do not carry the opt-in label) are not intercepted.
    return bool(obj_sel) and not selector_matches(obj_sel, {})


@check(
    id="PERF-014",
    pillar="performance",
    name="Admission webhooks on the hot path",
    severity="medium",
    description="Every matching API request waits for each admission webhook; slow, fail-closed or "
    "single-replica webhooks stall deployments and can lock out the control plane's own pods.",
    remediation="Keep timeoutSeconds ≤ 10, exclude kube-system with a namespaceSelector when failurePolicy is "
    "Fail, and run the webhook backend with at least two ready replicas.",
    mode="manifest",
    requires=("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "Endpoints", "EndpointSlice"),
    peers={"kubescape": ("C-0036", "C-0039")},
)
def admission_webhooks(ctx: CheckContext) -> Iterator[Result]:
    """One result per webhook configuration, listing every webhook on the hot path.

    Rule (catalogue PERF-014): ``warning`` when a webhook's ``timeoutSeconds`` > ``webhook_timeout_seconds``
    (10; unset means 10 in admissionregistration/v1, 30 in v1beta1); when ``failurePolicy`` is Fail
    (the v1 default; v1beta1 defaults to Ignore) and neither a namespaceSelector that kube-system's
    labels do not match nor an opt-in objectSelector keeps kube-system out; and, live, when the
    backing Service has fewer than 2 ready endpoints. kube-system's labels come from its Namespace
    object when present, plus ``kubernetes.io/metadata.name`` which the API server always sets.
    """
    max_timeout = float(ctx.setting("webhook_timeout_seconds", 10))
    ns = ctx.snap.get("Namespace", None, "kube-system")
    ks_labels = {**(ns.labels if ns else {}), "kubernetes.io/metadata.name": "kube-system"}
    endpoints = _ready_endpoints(ctx.snap) if ctx.live else {}
    for cfg in ctx.snap.of_kind("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        v1beta1 = cfg.api_version.endswith("/v1beta1")
        findings: list[str] = []
        for wh in cfg.raw.get("webhooks") or []:
            name = wh.get("name") or "?"
            timeout = as_number(wh.get("timeoutSeconds", 30 if v1beta1 else 10))
            if timeout is not None and timeout > max_timeout:
                findings.append(f"{name}: timeoutSeconds {timeout:g} > {max_timeout:g}")
            policy = wh.get("failurePolicy") or ("Ignore" if v1beta1 else "Fail")
            if policy == "Fail" and not _excludes_kube_system(wh, ks_labels):
                findings.append(f"{name}: failurePolicy Fail and kube-system is not excluded")
            svc = (wh.get("clientConfig") or {}).get("service")
            if ctx.live and svc:
                count = endpoints.get((svc.get("namespace"), svc.get("name") or ""), 0)
                if count < 2:
                    where = f"{svc.get('namespace')}/{svc.get('name')}"
                    findings.append(f"{name}: Service {where} has {count} ready endpoint(s)")
        if findings:
            yield ctx.warn(cfg, "; ".join(findings), details=findings)
        else:
            yield ctx.ok(cfg)
