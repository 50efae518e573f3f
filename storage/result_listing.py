"""Listing results: one page of a run's (or a time range's) results, one result, a whole run.

Split from storage.queries (which re-exports these names). The severity order pages check by check
through storage.listing; the stored order pages by ``(run_id, id)``. Both page by offset or by
cursor (storage.cursors), never both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select, true, tuple_
from sqlalchemy.sql import ColumnElement, Select

from storage import listing
from storage.archive import MAX_RESTORE, archived_only, archived_run_of, ensure_hot
from storage.cursors import decode_cursor, encode_cursor
from storage.db import Database
from storage.models import assessments_table as A
from storage.models import runs_table as R
from storage.models import to_utc
from storage.query_model import AssessmentQuery, NoRuns, Page, QueryError, ResultNotFound
from storage.run_lookup import _require_cluster, _resolve, _row


def _filters(q: AssessmentQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for column, values in (
        (A.c.pillar, q.pillar),
        (A.c.status, q.status),
        (A.c.check_id, q.check_id),
        (A.c.object_namespace, q.namespace),
        (A.c.object_kind, q.kind),
        (A.c.severity, q.severity),
    ):
        if len(values) == 1:
            where.append(column == values[0])
        elif values:
            where.append(column.in_(values))
    if q.since is not None:
        where.append(A.c.assessed_at >= to_utc(q.since))
    return where


def list_assessments(db: Database, q: AssessmentQuery) -> Page:
    """One page of results for ``q`` (see :class:`AssessmentQuery` for its scope)."""
    with db.read() as conn:
        run: dict[str, Any] | None = None
        where = _filters(q)
        filters = and_(true(), *where)
        if q.run_id is not None or q.since is None:
            run = _resolve(conn, q.run_id, q.cluster_id)
            run_ids = [run["run_id"]]
            where.append(A.c.run_id == run["run_id"])
            scope = {"run_id": run["run_id"], "cluster_id": run["cluster_id"]}
        else:
            since = to_utc(q.since)
            if q.cluster_id is not None:
                _require_cluster(conn, q.cluster_id)
            # A run's results are assessed before it completes: older finished runs cannot match.
            runs = select(R.c.run_id).where(or_(R.c.completed_at.is_(None), R.c.completed_at >= since))
            if q.cluster_id is not None:
                runs = runs.where(R.c.cluster_id == q.cluster_id)
            run_ids = [r[0] for r in conn.execute(runs.order_by(R.c.run_id))]
            # A range reaching back past the hot runs reads archived ones too, restored first; but
            # not a year of them at once (each is a full write of its results).
            cold = archived_only(conn, runs)
            if len(cold) > MAX_RESTORE:
                raise QueryError(
                    f"--since reaches {len(cold):,} runs whose results are archived (docs/storage.md); a query "
                    f"restores at most {MAX_RESTORE}: give a later --since, or name one run with --run"
                )
            for rid in cold:
                ensure_hot(conn, rid)
            where.append(A.c.run_id.in_(runs.scalar_subquery()))
            scope = {"since": since.isoformat(), "cluster_id": q.cluster_id}
        base = and_(*where)
        if q.sort == "severity":
            # Check by check (storage/listing.py): a page reads only the checks it shows.
            after = tuple(decode_cursor(q.cursor, q.fingerprint(), 2)) if q.cursor else None
            found = listing.page(conn, filters, run_ids, q.limit, q.offset, after)  # type: ignore[arg-type]
            if found is None:
                raise QueryError("the result this cursor continues from no longer exists: start again without it")
            items, more, counted = found
            total = (counted or 0) if run else None
            cursor = encode_cursor(q.fingerprint(), [items[-1]["run_id"], items[-1]["id"]]) if more else None
            return Page(
                items=items, limit=q.limit, offset=q.offset, next_cursor=cursor, total=total, run=run, scope=scope
            )
        query: Select[Any] = select(A).where(base)
        if q.cursor:
            last_run, last_id = decode_cursor(q.cursor, q.fingerprint(), 2)
            query = query.where(tuple_(A.c.run_id, A.c.id) > tuple_(last_run, last_id))
        query = query.order_by(A.c.run_id, A.c.id)
        if q.limit:
            query = query.limit(q.limit + 1)
        if q.offset:
            query = query.offset(q.offset)
        items = [_row(r) for r in conn.execute(query)]
        more = bool(q.limit) and len(items) > q.limit
        items = items[: q.limit] if q.limit else items
        # Counting a run's matches is cheap (index range); counting across many runs is not.
        total = conn.execute(select(func.count()).select_from(A).where(base)).scalar_one() if run else None
    cursor = encode_cursor(q.fingerprint(), [items[-1]["run_id"], items[-1]["id"]]) if more else None
    return Page(items=items, limit=q.limit, offset=q.offset, next_cursor=cursor, total=total, run=run, scope=scope)


def get_result(db: Database, result_id: str) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(select(A).where(A.c.id == result_id)).first()
        archived = archived_run_of(conn, result_id) if row is None else None
        if archived is not None and ensure_hot(conn, archived):
            row = conn.execute(select(A).where(A.c.id == result_id)).first()
        if row is None:
            if conn.execute(select(R.c.run_id).limit(1)).first() is None:
                raise NoRuns()
            raise ResultNotFound(result_id)
        result = _row(row)
        result["run"] = _row(conn.execute(select(R).where(R.c.run_id == result["run_id"])).one())
    return result


def run_results(db: Database, run_id: str, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every result of a run in listing order (for SARIF/JUnit/CSV exports of a whole run)."""
    query = select(A).where(A.c.run_id == run_id)
    if statuses:
        query = query.where(A.c.status.in_(list(statuses)))
    with db.read() as conn:
        ensure_hot(conn, run_id)
        return [_row(r) for r in conn.execute(query.order_by(A.c.run_id, A.c.id))]
