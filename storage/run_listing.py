"""Listing runs newest first, and one run in detail (history, scores, timings, warnings).

Split from storage.queries (which re-exports these names). Runs are keyset-paged on
``(requested_at, run_id)`` descending, a total order, so pages never overlap or skip a run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from storage.cursors import decode_cursor, encode_cursor
from storage.db import Database
from storage.enums import RunState
from storage.models import history_shown, to_utc
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.query_model import Page, QueryError, RunQuery
from storage.run_lookup import _get_run, _history, _require_cluster, _row, _scores, run_warnings


def run_filters(q: RunQuery) -> list[Any]:
    """The WHERE clauses of a run listing (cluster, states, triggers, since): one definition for
    the page and for counting what follows it (storage.counts)."""
    clauses: list[Any] = []
    if q.cluster_id is not None:
        clauses.append(R.c.cluster_id == q.cluster_id)
    if q.state:
        clauses.append(R.c.state.in_(q.state))
    if q.trigger:
        clauses.append(R.c.trigger.in_(q.trigger))
    if q.since is not None:
        clauses.append(R.c.requested_at >= to_utc(q.since))
    return clauses


def list_run_page(db: Database, q: RunQuery) -> Page:
    """Runs newest first, keyset-paged on ``(requested_at, run_id)``; each with its history row."""
    query = select(R).where(*run_filters(q))
    if q.cursor:
        at, run_id = decode_cursor(q.cursor, q.fingerprint(), 2)
        try:
            last = to_utc(datetime.fromisoformat(at))
        except (ValueError, OverflowError):
            raise QueryError("invalid cursor: pass the next_cursor value of a previous page unchanged") from None
        query = query.where(or_(R.c.requested_at < last, and_(R.c.requested_at == last, R.c.run_id < run_id)))
    query = query.order_by(R.c.requested_at.desc(), R.c.run_id.desc())
    if q.limit:
        query = query.limit(q.limit + 1)
    if q.offset:
        query = query.offset(q.offset)
    with db.read() as conn:
        if q.cluster_id is not None:
            _require_cluster(conn, q.cluster_id)
        runs = [_row(r) for r in conn.execute(query)]
        more = bool(q.limit) and len(runs) > q.limit
        runs = runs[: q.limit] if q.limit else runs
        ids = [r["run_id"] for r in runs]
        shown = conn.execute(select(*history_shown).where(H.c.run_id.in_(ids))) if ids else []
        hist = {r.run_id: _history(r) for r in shown}
        empty = not runs and conn.execute(select(R.c.run_id).limit(1)).first() is None
    for r in runs:
        r["history"] = hist.get(r["run_id"])
        r["warnings"] = run_warnings(r, r["history"])
    cursor = (
        encode_cursor(q.fingerprint(), [runs[-1]["requested_at"].isoformat(), runs[-1]["run_id"]]) if more else None
    )
    return Page(items=runs, limit=q.limit, offset=q.offset, next_cursor=cursor, scope={"empty_database": empty})


def run_detail(db: Database, run_id: str) -> dict[str, Any]:
    """One run in full: its row, history (per-pillar breakdown, scores), timings and warnings."""
    with db.read() as conn:
        run = _get_run(conn, run_id)
        history = _history(conn.execute(select(*history_shown).where(H.c.run_id == run_id)).first())
    scores = _scores(db, run_id, history)
    started, completed = run.get("started_at"), run.get("completed_at")
    timings = {
        "requested_at": run["requested_at"],
        "started_at": started,
        "completed_at": completed,
        "queued_ms": int((started - run["requested_at"]).total_seconds() * 1000) if started else None,
        "duration_ms": (history or {}).get("duration_ms")
        or (int((completed - started).total_seconds() * 1000) if started and completed else None),
    }
    warnings = run_warnings(run, history)
    return {
        "run": run,
        "history": history,
        "scores": scores,
        "timings": timings,
        "warnings": warnings,
        "warning_indicator": run["state"] == RunState.COMPLETED.value and bool(warnings),
    }
