"""The Prefect events a run emits when it ends: ``kwa.run.finished`` always, ``kwa.run.regressed``
when it is worse than the previous comparable run (docs/notifications.md).

Two halves, kept apart so the rules are testable without a server: :func:`finished_payload`,
:func:`regressed_payload` and :func:`resources` are pure functions of what storage returned;
:func:`emit_run_events` reads storage, calls them and hands the events to Prefect's events worker
(a background queue: the run does not wait for the server). Emitting is a courtesy to whoever
built automations on the events: nothing here may fail a run or hold it up, so every error
becomes one warning in the run's log.

"Comparable" is what ``kwa query assessments diff`` means by it: the latest ``completed`` or
``partial`` run of the same cluster and scope requested before this one. Failed and aborted runs
are announced (``kwa.run.finished``) but never compared: they have no score to compare.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from storage.diff import COMPARABLE_STATES
from storage.enums import SEVERITIES, STATUSES

FINISHED = "kwa.run.finished"
REGRESSED = "kwa.run.regressed"
CHECK_IDS_LISTED = 20  # check ids of new findings named in a payload; the counts are always whole
ERROR_CHARS = 500  # of a failed run's error message
# Results of both runs above which new findings are not listed at the end of a run: diffing costs
# about 20 µs a result (68 ms for two runs of 1,824 on a shared 2-core machine), so 100k is ~2 s.
# Scores are still compared; `kwa query assessments diff` lists the findings of larger runs.
DIFF_MAX_RESULTS = 100_000


@dataclass
class Comparison:
    """This run against the previous comparable one: ``new_failures`` as ``diff`` lists them
    (dicts with at least ``check_id`` and ``severity``)."""

    previous: Mapping[str, Any]  # the previous run's row
    previous_scores: Mapping[str, Any] | None
    new_failures: list[Mapping[str, Any]] | None = field(default_factory=list)  # None: not diffed (too large)


def resource_id(cluster: str) -> str:
    return f"kwa.cluster.{cluster}"


def resources(run: Mapping[str, Any], flow_run_id: str | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The event's resource (the cluster, labelled with the run's state so a trigger can match on
    it) and its related resources (the kwa run and, when there is one, the Prefect flow run)."""
    cluster = str(run.get("cluster_id") or "unknown")
    resource = {
        "prefect.resource.id": resource_id(cluster),
        "prefect.resource.name": cluster,
        "kwa.cluster": cluster,
        "kwa.state": str(run.get("state") or "unknown"),
    }
    related = [{"prefect.resource.id": f"kwa.run.{run.get('run_id')}", "prefect.resource.role": "kwa-run"}]
    if flow_run_id:
        related.append({"prefect.resource.id": f"prefect.flow-run.{flow_run_id}", "prefect.resource.role": "flow-run"})
    return resource, related


def _score(scores: Mapping[str, Any] | None, pillar: str | None = None) -> tuple[Any, Any, Any]:
    """(score, grade, coverage) of the run or one pillar; Nones when not scored."""
    if not isinstance(scores, Mapping):
        return None, None, None
    part = scores.get("overall") if pillar is None else (scores.get("pillars") or {}).get(pillar)
    if not isinstance(part, Mapping):
        return None, None, None
    return part.get("score"), part.get("grade"), part.get("coverage")


def _new_by_severity(failures: list[Mapping[str, Any]]) -> tuple[dict[str, int], dict[str, list[str]]]:
    counts = {s: 0 for s in SEVERITIES}
    ids: dict[str, set[str]] = {s: set() for s in SEVERITIES}
    for item in failures:
        severity = str(item.get("severity") or "info")
        counts[severity] = counts.get(severity, 0) + 1
        ids.setdefault(severity, set()).add(str(item.get("check_id")))
    return counts, {s: sorted(v)[:CHECK_IDS_LISTED] for s, v in ids.items()}


