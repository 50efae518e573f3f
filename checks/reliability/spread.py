"""Failure domains: replicas spread across nodes and zones, and whether the cluster has
the domains to spread over (REL-011, REL-022).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.k8s import ZONE_LABELS, effective_replicas, selector_matches
from checks.model import Result, SkipReason, Status
from checks.registry import check
from checks.reliability.common import _report
from checks.snapshot import Snapshot, Workload

ZONE_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")


WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")


# Every Namespace carries this label with its own name (set by the API server since 1.21), so a
# selector on it alone can be decided without the Namespace object.
NAME_LABEL = "kubernetes.io/metadata.name"


@check("REL-011")
def replicas_not_spread(ctx: CheckContext) -> Iterator[Result]:
    """Multi-replica Deployments/StatefulSets without anti-affinity or spread constraints.

    Rule (docs/catalogue.md#rel-011): passing with podAntiAffinity (required or preferred) on
    ``kubernetes.io/hostname`` or ``topology.kubernetes.io/zone`` whose term repels the workload's own
    replicas, or with a valid topologySpreadConstraint; failing for an invalid constraint
    (maxSkew ≤ 0, no topologyKey, no labelSelector, minDomains 0, whenUnsatisfiable not
    DoNotSchedule/ScheduleAnyway) even if anti-affinity is also present; warning when neither.
    A term repels the own replicas when its labelSelector matches the pod's labels (no
    mismatchLabelKeys key the pod carries) *and* it applies to the pod's own namespace: ``namespaces``
    empty and ``namespaceSelector`` null mean the pod's namespace, ``namespaceSelector: {}`` every
    namespace, otherwise the listed names union the Namespaces whose labels match the selector (read
    from the run's Namespace objects). A term that only reaches other namespaces does not count; one
    whose namespace cannot be decided (labels of a Namespace the run does not hold, a manifest without
    a namespace) is named in the warning. Effective replicas < 2: skipped.
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
            continue
        if valid:
            yield ctx.ok(w)
            continue
        spreads, notes = _anti_affinity(ctx.snapshot, w)
        if spreads:
            yield ctx.ok(w)
        elif notes:
            text = f"{replicas} replicas, no topologySpreadConstraints, and no podAntiAffinity term that spreads them"
            yield ctx.warn(w, f"{text}: {'; '.join(notes)}", details=notes)
        else:
            yield ctx.warn(w, f"{replicas} replicas with neither podAntiAffinity nor topologySpreadConstraints")


def _anti_affinity_terms(w: Workload) -> Iterator[tuple[str, dict[str, Any]]]:
    anti = ((w.pod_spec.get("affinity") or {}).get("podAntiAffinity")) or {}
    for i, term in enumerate(anti.get("requiredDuringSchedulingIgnoredDuringExecution") or []):
        yield f"required[{i}]", term or {}
    for i, weighted in enumerate(anti.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
        yield f"preferred[{i}]", (weighted or {}).get("podAffinityTerm") or {}


def _own_pods_problem(term: dict[str, Any], labels: dict[str, str]) -> str | None:
    """Why the term's pod selector leaves out the workload's own replicas (None: it selects them)."""
    # mismatchLabelKeys adds "key notin (the pod's value)": it excludes the pod's own replicas.
    # matchLabelKeys adds "key in (the pod's value)", which the own replicas always satisfy.
    excluded = [str(k) for k in term.get("mismatchLabelKeys") or [] if k in labels]
    if excluded:
        return f"mismatchLabelKeys {', '.join(excluded)} excludes the workload's own pods"
    if not selector_matches(term.get("labelSelector"), labels):
        return "its labelSelector does not select the workload's own pods"
    return None


def _applies_to_own_namespace(snap: Snapshot, namespace: str | None, term: dict[str, Any]) -> bool | None:
    """Whether the term counts pods of the workload's own namespace (None: cannot be decided)."""
    names = [str(n) for n in term.get("namespaces") or []]
    ns_selector = term.get("namespaceSelector")
    if not names and ns_selector is None:
        return True
    if ns_selector == {}:
        return True
    if namespace is None:
        return None  # a manifest without a namespace lands wherever it is applied
    if namespace in names:
        return True
    if ns_selector is None:
        return False
    ns_obj = snap.get("Namespace", None, namespace)
    if ns_obj is not None:
        return selector_matches(ns_selector, {**ns_obj.labels, NAME_LABEL: namespace})
    keys = set((ns_selector.get("matchLabels") or {}).keys())
    keys |= {e.get("key") for e in ns_selector.get("matchExpressions") or [] if isinstance(e, dict)}
    if keys <= {NAME_LABEL}:
        return selector_matches(ns_selector, {NAME_LABEL: namespace})
    return None


def _anti_affinity(snap: Snapshot, w: Workload) -> tuple[bool, list[str]]:
    """(some term repels the own replicas, why each term does not)."""
    notes: list[str] = []
    for where, term in _anti_affinity_terms(w):
        key = term.get("topologyKey")
        if key not in ZONE_KEYS:
            notes.append(f"podAntiAffinity {where}: topologyKey {key!r} is not a node or zone key")
            continue
        problem = _own_pods_problem(term, w.pod_labels)
        if problem:
            notes.append(f"podAntiAffinity {where}: {problem}")
            continue
        applies = _applies_to_own_namespace(snap, w.namespace, term)
        if applies:
            return True, []
        scope = _namespace_scope(term)
        if applies is None:
            own = f"namespace {w.namespace}" if w.namespace else "the namespace it is applied to"
            notes.append(
                f"podAntiAffinity {where} applies to {scope}; whether that includes {own} is unknown "
                "(its labels are not in the run)"
            )
        else:
            notes.append(f"podAntiAffinity {where} only repels pods in {scope}, not in namespace {w.namespace}")
    return False, notes


def _namespace_scope(term: dict[str, Any]) -> str:
    parts = []
    if term.get("namespaces"):
        parts.append("namespaces " + ", ".join(str(n) for n in term["namespaces"]))
    if term.get("namespaceSelector") is not None:
        parts.append("namespaceSelector " + json.dumps(term["namespaceSelector"], separators=(", ", ": ")))
    return " and ".join(parts)


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
        n
        for n in workers
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
