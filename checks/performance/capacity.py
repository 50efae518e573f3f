"""Measured load: the metrics API, node saturation, containers near their limits
(PERF-010 to PERF-012).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checks.capacity import (
    RESOURCES,
    active_pods_by_node,
    allocatable,
    container_name,
    lenient_quantity,
    percent,
    pod_metrics,
    pod_total,
    running_pods_by_owner,
)
from checks.context import CheckContext
from checks.k8s import (
    container_resource,
)
from checks.model import Result, SkipReason
from checks.performance.common import _fmt, _hpa_resource_metrics
from checks.registry import check
from checks.snapshot import Workload

METRICS_APISERVICE = "v1beta1.metrics.k8s.io"


@check("PERF-010")
def metrics_api_unavailable(ctx: CheckContext) -> Iterator[Result]:
    """Is the ``v1beta1.metrics.k8s.io`` APIService registered and Available?

    Rule (docs/catalogue.md#perf-010): ``passing`` when its Available condition is True; ``failing`` when it
    is not Available (absent or unhealthy) while HPAs with Resource metrics exist (they cannot
    scale); otherwise ``warning``. The row is about the APIService, or the cluster when it is absent.
    """
    api = ctx.snapshot.get("APIService", None, METRICS_APISERVICE)
    available = api is not None and any(
        c.get("type") == "Available" and c.get("status") == "True" for c in api.status.get("conditions") or []
    )
    if available:
        yield ctx.ok(api)
        return
    dependent = [
        f"{h.namespace}/{h.name}"
        for h in ctx.snapshot.of_kind("HorizontalPodAutoscaler")
        if any(m.resource in RESOURCES for m in _hpa_resource_metrics(h))
    ]
    state = "is not registered" if api is None else "is not Available"
    if dependent:
        message = f"{METRICS_APISERVICE} {state} but {len(dependent)} HPA(s) use Resource metrics"
        yield ctx.fail(api, message, details=dependent)
    else:
        yield ctx.warn(api, f"{METRICS_APISERVICE} {state}")


@check("PERF-011")
def node_saturation(ctx: CheckContext) -> Iterator[Result]:
    """One result per node: requests, memory limits and (with metrics) usage against allocatable.

    Rule (docs/catalogue.md#perf-011): ``warning`` when Σ CPU or memory requests of non-terminated pods ≥
    ``node_request_percent`` (90) % of allocatable, when Σ memory limits > ``node_memory_limit_percent``
    (150) %, or when node usage from metrics.k8s.io > ``node_usage_percent`` (80) %. Containers
    without a memory limit add nothing to the limit sum (Popeye does the same).
    """
    req_pct = float(ctx.setting("node_request_percent", 90))
    lim_pct = float(ctx.setting("node_memory_limit_percent", 150))
    use_pct = float(ctx.setting("node_usage_percent", 80))
    pods_by_node = active_pods_by_node(ctx.snapshot)
    node_usage = (ctx.snapshot.metrics or {}).get("nodes") or {}
    for node in ctx.snapshot.of_kind("Node"):
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


@check("PERF-012")
def under_provisioned(ctx: CheckContext) -> Iterator[Result]:
    """Compare each running container's current usage with its request and limit.

    Rule (docs/catalogue.md#perf-012): ``warning`` when usage > request, or > ``limit_usage_percent`` (80) %
    of the limit, from one metrics snapshot. Pods are rolled up to their top owner (docs/catalogue.md#conventions)
    so each workload gets one row listing its offending containers; a workload none of whose
    running pods has metrics is ``skipped(requires-metrics)``. Containers without a request or
    limit are not compared on that side (PERF-001..003 report them).
    """
    limit_pct = float(ctx.setting("limit_usage_percent", 80))
    for top, pods in running_pods_by_owner(ctx.snapshot).values():
        findings: list[str] = []
        measured = False
        for pod in pods:
            usage = pod_metrics(ctx.snapshot, pod.namespace, pod.name)
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