def finished_payload(
    run: Mapping[str, Any],
    history: Mapping[str, Any] | None,
    scope: str,
    comparison: Comparison | None,
) -> dict[str, Any]:
    """The payload of ``kwa.run.finished`` (every field in docs/notifications.md).

    ``run``: the run's row; ``history``: its history row (None when the run stored none: failed
    before any check, or storage down); ``scope``: its scope label; ``comparison``: against the
    previous comparable run, None when there is none or the run is not comparable.
    """
    history = history or {}
    scores = history.get("scores") if isinstance(history.get("scores"), Mapping) else None
    score, grade, coverage = _score(scores)
    pillars = list((scores or {}).get("pillar_order") or (scores or {}).get("pillars") or [])
    error = run.get("error")
    payload: dict[str, Any] = {
        "cluster": str(run.get("cluster_id") or "unknown"),
        "run_id": run.get("run_id"),
        "state": run.get("state"),
        "scope": scope,
        "trigger": run.get("trigger"),
        "error": str(error)[:ERROR_CHARS] if error else None,
        "score": score,
        "grade": grade,
        "coverage": coverage,
        "pillars": {p: dict(zip(("score", "grade", "coverage"), _score(scores, p), strict=True)) for p in pillars},
        "counts": {s: int(history.get(f"{s}_count") or 0) for s in STATUSES}
        | {"total": int(history.get("total") or 0)},
        "duration_s": round(history["duration_ms"] / 1000, 3) if history.get("duration_ms") is not None else None,
        "previous_run_id": None,
        "previous_score": None,
        "score_delta": None,
        "findings_compared": False,
        "new_findings": None,
        "new_critical": 0,
        "new_critical_check_ids": [],
        "new_high": 0,
        "new_high_check_ids": [],
    }
    if comparison is not None:
        before, _, _ = _score(comparison.previous_scores)
        payload.update(
            previous_run_id=comparison.previous.get("run_id"),
            previous_score=before,
            score_delta=round(score - before, 1) if score is not None and before is not None else None,
        )
        if comparison.new_failures is not None:
            counts, ids = _new_by_severity(comparison.new_failures)
            payload.update(
                findings_compared=True,
                new_findings=counts | {"total": len(comparison.new_failures)},
                new_critical=counts["critical"],
                new_critical_check_ids=ids["critical"],
                new_high=counts["high"],
                new_high_check_ids=ids["high"],
            )
    return payload


def regressed_payload(finished: Mapping[str, Any]) -> dict[str, Any] | None:
    """The payload of ``kwa.run.regressed`` when ``finished`` (a :func:`finished_payload`) shows a
    regression against the previous comparable run: its score dropped, or new critical or high
    findings appeared. None otherwise (also when nothing was compared)."""
    if finished.get("previous_run_id") is None:
        return None
    delta = finished.get("score_delta")
    dropped = isinstance(delta, int | float) and delta < 0
    worse = int(finished.get("new_critical") or 0) + int(finished.get("new_high") or 0) > 0
    if not (dropped or worse):
        return None
    reasons = (["score dropped"] if dropped else []) + (["new critical or high findings"] if worse else [])
    keys = ("cluster", "run_id", "state", "scope", "previous_run_id", "score_delta", "findings_compared",
            "new_findings", "new_critical", "new_critical_check_ids", "new_high", "new_high_check_ids")  # fmt: skip
    return {
        **{k: finished.get(k) for k in keys},
        "score_before": finished.get("previous_score"),
        "score_after": finished.get("score"),
        "reasons": reasons,
    }


def emit_run_events(db: Any, run_id: str, flow_run_id: str | None, logger: Any) -> list[str]:
    """Emit the run's events; the names emitted. Never raises: a failure is one warning."""
    started = time.perf_counter()
    try:
        events = _build(db, run_id, flow_run_id)
        from prefect.events import emit_event

        for name, resource, related, payload in events:
            emit_event(name, resource=resource, related=related, payload=payload)
    except Exception as exc:  # the run has ended and is stored: an event must not change that
        logger.warning("could not emit the run's Prefect events: %s", exc)
        return []
    names = [e[0] for e in events]
    logger.debug("emitted %s in %.1f ms", ", ".join(names), (time.perf_counter() - started) * 1000)
    return names


def _build(db: Any, run_id: str, flow_run_id: str | None) -> list[tuple[str, Any, Any, dict[str, Any]]]:
    from redaction import redact_obj
    from storage.diff import new_failures, previous_comparable
    from storage.runs import get_history, get_run
    from storage.scopes import Scope
    from storage.scores import normalise

    run = get_run(db, run_id)
    if run is None:
        return []
    history = get_history(db, run_id)
    if history is not None:
        history = {**history, "scores": normalise(history.get("scores"))}
    comparison = None
    if run.get("state") in COMPARABLE_STATES:
        previous = previous_comparable(db, run_id)
        if previous is not None:
            before = get_history(db, previous["run_id"]) or {}
            results = int((history or {}).get("total") or 0) + int(before.get("total") or 0)
            # Only the new failures' checks and severities are counted: read from the failing rows.
            new = new_failures(db, previous["run_id"], run_id) if results <= DIFF_MAX_RESULTS else None
            comparison = Comparison(previous, normalise(before.get("scores")), new)
    payload = redact_obj(finished_payload(run, history, Scope.of_run(run).label, comparison))
    resource, related = resources(run, flow_run_id)
    out = [(FINISHED, resource, related, payload)]
    regressed = regressed_payload(payload)
    if regressed is not None:
        out.append((REGRESSED, resource, related, regressed))
    return out


__all__ = ["CHECK_IDS_LISTED", "DIFF_MAX_RESULTS", "FINISHED", "REGRESSED", "Comparison", "emit_run_events",
           "finished_payload", "regressed_payload", "resources"]  # fmt: skip
