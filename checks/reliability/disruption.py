"""Voluntary disruption and scaling bounds: PodDisruptionBudgets and HPA replica bounds
(REL-007 to REL-010, REL-016).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.k8s import effective_replicas, selector_key
from checks.model import Result, SkipReason, Status
from checks.registry import check
from checks.reliability.common import SCALABLE_KINDS, _missing, _report
from checks.snapshot import K8sObject, Snapshot, Workload


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


# Overlapping workloads, and other budgets per workload, named in one REL-009 message at most.
_SHOWN = 5


def _wkey(w: Workload) -> tuple[str, str | None, str]:
    return (w.kind, w.namespace, w.name)


def _pdb_matches(snap: Snapshot) -> list[tuple[K8sObject, list[Workload]]]:
    """Every PDB with the workloads its full selector picks in its own namespace.

    PDBs with the same selector in one namespace share one selection (the same list object), so
    a namespace of many identical budgets costs one selection, and callers may work per list.
    docs/catalogue.md#pdb-match.
    """
    selections: dict[tuple[str | None, str], list[Workload]] = {}
    out = []
    for pdb in snap.of_kind("PodDisruptionBudget"):
        selector = pdb.spec.get("selector")
        key = (pdb.namespace, selector_key(selector))
        matched = selections.get(key)
        if matched is None:
            matched = selections[key] = snap.select_workloads(pdb.namespace, selector)
        out.append((pdb, matched))
    return out


@check("REL-007")
def missing_pdb(ctx: CheckContext) -> Iterator[Result]:
    """Deployments/StatefulSets with effective replicas ≥ 2 that no PDB selects.

    Rule (docs/catalogue.md#rel-007): a PDB selects the workload when its full LabelSelector (matchLabels
    and matchExpressions) matches the pod-template labels in the same namespace — not Polaris'
    any-one-key match (docs/catalogue.md#pdb-match). Effective replicas < 2: skipped.
    A missing PDB is failing on a live cluster and a warning on manifests
    (docs/catalogue.md#conventions: the PDB may live in another repository).
    """
    covered: set[tuple[str, str | None, str]] = set()
    for matched in {id(m): m for _, m in _pdb_matches(ctx.snapshot)}.values():  # each selection once
        covered.update(_wkey(w) for w in matched)
    for w in ctx.snapshot.workloads():
        if w.kind not in ("Deployment", "StatefulSet"):
            continue
        replicas = effective_replicas(ctx.snapshot, w)
        if replicas < 2:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, f"{replicas} replica(s): a PDB cannot help")
        elif _wkey(w) in covered:
            yield ctx.ok(w)
        else:
            yield _missing(ctx, w, f"{replicas} replicas and no PodDisruptionBudget selects the pods")


@check("REL-008")
def pdb_blocks_evictions(ctx: CheckContext) -> Iterator[Result]:
    """PDBs that allow no voluntary disruption.

    Rule (docs/catalogue.md#rel-008): failing for maxUnavailable 0 / 0%, minAvailable 100%, or minAvailable
    ≥ the effective replicas of the matched workloads (summed). A percentage minAvailable is rounded
    up as the disruption controller does, so 90% of 2 replicas (= 2) blocks too. The replica
    comparison is made only when every matched workload has a known replica count (not DaemonSets
    on manifests, not Jobs) and the total is above zero. Warning when unhealthyPodEvictionPolicy is
    unset (crash-looping pods then block drains); passing otherwise.
    """
    # Per selection (shared by identical budgets): the matched replicas summed, None when one is
    # unknown. Summed per budget, a thousand budgets over the same thousands of workloads summed
    # millions.
    totals: dict[int, int | None] = {}
    for pdb, matched in _pdb_matches(ctx.snapshot):
        spec = pdb.spec
        issues: list[tuple[Status, str]] = []
        max_abs, max_pct = _int_or_percent(spec.get("maxUnavailable"))
        min_abs, min_pct = _int_or_percent(spec.get("minAvailable"))
        if max_abs == 0 or max_pct == 0:
            issues.append((Status.FAILING, "maxUnavailable is 0: no pod can ever be evicted"))
        if min_pct is not None and min_pct >= 100:
            issues.append((Status.FAILING, "minAvailable is 100%: no pod can ever be evicted"))
        if id(matched) not in totals:
            counts = [_replica_count(ctx.snapshot, w) for w in matched]
            totals[id(matched)] = None if None in counts else sum(c for c in counts if c is not None)
        total = totals[id(matched)]
        if matched and total is not None and (min_abs is not None or (min_pct is not None and min_pct < 100)):
            needed = min_abs if min_abs is not None else math.ceil((min_pct or 0) * total / 100)
            if total > 0 and needed >= total:
                issues.append((Status.FAILING, f"minAvailable {spec.get('minAvailable')} ≥ {total} matched replica(s)"))
        if not spec.get("unhealthyPodEvictionPolicy"):
            issues.append((Status.WARNING, "unhealthyPodEvictionPolicy is unset (unhealthy pods can block drains)"))
        yield _report(ctx, pdb, issues)


@check("REL-009")
def pdb_invalid(ctx: CheckContext) -> Iterator[Result]:
    """PDBs with no policy, overlapping another PDB, or selecting nothing.

    Rule (docs/catalogue.md#rel-009): failing when neither minAvailable nor maxUnavailable is set; failing
    when a workload it selects is selected by another PDB too (matches are indexed per workload once);
    warning when the full selector matches no pod template in the namespace; passing otherwise.
    """
    matches = _pdb_matches(ctx.snapshot)
    # Budgets grouped by selection (identical selectors share one list): a workload's budgets are
    # the groups that select it, so nothing here grows with (budgets x workloads) when thousands of
    # budgets select the same pods.
    names_of: dict[int, list[str]] = defaultdict(list)
    selections: dict[int, list[Workload]] = {}
    for pdb, matched in matches:
        names_of[id(matched)].append(pdb.name)
        selections[id(matched)] = matched
    groups_of: dict[tuple[str, str | None, str], list[int]] = defaultdict(list)
    for group, matched in selections.items():
        for w in matched:
            groups_of[_wkey(w)].append(group)

    def budgets(w: Workload) -> int:
        return sum(len(names_of[g]) for g in groups_of[_wkey(w)])

    overlapping_of: dict[int, list[Workload]] = {}  # per selection: its workloads other budgets select too
    for pdb, matched in matches:
        issues: list[tuple[Status, str]] = []
        if pdb.spec.get("minAvailable") is None and pdb.spec.get("maxUnavailable") is None:
            issues.append((Status.FAILING, "neither minAvailable nor maxUnavailable is set"))
        overlapping = overlapping_of.get(id(matched))
        if overlapping is None:
            overlapping = overlapping_of[id(matched)] = [w for w in matched if budgets(w) > 1]
        # Bounded: budgets that all select the same thousands of pods would otherwise make a message
        # of (workloads x budgets) names for each budget.
        for w in overlapping[:_SHOWN]:
            others = (n for g in groups_of[_wkey(w)] for n in names_of[g] if n != pdb.name)
            first = list(itertools.islice(others, _SHOWN))
            rest = budgets(w) - 1 - len(first)
            shown = ", ".join(first) + (f" and {rest:,} more" if rest > 0 else "")
            issues.append((Status.FAILING, f"{w.kind}/{w.name} is also selected by PDB {shown}"))
        if len(overlapping) > _SHOWN:
            more = len(overlapping) - _SHOWN
            issues.append((Status.FAILING, f"{more:,} more selected workload(s) are also selected by other PDBs"))
        if not matched:
            issues.append((Status.WARNING, "selector matches no pod or pod template in the namespace"))
        yield _report(ctx, pdb, issues)


@check("REL-010")
def pdb_conflicts_with_hpa(ctx: CheckContext) -> Iterator[Result]:
    """PDBs whose absolute minAvailable is ≥ the minReplicas of an HPA on a matched workload.

    Rule (docs/catalogue.md#rel-010): failing for absolute minAvailable ≥ HPA minReplicas (default 1);
    passing otherwise (percentages scale with the HPA); skipped when no matched workload has an HPA.
    """
    # Per selection (budgets with one selector share it) the HPA'd workloads, and per selection and
    # minAvailable the verdict: a thousand budgets over the same thousands of workloads were a
    # million HPA lookups and messages of thousands of names each.
    pairs_of: dict[int, list[tuple[Workload, K8sObject, int]]] = {}
    verdicts: dict[tuple[int, int | None], list[str]] = {}
    for pdb, matched in _pdb_matches(ctx.snapshot):
        pairs = pairs_of.get(id(matched))
        if pairs is None:
            pairs = pairs_of[id(matched)] = [
                (w, hpa, _hpa_floor(hpa)) for w in matched if (hpa := ctx.snapshot.hpa_for(w.obj)) is not None
            ]
        if not pairs:
            yield ctx.skip(pdb, SkipReason.NOT_APPLICABLE, "no HPA targets the selected workloads")
            continue
        min_abs, _ = _int_or_percent(pdb.spec.get("minAvailable"))
        bad = verdicts.get((id(matched), min_abs))
        if bad is None:
            bad = verdicts[(id(matched), min_abs)] = _below_budget(pairs, min_abs)
        if bad:
            yield ctx.fail(pdb, "; ".join(bad), details=bad)
        else:
            yield ctx.ok(pdb)


def _hpa_floor(hpa: K8sObject) -> int:
    floor = hpa.spec.get("minReplicas")
    return 1 if floor is None else int(floor)


def _below_budget(pairs: list[tuple[Workload, K8sObject, int]], min_abs: int | None) -> list[str]:
    """REL-010's findings for an absolute minAvailable: the first :data:`_SHOWN` workloads whose
    HPA may scale to it or below, then how many more."""
    if min_abs is None:
        return []
    hits = [(w, hpa, floor) for w, hpa, floor in pairs if min_abs >= floor]
    shown = [f"{w.kind}/{w.name}: minAvailable {min_abs} ≥ HPA {h.name} minReplicas {f}" for w, h, f in hits[:_SHOWN]]
    if len(hits) > _SHOWN:
        shown.append(f"{len(hits) - _SHOWN:,} more selected workload(s) have an HPA with minReplicas ≤ {min_abs}")
    return shown


@check("REL-016")
def hpa_bounds(ctx: CheckContext) -> Iterator[Result]:
    """HPA bounds: failing for maxReplicas ≤ minReplicas, warning for minReplicas < ``min_replicas`` (2).

    minReplicas defaults to 1 when unset, as the API server does.
    """
    threshold = int(ctx.setting("min_replicas", 2))
    for hpa in ctx.snapshot.of_kind("HorizontalPodAutoscaler"):
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
