"""Failure domains: replicas spread across nodes and zones, and whether the cluster has
the domains to spread over (REL-011, REL-022).
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.k8s import ZONE_LABELS, effective_replicas, selector_matches
from checks.model import Result, SkipReason, Status
from checks.registry import check
from checks.reliability.common import _report
from checks.snapshot import Workload

ZONE_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")


WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")


@check("REL-011")
def replicas_not_spread(ctx: CheckContext) -> Iterator[Result]:
    """Multi-replica Deployments/StatefulSets without anti-affinity or spread constraints.

    Rule (docs/catalogue.md#rel-011): passing with podAntiAffinity (required or preferred) on
    ``kubernetes.io/hostname`` or ``topology.kubernetes.io/zone`` whose labelSelector matches the
    pod's own labels, or with a valid topologySpreadConstraint; failing for an invalid constraint
    (maxSkew ≤ 0, no topologyKey, no labelSelector, minDomains 0, whenUnsatisfiable not
    DoNotSchedule/ScheduleAnyway) even if anti-affinity is also present; warning when neither.
    Effective replicas < 2: skipped.
    """
    for w in ctx.snapshot.workloads():
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        replicas = effective_replicas(ctx.snapshot, w)
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


_CONTROL_PLANE = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


@check("REL-022")
def failure_domain_redundancy(ctx: CheckContext) -> Iterator[Result]:
    """Cluster-level redundancy of nodes, as one cluster row.

    Rule (docs/catalogue.md#rel-022): warning when every schedulable worker is in one zone (nodes without a
    zone label count as one unknown zone: spread cannot be proven), when fewer than 2 workers are
    Ready, or when exactly one control-plane node is visible (managed control planes show none).
    Skipped when the run lists no nodes at all.
    """
    nodes = ctx.snapshot.of_kind("Node")
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
