"""Run lifecycle beyond the state machine: phases, deduplication, retention, active-run lookups.

Phases (seed 003) refine the coarse run state without replacing it::

    queued ─► waiting (for a concurrency slot) ─► initializing (connecting, reading the snapshot)
           ─► running (checks executing) ─► completed | partial | failed | aborted

``queued`` and ``waiting`` belong to state ``queued``; ``initializing`` and ``running`` to state
``running``. Each phase records when it was entered. Terminal phases equal the terminal state.

Deduplication (seed 000: "duplicate requests for same scope may deduplicate") is enforced by the
database: a partial unique index on ``runs.dedup_key`` covers only queued and running runs, so of
two identical requests racing each other exactly one inserts and the other gets the first's id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.enums import TERMINAL, RunState
from storage.models import runs_table as R
from storage.runs import RunNotFound, create_run, get_run

PHASES = ("queued", "waiting", "initializing", "running")
# "initializing" starts when the run leaves the queue (runs.started_at, set by start_run).
PHASE_COLUMNS = {"waiting": "waiting_at", "running": "running_at"}
ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)
STARTING_GRACE = timedelta(seconds=30)


def dedup_key(cluster_id: str, scope: str, pillars: Iterable[str], check_ids: Iterable[str], source: str) -> str:
    """Same cluster, same scope, same checks, same source: the same request."""
    payload = json.dumps(
        [cluster_id, scope, sorted(pillars), sorted(check_ids), source], separators=(",", ":"), sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def request_run(
    db: Database,
    *,
    force_new: bool = False,
    parameters: Mapping[str, Any] | None = None,
    **create: Any,
) -> tuple[dict[str, Any], bool]:
    """Create a queued run, or return the identical queued/running one: ``(run, created)``."""
    key = None if force_new else dedup_key(
        create["cluster_id"], create["scope"], create.get("pillars") or [], create.get("check_ids") or [],
        create.get("source") or "",
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


def set_phase(db: Database, run_id: str, phase: str, **also: Any) -> bool:
    """Record that an active run entered ``phase``; False when the run has already ended.

    ``also`` may set ``prefect_flow_run_id``, ``runner`` (``host:pid``) and ``slot_lease`` (the
    Prefect lease of its concurrency slots) at the same time.
    """
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r} (one of {', '.join(PHASES)})")
    unknown = set(also) - {"prefect_flow_run_id", "runner", "slot_lease"}
    if unknown:
        raise ValueError(f"set_phase cannot set {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {"phase": phase, **{k: v for k, v in also.items() if v is not None}}
    if phase in PHASE_COLUMNS:
        values[PHASE_COLUMNS[phase]] = datetime.now(UTC)
    with db.begin() as conn:
        result = conn.execute(update(R).where(R.c.run_id == run_id, R.c.state.in_(ACTIVE)).values(**values))
        if result.rowcount == 0 and conn.execute(select(R.c.run_id).where(R.c.run_id == run_id)).first() is None:
            raise RunNotFound(run_id)
    return result.rowcount == 1


def phase_of(run: Mapping[str, Any]) -> str:
    """The run's phase: the recorded one while active, the state itself once terminal."""
    if run["state"] in {s.value for s in TERMINAL}:
        return str(run["state"])
    return str(run.get("phase") or run["state"])


def phases(run: Mapping[str, Any]) -> list[tuple[str, datetime | None]]:
    """Each phase the run went through, with the time it was entered (seed 003's timeline)."""
    out: list[tuple[str, datetime | None]] = [("queued", run.get("requested_at"))]
    if run.get("waiting_at"):
        out.append(("waiting", run["waiting_at"]))
    if run.get("started_at"):
        out.append(("initializing", run["started_at"]))
    if run.get("running_at"):
        out.append(("running", run["running_at"]))
    if run["state"] in {s.value for s in TERMINAL}:
        out.append((run["state"], run.get("completed_at")))
    return out


def is_terminal(run: Mapping[str, Any]) -> bool:
    return run["state"] in {s.value for s in TERMINAL}


