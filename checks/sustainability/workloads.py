"""Workloads sized to demand: right-sizing, idle workloads, accumulated objects, non-production
over-provisioning (SUS-003 to SUS-006).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from checks.capacity import (
    lenient_quantity,
    pod_metrics,
    running_pods_by_owner,
)
from checks.context import CheckContext
from checks.k8s import as_number, effective_replicas, selector_matches
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import K8sObject
from checks.sustainability.common import REPLICATED_KINDS

RECOMMENDERS = ("vpa-recommender", "goldilocks")


@check("SUS-003")
def no_right_sizing(ctx: CheckContext) -> Iterator[Result]:
    """One cluster row: is there any VPA object or right-sizing recommender?

    Rule (docs/catalogue.md#sus-003): ``passing`` when VerticalPodAutoscaler objects exist or a
    recommender Deployment runs (``vpa-recommender``, Goldilocks — matched by name, label or image;
    extend with the ``rightsizing_recommenders`` setting), else ``warning``. An installed CRD alone
    is not a mechanism. The VPA CRD is optional, so it is not in ``requires``.
    """
    markers = tuple(ctx.setting("rightsizing_recommenders", RECOMMENDERS))
    vpas = ctx.snapshot.of_kind("VerticalPodAutoscaler")
    if vpas:
        yield ctx.ok(vpas[0], f"{len(vpas)} VerticalPodAutoscaler object(s)")
        return
    for d in ctx.snapshot.of_kind("Deployment"):
        template = (d.spec.get("template") or {}).get("spec") or {}
        texts = [d.name, d.labels.get("app.kubernetes.io/name", ""), d.labels.get("app", "")]
        texts += [c.get("image") or "" for c in template.get("containers") or []]
        if any(m in t for t in texts for m in markers):
            yield ctx.ok(d, f"right-sizing recommender Deployment {d.namespace}/{d.name}")
            return
    yield ctx.warn(None, "no VerticalPodAutoscaler objects and no right-sizing recommender found")


IDLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController", "Pod"})


@check("SUS-004")
def idle_workload(ctx: CheckContext) -> Iterator[Result]:
    """Warn when every running replica of a workload uses less than ``idle_cpu_millicores`` (5m) CPU.

    Rule (docs/catalogue.md#sus-004): pods are rolled up to their top owner; ``warning`` only when all
    running pods have metrics and each pod's total CPU is below the threshold; ``passing`` when one
    replica is busier; ``skipped(requires-metrics)`` when some running pod has no metrics (idleness
    cannot be proven). DaemonSets, Jobs and CronJobs are not judged: per-node agents and batch pods
    cannot be scaled to zero this way.
    """
    threshold = float(ctx.setting("idle_cpu_millicores", 5)) / 1000.0
    for top, pods in running_pods_by_owner(ctx.snapshot).values():
        if top.kind not in IDLE_KINDS:
            continue
        usage: list[float] = []
        for pod in pods:
            m = pod_metrics(ctx.snapshot, pod.namespace, pod.name)
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


@check("SUS-005")
def object_accumulation(ctx: CheckContext) -> Iterator[Result]:
    """One result per Deployment, and (live) per Failed pod.

    Rule (docs/catalogue.md#sus-005): ``warning`` when a Deployment's ``revisionHistoryLimit`` >
    ``revision_history_max`` (10); live: ``warning`` when a Deployment owns more than 10
    zero-replica ReplicaSets, and for Failed pods (Evicted pods are Failed) older than
    ``failed_pod_age_hours`` (24) — age since the last container finished, else since start.
    Succeeded pods are not flagged (the catalogue only names Failed/Evicted in its results).
    """
    max_history = int(ctx.setting("revision_history_max", 10))
    max_age = float(ctx.setting("failed_pod_age_hours", 24)) * 3600
    for d in ctx.snapshot.of_kind("Deployment"):
        findings = []
        limit = as_number(d.spec.get("revisionHistoryLimit"))
        if limit is not None and limit > max_history:
            findings.append(f"revisionHistoryLimit {limit:g} > {max_history}")
        if ctx.live:
            idle = [
                rs.name
                for rs in ctx.snapshot.children(d)
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
    now = ctx.snapshot.now()
    for pod in ctx.snapshot.of_kind("Pod"):
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


NONPROD_SELECTORS = [
    {"matchExpressions": [{"key": key, "operator": "In", "values": ["dev", "development", "test", "staging", "qa"]}]}
    for key in ("env", "environment")
]


@check("SUS-006")
def nonprod_overprovisioning(ctx: CheckContext) -> Iterator[Result]:
    """Warn on replicated workloads with more than one effective replica in non-production namespaces.

    Rule (docs/catalogue.md#sus-006): non-production namespaces are Namespace objects whose labels match
    any selector in ``nonprod_namespace_selectors`` (default ``env``/``environment`` in dev,
    development, test, staging, qa). ``warning`` when effective replicas > 1 (this is HPA
    minReplicas when an HPA targets the workload); otherwise ``passing``, with the catalogue's
    ``info`` note in the message when neither the workload nor its namespace carries a
    ``downscaler/*`` annotation and the namespace has no kube-green SleepInfo.
    """
    selectors = ctx.setting("nonprod_namespace_selectors", NONPROD_SELECTORS)
    prefixes = tuple(ctx.setting("downscaler_annotation_prefixes", ["downscaler/"]))
    nonprod = {
        ns.name: ns
        for ns in ctx.snapshot.of_kind("Namespace")
        if any(selector_matches(s, ns.labels) for s in selectors)
    }
    if not nonprod:
        return
    sleeping = {s.namespace for s in ctx.snapshot.of_kind("SleepInfo")}

    def scheduled(annotations: dict[str, str]) -> bool:
        return any(key.startswith(prefixes) for key in annotations)

    for w in ctx.snapshot.workloads():
        ns = nonprod.get(w.namespace or "")
        if ns is None or w.kind not in REPLICATED_KINDS:
            continue
        replicas = effective_replicas(ctx.snapshot, w)
        source = "HPA minReplicas" if ctx.snapshot.hpa_for(w.obj) is not None else "replicas"
        if replicas > 1:
            yield ctx.warn(w, f"{source} {replicas} in non-production namespace {ns.name}")
        elif scheduled(w.obj.annotations) or scheduled(ns.annotations) or ns.name in sleeping:
            yield ctx.ok(w)
        else:
            yield ctx.ok(w, "note: no scale-down schedule (e.g. kube-downscaler) in a non-production namespace")
