"""The queue of requested runs: deduplication, arrival order, and who is waiting or active.

Deduplication (docs/lifecycle.md#dedup): identical requests for the same scope share one run. The
database enforces it: a partial unique index on ``runs.dedup_key`` covers only queued and running
runs, so of two identical requests racing each other exactly one inserts and the other gets the
first's id. Arrival order (docs/lifecycle.md#slots): Prefect's concurrency limits do not hand out
slots in order, so a waiting run checks :func:`waiting_ahead` before it takes them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, or_, select

from storage.db import Database
from storage.enums import RunState
from storage.models import runs_table as R
from storage.phases import ACTIVE
from storage.runs import create_run

STARTING_GRACE = timedelta(seconds=30)


def dedup_key(cluster_id: str, scope: str, pillars: Iterable[str], check_ids: Iterable[str], source: str) -> str:
    """Same cluster, same scope, same checks, same source: the same request."""
    payload = json.dumps(
        [cluster_id, scope, sorted(pillars), sorted(check_ids), source], separators=(",", ":"), sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def enqueue_run(
    db: Database,
    *,
    force_new: bool = False,
    parameters: Mapping[str, Any] | None = None,
    **create: Any,
) -> tuple[dict[str, Any], bool]:
    """Create a queued run, or return the identical queued/running one: ``(run, created)``."""
    key = (
        None
        if force_new
        else dedup_key(
            create["cluster_id"],
            create["scope"],
            create.get("pillars") or [],
            create.get("check_ids") or [],
            create.get("source") or "",
        )
    )
    try:
        run = create_run(db, dedup_key=key, parameters=dict(parameters or {}), **create)
    except ValueError:
        if key is None:
            raise
        existing = active_duplicate(db, key)
        if existing is None:  # it finished between our insert and this lookup: try once more
            return create_run(db, dedup_key=key, parameters=dict(parameters or {}), **create), True
        return existing, False
    return run, True


def run_for_flow_run(db: Database, flow_run_id: str) -> str | None:
    """The kwa run a Prefect flow run executes (deployment runs create their kwa run themselves)."""
    with db.read() as conn:
        return conn.execute(select(R.c.run_id).where(R.c.prefect_flow_run_id == str(flow_run_id))).scalar()


def active_duplicate(db: Database, key: str) -> dict[str, Any] | None:
    with db.read() as conn:
        row = conn.execute(select(R).where(R.c.dedup_key == key, R.c.state.in_(ACTIVE))).first()
    return dict(row._mapping) if row is not None else None


def waiting_ahead(db: Database, run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Runs waiting for a slot that were requested before ``run``, with whether their cluster is busy.

    Prefect's concurrency limits do not hand slots out in arrival order; the flow waits until no
    older run that could start is ahead of it, so queued runs start in the order they were
    requested, and a run held back by its own busy cluster never holds back other clusters.
    Each row: ``run_id``, ``cluster_id``, ``runner`` and ``cluster_busy``. Runs still in phase
    ``queued`` count for :data:`STARTING_GRACE` after they were requested.
    """
    earlier = or_(
        R.c.requested_at < run["requested_at"],
        and_(R.c.requested_at == run["requested_at"], R.c.run_id < run["run_id"]),
    )
    # A run requested moments ago whose runner has not reached "waiting" yet (its process is
    # starting) keeps its place too; one that never starts stops holding the queue after a while.
    starting = and_(R.c.phase == "queued", R.c.requested_at >= run["requested_at"] - STARTING_GRACE)
    query = select(R.c.run_id, R.c.cluster_id, R.c.runner).where(
        R.c.state == RunState.QUEUED.value, or_(R.c.phase == "waiting", starting), earlier
    )
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        busy = {r[0] for r in conn.execute(select(R.c.cluster_id).where(R.c.state == RunState.RUNNING.value))}
    for r in rows:
        r["cluster_busy"] = r["cluster_id"] in busy
    return rows


def active_runs(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(R).where(R.c.state.in_(ACTIVE)))]


__all__ = [
    "STARTING_GRACE",
    "active_duplicate",
    "active_runs",
    "dedup_key",
    "enqueue_run",
    "run_for_flow_run",
    "waiting_ahead",
]