def failing_results(db: Database, run_id: str, limit: int = 300, per_check: int = 20) -> list[dict[str, Any]]:
    """Failing rows of a run for reports and the UI's findings artifact: most severe check first
    (then check id, namespace, name), at most ``per_check`` rows per check and ``limit`` in all.

    Each row carries what a reader acts on: the check's name, severity, pillar and remediation,
    the object, container and message, where the object is (``source``, ``source_line``,
    ``field_line``, ``field_path``) and ``check_failing``, how many failing rows its check has in
    all (so a report can say "… and N more").
    """
    from sqlalchemy import case, func

    from storage.models import assessments_table as A

    rank = case({"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}, value=A.c.severity, else_=5)
    ns, name = func.coalesce(A.c.object_namespace, ""), func.coalesce(A.c.object_name, "")
    columns = (
        A.c.check_id,
        A.c.check_name,
        A.c.severity,
        A.c.pillar,
        A.c.object_kind,
        A.c.object_namespace,
        A.c.object_name,
        A.c.container,
        A.c.message,
        A.c.remediation,
        A.c.source,
        A.c.source_line,
        A.c.source_end_line,
        A.c.field_path,
        A.c.field_line,
    )
    numbered = (
        select(
            *columns,
            rank.label("rank"),
            func.row_number().over(partition_by=A.c.check_id, order_by=(ns, name, A.c.id)).label("n"),
            func.count().over(partition_by=A.c.check_id).label("check_failing"),
        )
        .where(A.c.run_id == run_id, A.c.status == "failing")
        .subquery()
    )
    query = (
        select(*(numbered.c[c.name] for c in columns), numbered.c.check_failing)
        .where(numbered.c.n <= per_check)
        .order_by(numbered.c.rank, numbered.c.check_id, numbered.c.n)
        .limit(limit)
    )
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def top_failing_checks(db: Database, run_id: str, limit: int = 10) -> list[tuple[str, str, int]]:
    """``(check_id, check_name, failing objects)`` for the checks that failed, most severe first,
    then by how many objects fail."""
    from sqlalchemy import case, func

    from storage.models import assessments_table as A

    rank = case({"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}, value=func.min(A.c.severity), else_=5)
    n = func.count()
    query = (
        select(A.c.check_id, A.c.check_name, n)
        .where(A.c.run_id == run_id, A.c.status == "failing")
        .group_by(A.c.check_id, A.c.check_name)
        .order_by(rank, n.desc(), A.c.check_id)
        .limit(limit)
    )
    with db.read() as conn:
        return [(r[0], r[1], int(r[2])) for r in conn.execute(query)]


def waiting_ahead(db: Database, run: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Runs waiting for a slot that were requested before ``run``, with whether their cluster is busy.

    Prefect's concurrency limits do not hand slots out in arrival order; the flow waits until no
    older run that could start is ahead of it, so queued runs start in the order they were
    requested, and a run held back by its own busy cluster never holds back other clusters.
    Each row: ``run_id``, ``cluster_id``, ``runner`` and ``cluster_busy``. Runs still in phase
    ``queued`` count for :data:`STARTING_GRACE` after they were requested.
    """
    from sqlalchemy import and_, or_

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


def delete_run(db: Database, run_id: str) -> None:
    """Remove a finished run with its results and history row (foreign keys cascade)."""
    run = get_run(db, run_id)
    if run is None:
        raise RunNotFound(run_id)
    if not is_terminal(run):
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
    return ids


def _delete_children(conn: Any, run_ids: list[str]) -> None:
    # Explicit deletes rather than trusting ON DELETE CASCADE: a SQLite connection opened
    # elsewhere without foreign_keys=ON would otherwise leave orphans behind.
    from storage.models import assessments_table as A
    from storage.models import history_table as H

    conn.execute(delete(A).where(A.c.run_id.in_(run_ids)))
    conn.execute(delete(H).where(H.c.run_id.in_(run_ids)))
    conn.execute(update(R).where(R.c.rerun_of.in_(run_ids)).values(rerun_of=None))
    conn.execute(update(R).where(R.c.resume_of.in_(run_ids)).values(resume_of=None))


__all__ = [
    "ACTIVE",
    "PHASES",
    "PREFECT_SYNC_PENDING",
    "IntegrityError",
    "active_duplicate",
    "active_runs",
    "dedup_key",
    "delete_run",
    "failing_results",
    "is_terminal",
    "phase_of",
    "phases",
    "prefect_sync_pending",
    "prune_runs",
    "request_run",
    "run_for_flow_run",
    "set_phase",
    "set_prefect_sync",
    "top_failing_checks",
    "waiting_ahead",
]
