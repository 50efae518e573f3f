"""Runs whose Prefect flow run does not mirror kwa's state yet (docs/lifecycle.md#reaper).

When the Prefect API is unreachable as a run ends, kwa's database still records the end; the run
is marked here, and ``kwa runs reap`` sets the flow run's state once the API answers, then clears
the mark.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from storage.db import Database
from storage.models import runs_table as R
from storage.phases import ACTIVE

PREFECT_SYNC_PENDING = "pending"


def set_prefect_sync(db: Database, run_id: str, pending: bool) -> None:
    """Mark (or clear) that the run's Prefect flow run does not mirror kwa's state yet.

    Set when the Prefect API was unreachable as the run ended; ``kwa runs reap`` reconciles the
    flow run and clears it. Allowed on terminal runs: it records Prefect's lag, not kwa's state.
    """
    with db.begin() as conn:
        conn.execute(
            update(R).where(R.c.run_id == run_id).values(prefect_sync=PREFECT_SYNC_PENDING if pending else None)
        )


def prefect_sync_pending(db: Database) -> list[dict[str, Any]]:
    """Terminal runs whose Prefect flow run still has to be set to mirror their state."""
    query = select(R).where(R.c.prefect_sync == PREFECT_SYNC_PENDING, R.c.state.notin_(ACTIVE))
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


__all__ = ["PREFECT_SYNC_PENDING", "prefect_sync_pending", "set_prefect_sync"]
