"""Run phases: where an active run is, finer than its state (docs/lifecycle.md#phases).

::

    queued ─► waiting (for a concurrency slot) ─► initializing (connecting, reading the snapshot)
           ─► running (checks executing) ─► completed | partial | failed | aborted

``queued`` and ``waiting`` belong to state ``queued``; ``initializing`` and ``running`` to state
``running``. Each phase records when it was entered. Terminal phases equal the terminal state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from storage.db import Database
from storage.enums import RunState, is_terminal
from storage.models import runs_table as R
from storage.runs import RunNotFound

PHASES = ("queued", "waiting", "initializing", "running")
# "initializing" starts when the run leaves the queue (runs.started_at, set by start_run).
PHASE_COLUMNS = {"waiting": "waiting_at", "running": "running_at"}
# The states in which a run has a phase of its own (and may still change).
ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)


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
    if is_terminal(run["state"]):
        return str(run["state"])
    return str(run.get("phase") or run["state"])


def phases(run: Mapping[str, Any]) -> list[tuple[str, datetime | None]]:
    """Each phase the run went through, with the time it was entered (its timeline)."""
    out: list[tuple[str, datetime | None]] = [("queued", run.get("requested_at"))]
    if run.get("waiting_at"):
        out.append(("waiting", run["waiting_at"]))
    if run.get("started_at"):
        out.append(("initializing", run["started_at"]))
    if run.get("running_at"):
        out.append(("running", run["running_at"]))
    if is_terminal(run["state"]):
        out.append((run["state"], run.get("completed_at")))
    return out


__all__ = ["ACTIVE", "PHASES", "PHASE_COLUMNS", "phase_of", "phases", "set_phase"]
