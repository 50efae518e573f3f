"""A stored run's per-check outcomes, read through storage: the input of :func:`kwa.frameworks.assess`.

One ``GROUP BY check_id`` over the run's rows (the tally kwa's scores are computed from) plus the
run's scores for why a check did not evaluate, so a framework view costs what a summary costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kwa.frameworks.assess import CheckOutcome
from storage.db import Database
from storage.run_lookup import resolve_run
from storage.scores import run_scores, tally


def outcomes(tallies: Any, scores: Mapping[str, Any] | None) -> dict[str, CheckOutcome]:
    """Outcomes from tallies (``storage.scoring.Tally``) and a run's scores document.

    A check counts as not fully evaluated when the scores list it in ``not_evaluated`` with
    anything less than a whole evaluation, including a check not applicable in this run: a
    framework asks whether the control was looked at, and a live-only check on manifests was not.
    """
    why: dict[str, str] = {}
    for entry in (scores or {}).get("not_evaluated") or []:
        if not isinstance(entry, Mapping) or "check_id" not in entry:
            continue
        if not entry.get("applicable", True) or float(entry.get("evaluated") or 0) < 1:
            why[str(entry["check_id"])] = str(entry.get("why") or "not-evaluated")
    out: dict[str, CheckOutcome] = {}
    for t in tallies:
        out[t.check_id] = CheckOutcome(counts=t.counts, exempted=t.exempted, why=why.get(t.check_id))
    for check_id, reason in why.items():  # selected, but no row at all (not run, pending)
        out.setdefault(check_id, CheckOutcome(why=reason))
    return out


def run_outcomes(
    db: Database, run_id: str | None = None, cluster_id: str | None = None
) -> tuple[dict[str, Any], dict[str, CheckOutcome]]:
    """``(run, {check id: outcome})`` for the run (default: the latest, of ``cluster_id``).

    A check the run never selected has no outcome: :func:`kwa.frameworks.assess` reports it as
    ``not-in-run``. A selected check that ran and wrote no row (nothing to judge) is evaluated.
    """
    run = resolve_run(db, run_id, cluster_id)
    with db.read() as conn:
        tallies = tally(conn, run["run_id"])
    found = outcomes(tallies, run_scores(db, run["run_id"]))
    for check_id in run.get("check_ids") or []:
        found.setdefault(check_id, CheckOutcome())
    return run, found
