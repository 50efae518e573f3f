"""A run's history numbers from its result rows held in memory, by the same rule as the database's.

``kwa lint`` evaluates without a database: its scores, counts and coverage must still be exactly
what ``kwa run`` stores for the same input. :func:`tallies_from_rows` counts rows per check the way
:func:`storage.scores.tally`'s ``GROUP BY`` does (every aggregate, in the same order), and
:func:`history_values` derives the history row from tallies — the one function
``storage.runs`` uses when a run ends, so the two paths cannot drift apart (tested on the demo
cluster: ``tests/storage/test_row_tally.py``). No SQLAlchemy here: importing this costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from storage.enums import STATUSES
from storage.scoring import EXEMPT_PREFIX, NOT_APPLICABLE_REASONS, STATUS_COLUMNS, Tally

HISTORY_CHECK_KEYS = ("checks_total", "checks_executed", "checks_errored", "checks_timed_out")


def _min(current: str | None, value: Any) -> str | None:
    """SQL's MIN over non-NULL values (strings compare as SQLite's default BINARY collation does)."""
    if value is None:
        return current
    return value if current is None or value < current else current


def tallies_from_rows(
    rows: Iterable[Mapping[str, Any]], passing: Mapping[tuple[str, str, str], int] | None = None
) -> list[Tally]:
    """The rows counted per (check, pillar, severity), as :func:`storage.scores.tally` counts them
    (by :func:`count_values`, the rule a run's writer counts with).

    ``passing``: more passing rows per (check, pillar, severity) that ``rows`` leaves out (a
    passing row adds one to its count and nothing else)."""
    grouped: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    extra: dict[tuple[str, str, str], int] = {}
    for (check_id, pillar, severity), count in (passing or {}).items():
        key = (str(check_id), str(pillar), str(severity))
        grouped.setdefault(key, [])
        extra[key] = extra.get(key, 0) + count
    for r in rows:
        key = (str(r["check_id"]), str(r["pillar"]), str(r["severity"]))
        # The fields count_values reads, at their ROW_FIELDS places: status, kind, message, reason.
        values = (r["status"], r.get("object_kind"), None, None, None, r.get("message"), None, r.get("reason"))
        grouped.setdefault(key, []).append(values)
    tallies = []
    for key, values in grouped.items():
        c = count_values(values)
        if c[_UNSURE] & ODD:
            raise KeyError(f"not a result status: {next(v[0] for v in values if v[0] not in _STATUS_AT)!r}")
        c[0] += extra.get(key, 0)
        tallies.append(Tally(*key, *c[:_UNSURE]))
    return tallies


def history_values(
    run: Mapping[str, Any],
    tallies: list[Tally],
    finished_at: datetime,
    given: Mapping[str, Any],
    scores: Callable[[], Any],
) -> dict[str, Any]:
    """The history row of a run that ended: counts, per-pillar counts, check numbers, scores.

    ``given``: what the runner knows (``duration_ms``, the ``checks_*`` numbers, ``scores``);
    ``scores`` computes them when ``given`` has none.
    """
    counts = dict.fromkeys(STATUSES, 0)
    pillars: dict[str, dict[str, int]] = {}
    checks: dict[str, set[str]] = {}
    for t in tallies:
        per = pillars.setdefault(t.pillar, {})
        for status, n in t.counts.items():
            if n:
                counts[status] += n
                per[status] = per.get(status, 0) + n
                checks.setdefault(t.check_id, set()).add(status)
    derived = {
        "checks_executed": len(checks),
        "checks_errored": sum(1 for s in checks.values() if "error" in s),
        "checks_timed_out": sum(1 for s in checks.values() if "timeout" in s),
    }
    derived["checks_total"] = max(len(run.get("check_ids") or []), derived["checks_executed"])
    started = run.get("started_at") or run.get("requested_at")
    duration = given.get("duration_ms")
    if duration is None:
        duration = max(0, int((finished_at - started).total_seconds() * 1000)) if started else 0
    return {
        "run_id": run["run_id"],
        "cluster_id": run["cluster_id"],
        "state": run["state"],
        "finished_at": finished_at,
        "duration_ms": int(duration),
        "total": sum(counts.values()),
        **{f"{status}_count": counts[status] for status in STATUSES},
        "pillar_counts": pillars,
        **{k: int(given[k]) if given.get(k) is not None else derived[k] for k in HISTORY_CHECK_KEYS},
        # The caller's scores win; otherwise they are computed for every terminal state.
        "scores": given["scores"] if given.get("scores") is not None else scores(),
        "check_counts": check_counts(tallies),
    }


def check_counts(tallies: list[Tally]) -> list[list[Any]] | None:
    """``[check_id, check_name, pillar, severity, {status: count}]`` per tally, ordered as a
    ``GROUP BY`` of check, pillar, severity and status returns them on SQLite (what
    :func:`storage.summary.run_summary` reads instead of that ``GROUP BY``); None when a check's
    name is not known."""
    if any(t.check_name is None for t in tallies):
        return None
    return [
        [t.check_id, t.check_name, t.pillar, t.severity, {s: n for s, n in t.counts.items() if n}]
        for t in sorted(tallies, key=lambda t: (t.check_id, t.pillar, t.severity))
    ]


# -- counting rows as they are written ---------------------------------------------------------
#
# A run's writer counts each check's rows as it takes them, so ending the run need not count them
# again in the database (``finish_run``'s GROUP BY read every row back: most of a 400,000-object
# run's exit). :func:`count_values` is the GROUP BY's rule on ROW_FIELDS tuples (status 0, kind 1,
# message 5, reason 7); it runs where the check ran, so the parent only adds numbers up.
_STATUS_AT = {s: i for i, s in enumerate(STATUS_COLUMNS)}
# Indexes into a count list: the six statuses, then these.
_EXEMPTED, _OBJECT_UNEVALUATED, _SAMPLE, _WHOLE_STATUS, _WHOLE_MESSAGE, _NA, _NA_ROWS, _UNSURE = range(6, 14)
_MIN_FIELDS = (_SAMPLE, _WHOLE_STATUS, _WHOLE_MESSAGE, _NA)
COLLATION, CASE, ODD = 1, 2, 4  # bits of ``unsure``


def count_values(values: Iterable[Sequence[Any]]) -> list[Any]:
    """One check's rows (ROW_FIELDS tuples) counted by :func:`storage.scores.tally`'s rule, as a
    list: the six status counts, exempted, object_unevaluated, sample, whole_status, whole_message,
    not_applicable, not_applicable_rows, then ``unsure``.

    ``unsure`` says where the database might count differently (:func:`counts_unsure`):
    :data:`COLLATION` when two different messages competed for a MIN (PostgreSQL compares text
    by its collation; SQLite, like Python, by code point), :data:`CASE` when a reason starts
    with ``exempt:`` in another case (SQLite's LIKE ignores ASCII case; PostgreSQL's, like
    Python's ``startswith``, does not), :data:`ODD` for a status kwa does not write. A writer
    that saw it lets the database count instead.
    """
    c: list[Any] = [0, 0, 0, 0, 0, 0, 0, 0, None, None, None, None, 0, 0]
    for v in values:
        status = v[0]
        if status == "passing":  # most rows
            c[0] += 1
            continue
        at = _STATUS_AT.get(status)
        if at is None:
            c[_UNSURE] |= ODD
            continue
        c[at] += 1
        check_level = v[1] is None
        if status == "skipped":
            reason = v[7]
            if reason:
                if reason.startswith(EXEMPT_PREFIX):
                    c[_EXEMPTED] += 1
                elif reason[: len(EXEMPT_PREFIX)].lower() == EXEMPT_PREFIX:
                    c[_UNSURE] |= CASE
            if check_level and reason in NOT_APPLICABLE_REASONS:
                c[_NA_ROWS] += 1
                c[_NA] = _min(c[_NA], reason)
        elif status in ("error", "timeout"):
            message = v[5]
            if check_level:
                c[_WHOLE_STATUS] = _min(c[_WHOLE_STATUS], status)
                at = _WHOLE_MESSAGE
            else:
                c[_OBJECT_UNEVALUATED] += 1
                at = _SAMPLE
            if message is not None and c[at] is not None and message != c[at]:
                c[_UNSURE] |= COLLATION
            c[at] = _min(c[at], message)
    return c


def add_counts(into: list[Any], part: Sequence[Any]) -> None:
    """Add one count list (:func:`count_values`) to another, in place."""
    for i in range(6):
        into[i] += part[i]
    for i in (_EXEMPTED, _OBJECT_UNEVALUATED, _NA_ROWS):
        into[i] += part[i]
    for i in _MIN_FIELDS:
        if i in (_SAMPLE, _WHOLE_MESSAGE) and None not in (into[i], part[i]) and into[i] != part[i]:
            into[_UNSURE] |= COLLATION
        into[i] = _min(into[i], part[i])
    into[_UNSURE] |= part[_UNSURE]


def tallies_from_counts(
    counts: Mapping[tuple[str, str, str], Sequence[Any]], names: Mapping[str, set[str]] | None = None
) -> list[Tally]:
    """Count lists per (check, pillar, severity) as :class:`Tally` rows, in the order
    :func:`storage.scores.tally` returns them on SQLite: by check id, then the checks whose rows
    disagree on pillar or severity, by (check, pillar, severity). ``names``: the check names each
    check's rows carry (a tally's ``check_name`` when there is exactly one)."""
    per_check: dict[str, int] = {}
    for check_id, _, _ in counts:
        per_check[check_id] = per_check.get(check_id, 0) + 1
    single = sorted((k for k in counts if per_check[k[0]] == 1), key=lambda k: k[0])
    mixed = sorted(k for k in counts if per_check[k[0]] > 1)

    def name(check_id: str) -> str | None:
        found = (names or {}).get(check_id) or ()
        return next(iter(found)) if len(found) == 1 else None

    return [Tally(*key, *counts[key][:_UNSURE], check_name=name(key[0])) for key in (*single, *mixed)]


def new_counts() -> list[Any]:
    """An empty count list (:func:`count_values` of no rows)."""
    return count_values(())


def counts_unsure(counts: Mapping[tuple[str, str, str], Sequence[Any]], sqlite: bool) -> bool:
    """Whether the database (SQLite, else PostgreSQL) might count these rows differently."""
    mask = (CASE if sqlite else COLLATION) | ODD
    return any(c[_UNSURE] & mask for c in counts.values())
