"""Paid for but idle: LoadBalancers without endpoints, workloads at zero, finished Jobs,
requests far above usage (COST-005 to COST-008).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from checks.context import CheckContext
from checks.cost.common import _parse_time, _quantity
from checks.k8s import as_int, container_resource
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import K8sObject, Snapshot


def _ready_endpoints(snap: Snapshot) -> dict[tuple[str | None, str], int] | None:
    """Ready endpoint count per Service, from EndpointSlices (or legacy Endpoints); None if neither listed."""
    slices = snap.of_kind("EndpointSlice")
    if slices:
        counts: dict[tuple[str | None, str], int] = defaultdict(int)
        for es in slices:
            svc = es.labels.get("kubernetes.io/service-name")
            if not svc:
                continue
            for ep in es.raw.get("endpoints") or []:
                # ready unset means ready (discovery.k8s.io/v1 semantics)
                if (ep.get("conditions") or {}).get("ready") is not False:
                    counts[(es.namespace, svc)] += len(ep.get("addresses") or [])
        return counts
    endpoints = snap.of_kind("Endpoints")
    if endpoints:
        return {
            (ep.namespace, ep.name): sum(len(s.get("addresses") or []) for s in ep.raw.get("subsets") or [])
            for ep in endpoints
        }
    return None


@check("COST-005")
def idle_load_balancer(ctx: CheckContext) -> Iterator[Result]:
    """Failing when a ``type: LoadBalancer`` Service has no ready endpoints (live) or its selector matches
    no workload in the run (manifests) — the catalogue row asks for ``failing`` in both modes.

    A selector-less Service has hand-managed endpoints: in manifests it passes when an EndpointSlice or
    Endpoints object for it is in the run, and is a warning (cannot be proven) otherwise.
    """
    snap = ctx.snapshot
    ready = _ready_endpoints(snap) if ctx.live else None
    manual = {(o.namespace, o.labels.get("kubernetes.io/service-name") or o.name)
              for o in snap.of_kind("EndpointSlice", "Endpoints")}
    for svc in snap.of_kind("Service"):
        if svc.spec.get("type") != "LoadBalancer":
            continue
        selector = svc.spec.get("selector") or {}
        if ctx.live:
            count = (ready or {}).get((svc.namespace, svc.name), 0)
            if count:
                yield ctx.ok(svc, f"{count} ready endpoint(s)")
            else:
                yield ctx.fail(svc, "LoadBalancer Service has no ready endpoints")
        elif not selector:
            if (svc.namespace, svc.name) in manual:
                yield ctx.ok(svc, "selector-less Service with endpoints defined in the run")
            else:
                yield ctx.warn(svc, "selector-less LoadBalancer Service: its endpoints are not in the run")
        else:
            # Services with one selector share one selection (Snapshot.first_workload remembers it).
            first = snap.first_workload(svc.namespace, {"matchLabels": selector})
            if first is not None:
                yield ctx.ok(svc, f"selects {first.obj.ref}")
            else:
                yield ctx.fail(svc, "LoadBalancer Service selector matches no workload", details={"selector": selector})


def _last_change(obj: K8sObject) -> datetime | None:
    times = [_parse_time(m.get("time")) for m in obj.meta.get("managedFields") or [] if isinstance(m, dict)]
    times = [t for t in times if t is not None]
    if times:
        return max(times)
    return _parse_time(obj.meta.get("creationTimestamp"))


@check("COST-006")
def scaled_to_zero(ctx: CheckContext) -> Iterator[Result]:
    """Warn about ``spec.replicas: 0`` without an HPA or KEDA ScaledObject targeting the workload.

    Live: only when the last change (newest ``managedFields`` time, else creation) is older than the
    threshold (``scaled_to_zero_days``, default 7). Manifests have no history: the catalogue asks for an
    informational result, and since results have no ``info`` state it is a warning with a message saying
    the age is unknown.
    """
    snap = ctx.snapshot
    keda = {
        ((so.spec.get("scaleTargetRef") or {}).get("kind") or "Deployment", so.namespace,
         (so.spec.get("scaleTargetRef") or {}).get("name"))
        for so in snap.of_kind("ScaledObject")
    }
    days = float(ctx.setting("scaled_to_zero_days", 7))
    for obj in snap.of_kind("Deployment", "StatefulSet"):
        replicas = obj.spec.get("replicas")
        if replicas is not None and as_int(replicas) is None:
            yield ctx.error(obj, f"spec.replicas {replicas!r} is not an integer")
            continue
        if replicas is None or as_int(replicas) != 0:
            yield ctx.ok(obj)
            continue
        if snap.hpa_for(obj) is not None or (obj.kind, obj.namespace, obj.name) in keda:
            yield ctx.ok(obj, "zero replicas managed by an autoscaler")
            continue
        if not ctx.live:
            yield ctx.warn(obj, "scaled to zero replicas without an autoscaler (how long is unknown in manifests)")
            continue
        changed = _last_change(obj)
        age_days = None if changed is None else (ctx.snapshot.now() - changed).total_seconds() / 86400
        if age_days is not None and age_days < days:
            yield ctx.ok(obj, f"scaled to zero {age_days:.1f} days ago, within {days:g} days")
        else:
            when = "for an unknown time" if age_days is None else f"for {age_days:.0f} days"
            yield ctx.warn(obj, f"scaled to zero {when} without an autoscaler", details={"days": age_days})


def _finished_at(job: K8sObject) -> datetime | None:
    status = job.status
    if status.get("completionTime"):
        return _parse_time(status["completionTime"])
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return _parse_time(cond.get("lastTransitionTime"))
    return None


@check("COST-007")
def finished_jobs_retained(ctx: CheckContext) -> Iterator[Result]:
    """Warn about standalone Jobs without ``ttlSecondsAfterFinished``, CronJobs whose history limits exceed
    the defaults (3 successful / 1 failed) and, live, standalone Jobs finished more than
    ``finished_job_days`` (default 7) ago. Jobs owned by a CronJob are governed by its history limits, so
    their age is not judged here.
    """
    days = float(ctx.setting("finished_job_days", 7))
    for w in ctx.snapshot.workloads():
        problems: list[str] = []
        if w.kind == "Job":
            if w.obj.spec.get("ttlSecondsAfterFinished") is None:
                problems.append("standalone Job without ttlSecondsAfterFinished")
            if ctx.live:
                done = _finished_at(w.obj)
                if done is not None and (ctx.snapshot.now() - done).total_seconds() > days * 86400:
                    problems.append(f"finished more than {days:g} days ago and still retained")
        elif w.kind == "CronJob":
            spec = w.obj.spec
            for key, default in (("successfulJobsHistoryLimit", 3), ("failedJobsHistoryLimit", 1)):
                value = spec.get(key)
                if value is not None and (as_int(value) is None or as_int(value) > default):
                    problems.append(f"{key} {value} is above the default {default}")
        else:
            continue
        if problems:
            yield ctx.warn(w, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(w)


def _pod_metrics(metrics: dict[str, Any], pod: K8sObject) -> dict[str, Any] | None:
    pods = metrics.get("pods") or {}
    return pods.get(f"{pod.namespace}/{pod.name}") or pods.get((pod.namespace, pod.name))


@check("COST-008")
def over_provisioned(ctx: CheckContext) -> Iterator[Result]:
    """Warn when a workload's containers use < 20 % of their CPU request or < 30 % of their memory request
    (``overprovision_cpu_ratio`` / ``overprovision_memory_ratio``), averaged over the workload's pods.

    One metrics snapshot is a point in time, so every warning is marked low confidence in ``details``.
    Workloads without running pods in the metrics, or without requests, are skipped (not-applicable).
    """
    snap = ctx.snapshot
    metrics = snap.metrics or {}
    cpu_ratio = float(ctx.setting("overprovision_cpu_ratio", 0.2))
    mem_ratio = float(ctx.setting("overprovision_memory_ratio", 0.3))
    for w in snap.workloads():
        pods = [w.obj] if w.kind == "Pod" else snap.pods_of(w.obj)
        samples = [m for m in (_pod_metrics(metrics, p) for p in pods) if m]
        if not samples:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no pod metrics for this workload")
            continue
        findings: list[dict[str, Any]] = []
        judged = False
        for c in w.long_running_containers():
            name = c.get("name", "?")
            usage = [s[name] for s in samples if name in s]
            if not usage:
                continue
            for resource, ratio in (("cpu", cpu_ratio), ("memory", mem_ratio)):
                request = _quantity(container_resource(c, "requests", resource))
                if not request:
                    continue
                judged = True
                used = sum(float(u.get(resource) or 0) for u in usage) / len(usage)
                if used < ratio * request:
                    findings.append({"container": name, "resource": resource, "request": request, "usage": used,
                                     "ratio": round(used / request, 3)})
        if not judged:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no container with requests and metrics")
        elif findings:
            text = ", ".join(f"{f['container']} {f['resource']} {f['ratio']:.1%} of request" for f in findings)
            yield ctx.warn(w, f"usage far below requests (single snapshot, low confidence): {text}",
                           container=findings[0]["container"], details={"confidence": "low", "findings": findings})
        else:
            yield ctx.ok(w)
