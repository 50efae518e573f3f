"""Scores of a run: severity-weighted pass ratio, letter grade and coverage, per pillar and overall.

Everything here is derived from the run's ``assessments`` rows with one ``GROUP BY check_id``
(:func:`tally`) and pure arithmetic (:func:`compute`); ``storage.runs`` stores the result in
``assessment_history.scores`` when the run ends, and :func:`run_scores` reads it back (or computes
it for a run that has no history row yet). docs/scoring.md explains the choices at length.
The rule itself (:func:`compute`, :func:`normalise`, :class:`Tally`) lives in :mod:`storage.scoring`
and is re-exported here; this module holds the SQL that counts the rows and reads stored scores.

Score
-----
Over the result rows of a scope (one pillar, or the whole run)::

    score = 100 × Σ w(severity) × passing
                  ─────────────────────────────────────────────────
                  Σ w(severity) × (passing + failing + ½ × warning)

with ``w`` = critical 10, high 5, medium 3, low 1, info 0. A warning earns nothing and costs half a
failure (Polaris' ``2S / (2S + W + 2D)``). ``skipped`` (exempted included), ``error`` and
``timeout`` rows are not verdicts and stay out of the ratio. No weighted verdict at all (no rows,
or info-only rows) → score ``None``, never 100. The overall score is the same ratio over every row
of the run, not a mean of the pillars, so a pillar with ten times the findings weighs ten times
as much. Scores are truncated (not rounded) to one decimal, like Polaris truncates to an integer,
so a score never rounds up into a better grade.

Grade
-----
A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60, E ≥ 50, F < 50 (Popeye's bands), from the truncated score;
``None`` when the score is ``None``.

Coverage is part of the verdict (version 2, :func:`verdict`)
-------------------------------------------------------------
* A scope (a pillar, or the whole run) whose coverage is below :data:`INCOMPLETE_BELOW` (50 %,
  the F band) is **incomplete**: ``score`` and ``grade`` are ``None`` and ``incomplete`` is true.
  Less than half of what should have been judged was, so any number would describe the part kwa
  happened to see; the ratio over that part is kept as ``measured_score``, for diagnosis only.
* Otherwise the grade is the worse of the score's band and the coverage's band (the same
  bands): a run that evaluated 69 % of its applicable checks grades D at best, whatever it
  scored on those. ``grade_capped`` says the coverage decided; ``uncapped_grade`` is the score's
  own band. The score itself stays the measured ratio: "91.4 (D, capped)".

Coverage
--------
``coverage = 100 × Σ evaluated(check) / applicable checks``, per pillar and overall, truncated to
one decimal (99.96 shows as 99.9, never as a complete 100.0):

* not applicable (left out of both sides): a check whose only result is the check-level
  ``skipped`` row with reason ``requires-live``, ``requires-metrics`` or ``disabled``;
* ``evaluated = 0``: the check errored or timed out as a whole (a check-level ``error``/``timeout``
  row: an exception, a crash, its deadline, or a resource the credentials could not list), or it
  has no result because the run ended before it reported (a run that is failed or aborted, or one
  ``runs.summary.checks_not_executed`` names; ``pending`` while the run is still queued or running);
* ``evaluated = 1 − e / v`` otherwise, ``v`` being its verdict rows (passing, failing, warning,
  error, timeout) and ``e`` its per-object error/timeout rows (1 when ``v`` is 0: it ran and had
  nothing to judge, or every object was skipped or exempted).

``not_evaluated`` lists every check with ``evaluated < 1`` or not applicable, with why.

Stored history of version 1 (before coverage was part of the verdict) is read through
:func:`normalise`, which applies the version-2 rule to its stored score and coverage (all the rule
needs), so trends across the upgrade compare by one rule.

Exempted rows (``skipped`` with a reason starting ``exempt:``) are outside the scores but counted
(``exempted``) so reports can show how much was waived.

Speed: the ``GROUP BY`` has one group per check, every status and reason class a conditional
``SUM`` in it, so SQLite streams the rows in the order of ``ix_assessments_run_id_check_id`` and
never sorts them (grouping by status too would sort every row in a temporary B-tree: about 2.3×
the CPU time on 1,000,000 rows). A check whose rows disagree on pillar or severity (not produced
by kwa itself) is re-tallied per (pillar, severity), so nothing is mis-weighted.

Storage never imports ``checks``: the vocabulary the rules need (severities, skip reasons, the
check-level error message, pillar names and check-id prefixes) is restated here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.grades import (
    GRADE_BANDS,
    INCOMPLETE_BELOW,
    coverage_text,
    grade,
    score_text,
    verdict,
)
from storage.models import history_table as H
from storage.models import runs_table as R

# The rule lives in storage.scoring; this module counts a run's rows and reads or computes its
# scores. Callers keep importing both from here.
from storage.scoring import (
    EXEMPT_PREFIX,
    NOT_APPLICABLE_REASONS,
    PILLAR_ORDER,
    SCORES_VERSION,
    SEVERITY_WEIGHTS,
    STATUS_COLUMNS,
    WARNING_FACTOR,
    Tally,
    compute,
    compute_for,
    normalise,
    pillar_of,
    weight,
)

__all__ = [
    "GRADE_BANDS",
    "INCOMPLETE_BELOW",
    "NOT_APPLICABLE_REASONS",
    "PILLAR_ORDER",
    "SCORES_VERSION",
    "SEVERITY_WEIGHTS",
    "WARNING_FACTOR",
    "Tally",
    "compute",
    "compute_for_run",
    "coverage_text",
    "grade",
    "normalise",
    "pillar_of",
    "run_scores",
    "score_text",
    "tally",
    "verdict",
    "weight",
]

_CHECK_LEVEL = "object_kind IS NULL"
_UNEVALUATED = "status IN ('error', 'timeout')"
_NOT_APPLICABLE = (
    f"{_CHECK_LEVEL} AND status = 'skipped' AND reason IN ({', '.join(repr(r) for r in NOT_APPLICABLE_REASONS)})"
)


def _count(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


# Every column after the five key ones (check, pillar and severity bounds), in Tally's field order.
_AGGREGATES = ",\n       ".join(
    [
        *(_count(f"status = '{s}'") for s in STATUS_COLUMNS),
        _count(f"status = 'skipped' AND reason LIKE '{EXEMPT_PREFIX}%'"),
        _count(f"{_UNEVALUATED} AND NOT ({_CHECK_LEVEL})"),
        f"MIN(CASE WHEN {_UNEVALUATED} AND NOT ({_CHECK_LEVEL}) THEN message END)",
        f"MIN(CASE WHEN {_UNEVALUATED} AND {_CHECK_LEVEL} THEN status END)",
        f"MIN(CASE WHEN {_UNEVALUATED} AND {_CHECK_LEVEL} THEN message END)",
        f"MIN(CASE WHEN {_NOT_APPLICABLE} THEN reason END)",
        _count(_NOT_APPLICABLE),
    ]
)
_FAST_SQL = text(
    f"SELECT check_id, MIN(pillar), MAX(pillar), MIN(severity), MAX(severity),\n       {_AGGREGATES},\n"
    "       MIN(check_name), MAX(check_name)\n"
    "FROM assessments WHERE run_id = :run_id GROUP BY check_id"
)
_EXACT_SQL = text(
    f"SELECT check_id, pillar, pillar, severity, severity,\n       {_AGGREGATES},\n"
    "       MIN(check_name), MAX(check_name)\n"
    "FROM assessments WHERE run_id = :run_id AND check_id IN :check_ids GROUP BY check_id, pillar, severity"
).bindparams(bindparam("check_ids", expanding=True))


def _tallies(result: Iterable[Any]) -> list[tuple[Tally, bool]]:
    out = []
    for r in result:
        counts = [int(v or 0) for v in r[5:13]]
        name = r[18] if r[18] == r[19] else None  # one name, or not known
        t = Tally(r[0], r[1], r[3], *counts, r[13], r[14], r[15], r[16], int(r[17] or 0), name)
        out.append((t, r[1] != r[2] or r[3] != r[4]))
    return out


def tally(conn: Connection, run_id: str) -> list[Tally]:
    """The run's rows counted per check (one ``GROUP BY``; also enough for the history counts)."""
    rows = _tallies(conn.execute(_FAST_SQL, {"run_id": run_id}))
    mixed = [t.check_id for t, varies in rows if varies]
    tallies = [t for t, varies in rows if not varies]
    if mixed:
        tallies += [t for t, _ in _tallies(conn.execute(_EXACT_SQL, {"run_id": run_id, "check_ids": mixed}))]
    return tallies


def compute_for_run(conn: Connection, run: Mapping[str, Any], tallies: Iterable[Tally] | None = None) -> dict[str, Any]:
    """Scores of one run (a ``runs`` row as a dict), tallying its rows unless ``tallies`` are given."""
    return compute_for(run, tally(conn, run["run_id"]) if tallies is None else tallies)


def run_scores(db: Database, run_id: str) -> dict[str, Any]:
    """A run's scores: the stored ones from its history row (:func:`normalise`d), else computed
    from its results now.

    Computing covers runs still in progress (their missing checks count as not run) and history
    rows written without scores. Raises :class:`storage.runs.RunNotFound` for an unknown run.
    """
    from storage.runs import RunNotFound  # imported here: storage.runs imports this module

    with db.read() as conn:
        stored = conn.execute(select(H.c.scores).where(H.c.run_id == run_id)).scalar()
        if stored is not None:
            return dict(normalise(stored))
        run = conn.execute(select(R).where(R.c.run_id == run_id)).first()
        if run is None:
            raise RunNotFound(run_id)
        from storage.archive import ensure_hot  # imported here: storage.archive imports storage.runs's modules

        ensure_hot(conn, run_id)
        return compute_for_run(conn, dict(run._mapping))
