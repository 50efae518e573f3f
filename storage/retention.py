"""Removing finished runs: one by id, or every run completed before a cutoff.

Only terminal runs are removed (an active run is aborted first), together with their results and
history row; runs that were rerun or resumed from a removed run keep existing, unlinked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from storage.archive import prune_contents
from storage.db import Database
from storage.enums import TERMINAL, is_terminal
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.runs import RunNotFound, get_run


def delete_run(db: Database, run_id: str) -> None:
    """Remove a finished run with its results and history row (foreign keys cascade)."""
    run = get_run(db, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if not is_terminal(run["state"]):
        raise ValueError(f"run {run_id} is {run['state']}: abort it before deleting it")
    with db.begin() as conn:
        _delete_children(conn, [run_id])
        conn.execute(delete(R).where(R.c.run_id == run_id))


def prune_runs(db: Database, older_than: timedelta, now: datetime | None = None) -> list[str]:
    """Delete finished runs completed before ``now - older_than``; returns their ids."""
    cutoff = (now or datetime.now(UTC)) - older_than
    with db.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                select(R.c.run_id).where(R.c.state.in_([s.value for s in TERMINAL]), R.c.completed_at < cutoff)
            )
        ]
        if ids:
            _delete_children(conn, ids)
            conn.execute(delete(R).where(R.c.run_id.in_(ids)))
            prune_contents(conn)  # archived results no remaining run has
    return ids


def _delete_children(conn: Any, run_ids: list[str]) -> None:
    # Explicit deletes rather than trusting ON DELETE CASCADE: a SQLite connection opened
    # elsewhere without foreign_keys=ON would otherwise leave orphans behind.
    conn.execute(delete(A).where(A.c.run_id.in_(run_ids)))
    conn.execute(delete(AR).where(AR.c.run_id.in_(run_ids)))
    conn.execute(delete(H).where(H.c.run_id.in_(run_ids)))
    conn.execute(update(R).where(R.c.rerun_of.in_(run_ids)).values(rerun_of=None))
    conn.execute(update(R).where(R.c.resume_of.in_(run_ids)).values(resume_of=None))


__all__ = ["delete_run", "prune_runs"]
