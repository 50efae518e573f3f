"""One page of results in findings-first order, read check by check.

The order is run, then severity (critical first), then check id, then object (kind, namespace,
name), container and id. Sorting a whole run by it in SQL meant reading and sorting every one of
its rows for every page (50,000 rows: half a second a page). But a check has one severity in a
run, so the order is really "the run's checks in severity order, each check's rows by object": the
checks and their row counts come from the ``(run_id, check_id)`` index, their severities from one
row each, and a page reads only the rows of the checks it shows, sorted within each check (a few
hundred rows at a time). Offsets skip whole checks by their counts; a cursor resumes inside the
check its last row belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement

from storage.enums import SEVERITIES
from storage.models import assessments_table as A

# Within one check: by object, then container, then id (NULLs read as empty text, so SQLite and
# PostgreSQL, which put NULLs at opposite ends, agree).
WITHIN_CHECK: tuple[ColumnElement[Any], ...] = (
    func.coalesce(A.c.object_kind, ""),
    func.coalesce(A.c.object_namespace, ""),
    func.coalesce(A.c.object_name, ""),
    func.coalesce(A.c.container, ""),
    A.c.id,
)

Group = tuple[str, str, int]  # (run_id, check_id, matching rows)


def groups(conn: Connection, where: ColumnElement[bool]) -> list[Group]:
    """The (run, check) groups with rows matching ``where``, in findings-first order."""
    counted = (
        select(A.c.run_id, A.c.check_id, func.count().label("n")).where(where).group_by(A.c.run_id, A.c.check_id)
    ).subquery()
    one = A.alias("one")
    severity = (
        select(one.c.severity)
        .where(one.c.run_id == counted.c.run_id, one.c.check_id == counted.c.check_id)
        .limit(1)
        .scalar_subquery()
    )
    rows = conn.execute(select(counted.c.run_id, counted.c.check_id, counted.c.n, severity)).all()

    def rank(severity: str | None) -> int:
        return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)

    rows.sort(key=lambda r: (r[0], rank(r[3]), r[1]))
    return [(r[0], r[1], int(r[2])) for r in rows]


def page(
    conn: Connection,
    where: ColumnElement[bool],
    run_ids: Sequence[str],
    limit: int,
    offset: int = 0,
    after: tuple[str, str] | None = None,
) -> tuple[list[dict[str, Any]], bool, int | None] | None:
    """``(rows, more after them, rows matching in the first run)`` for one page of the results of
    ``run_ids`` (oldest first) matching ``where``; ``limit`` 0: all of them.

    Runs are read one after the other, so a page across many runs reads only the runs it shows.
    ``after`` is the (run_id, id) of the last row of the previous page (a cursor); None is
    returned when that row no longer exists.
    """
    runs = list(run_ids)
    within = None
    if after is not None:
        last = conn.execute(
            select(A.c.check_id, *WITHIN_CHECK).where(A.c.run_id == after[0], A.c.id == after[1])
        ).first()
        if last is None or after[0] not in runs:
            return None
        runs = runs[runs.index(after[0]) :]
        within = (last[0], tuple(last[1:]))
    wanted = limit + 1 if limit else 0  # one more than shown: is there a next page?
    rows: list[dict[str, Any]] = []
    skip = offset
    first_total: int | None = None
    for run_id in runs:
        found = groups(conn, and_(where, A.c.run_id == run_id))
        if first_total is None:
            first_total = sum(n for _, _, n in found)
        start = 0
        if within is not None:
            keys = [check_id for _, check_id, _ in found]
            if within[0] not in keys:
                return None
            start = keys.index(within[0])
        while skip and start < len(found) and found[start][2] <= skip:  # an offset skips whole checks
            skip -= found[start][2]
            start += 1
        for _, check_id, _ in found[start:]:
            query = select(A).where(where, A.c.run_id == run_id, A.c.check_id == check_id)
            if within is not None:
                query = query.where(tuple_(*WITHIN_CHECK) > tuple_(*within[1]))
                within = None
            query = query.order_by(*WITHIN_CHECK)
            if wanted:
                query = query.limit(wanted - len(rows))
            if skip:
                query = query.offset(skip)
                skip = 0
            rows += [dict(r._mapping) for r in conn.execute(query)]
            if wanted and len(rows) >= wanted:
                break
        within = None
        if wanted and len(rows) >= wanted:
            break
    more = bool(limit) and len(rows) > limit
    return (rows[:limit] if limit else rows), more, first_total
