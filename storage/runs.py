"""Run lifecycle: create, start, finish, fail, abort — with the transitions guarded in the database.

Every state change is one conditional ``UPDATE runs … WHERE run_id = ? AND state IN (allowed)``
whose row count decides: zero rows means the run is missing (:class:`RunNotFound`) or in a state
the transition is not allowed from (:class:`InvalidTransition`). So two processes racing to end
the same run cannot both win, and a terminal run never changes again. Allowed::

    queued  → running | failed | aborted
    running → completed | partial | failed | aborted

Entering a terminal state writes the run's ``assessment_history`` row in the same transaction,
counting its results and computing its scores (:mod:`storage.scores`) from one ``GROUP BY`` over
``assessments``.

Timestamps are aware UTC datetimes; run dicts have one key per ``runs`` column.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from redaction import redact, redact_obj
from storage import reserve
from storage.db import Database, StorageUnavailable
from storage.enums import ALLOWED_TRANSITIONS, TERMINAL, RunState, Scope, Trigger, is_terminal
from storage.models import assessments_table as A
from storage.models import history_shown, to_utc
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.row_tally import history_values
from storage.scores import Tally, compute_for_run, tally

__all__ = [
    "TERMINAL",
    "InvalidTransition",
    "RunNotFound",
    "RunState",
    "abort_run",
    "create_run",
    "fail_run",
    "finish_run",
    "get_history",
    "get_run",
    "is_terminal",
    "list_runs",
    "new_run_id",
    "start_run",
]


class RunNotFound(LookupError):
    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id} does not exist")
        self.run_id = run_id


class InvalidTransition(Exception):
    """A state change storage does not allow (for example anything out of a terminal state)."""

    def __init__(self, run_id: str, current: str, requested: str) -> None:
        self.run_id, self.current, self.requested = run_id, current, requested
        suffix = " (terminal states never change)" if current in {s.value for s in TERMINAL} else ""
        super().__init__(f"run {run_id} is {current}: cannot move it to {requested}{suffix}")


def _now() -> datetime:
    return datetime.now(UTC)


def new_run_id(now: datetime | None = None) -> str:
    """``run_<YYYYMMDD>_<HHMMSS>_<6 random hex>``, the timestamp in UTC."""
    stamp = to_utc(now) if now is not None else _now()
    return f"run_{stamp:%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"


def _strings(values: Iterable[Any] | None, what: str) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of strings, not a string")
    return [str(getattr(v, "value", v)) for v in values]


def _enum_value(enum: type, value: Any, what: str) -> str:
    try:
        return enum(getattr(value, "value", value)).value
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ValueError(f"invalid {what} {value!r} (expected one of: {allowed})") from None


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def create_run(
    db: Database,
    *,
    scope: str,
    pillars: Iterable[str] | None,
    check_ids: Iterable[str] | None,
    cluster_id: str,
    source: str,
    trigger: str,
    run_id: str | None = None,
    requested_at: datetime | None = None,
    rerun_of: str | None = None,
    resume_of: str | None = None,
    config_hash: str | None = None,
    dedup_key: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Insert a ``queued`` run and return it as a dict.

    ``dedup_key`` makes an identical queued/running run a conflict (see storage.queue);
    ``parameters`` are the flow parameters a rerun repeats.
    """
    requested = to_utc(requested_at) if requested_at is not None else _now()
    values: dict[str, Any] = {
        "run_id": run_id or new_run_id(requested),
        "state": RunState.QUEUED.value,
        "scope": _enum_value(Scope, scope, "scope"),
        "pillars": _strings(pillars, "pillars"),
        "check_ids": _strings(check_ids, "check_ids"),
        "cluster_id": str(cluster_id),
        "source": source or "",
        "trigger": _enum_value(Trigger, trigger, "trigger"),
        "requested_at": requested,
        "started_at": None,
        "completed_at": None,
        "error": None,
        "prefect_flow_run_id": None,
        "config_hash": config_hash,
        "rerun_of": rerun_of,
        "resume_of": resume_of,
        "summary": None,
        "phase": "queued",
        "waiting_at": None,
        "running_at": None,
        "parameters": dict(parameters) if parameters is not None else None,
        "dedup_key": dedup_key,
        "runner": None,
        "prefect_sync": None,
        "slot_lease": None,
    }
    try:
        with db.begin() as conn:
            conn.execute(insert(R).values(**values))
    except IntegrityError as exc:
        raise ValueError(f"cannot create run {values['run_id']}: {exc.orig}") from exc
    reserve.ensure(db)  # so that this run can record its end even if it fills the disk
    return values


def get_run(db: Database, run_id: str) -> dict[str, Any] | None:
    with db.read() as conn:
        row = conn.execute(select(R).where(R.c.run_id == run_id)).first()
    return _row(row) if row is not None else None


def list_runs(
    db: Database,
    *,
    cluster_id: str | None = None,
    state: str | Iterable[str] | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Runs, newest request first."""
    query = select(R)
    if cluster_id is not None:
        query = query.where(R.c.cluster_id == cluster_id)
    if state is not None:
        states = [state] if isinstance(state, str | RunState) else list(state)
        query = query.where(R.c.state.in_([_enum_value(RunState, s, "state") for s in states]))
    if since is not None:
        query = query.where(R.c.requested_at >= to_utc(since))
    query = query.order_by(R.c.requested_at.desc(), R.c.run_id.desc()).limit(limit).offset(offset)
    with db.read() as conn:
        return [_row(r) for r in conn.execute(query)]


def get_history(db: Database, run_id: str) -> dict[str, Any] | None:
    with db.read() as conn:
        row = conn.execute(select(*history_shown).where(H.c.run_id == run_id)).first()
    return _row(row) if row is not None else None


def start_run(db: Database, run_id: str, prefect_flow_run_id: str | None = None) -> dict[str, Any]:
    """queued → running; sets ``started_at`` (and the Prefect flow run id when given)."""
    values: dict[str, Any] = {"started_at": _now()}
    if prefect_flow_run_id is not None:
        values["prefect_flow_run_id"] = str(prefect_flow_run_id)
    return _transition(db, run_id, RunState.RUNNING, (RunState.QUEUED,), values)


def finish_run(
    db: Database,
    run_id: str,
    state: str | RunState,
    error: str | None = None,
    history: Mapping[str, Any] | None = None,
    *,
    summary: Mapping[str, Any] | None = None,
    tallies: list[Tally] | None = None,
) -> dict[str, Any]:
    """running → completed | partial | failed | aborted, writing the history row.

    ``history`` may carry the check-level numbers the runner knows (``checks_total``,
    ``checks_executed``, ``checks_errored``, ``checks_timed_out``), ``duration_ms`` (default:
    completion minus start) and ``scores``; missing check-level numbers are derived from the
    stored results. ``summary`` is stored in ``runs.summary``. ``tallies``: the run's rows as
    its writer counted them (``ResultWriter.tallies``), used instead of counting them again when
    they add up to the rows the run has.
    """
    target = RunState(_enum_value(RunState, state, "state"))
    values: dict[str, Any] = {"error": error}
    if summary is not None:
        values["summary"] = dict(summary)
    return _transition(db, run_id, target, (RunState.RUNNING,), values, history, tallies)


def fail_run(db: Database, run_id: str, error: str, history: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """queued | running → failed, with ``error`` and a history row."""
    return _transition(db, run_id, RunState.FAILED, (RunState.QUEUED, RunState.RUNNING), {"error": error}, history)


def abort_run(db: Database, run_id: str, reason: str, history: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """queued | running → aborted, the reason kept in ``error``, with a history row."""
    return _transition(db, run_id, RunState.ABORTED, (RunState.QUEUED, RunState.RUNNING), {"error": reason}, history)


def _transition(
    db: Database,
    run_id: str,
    target: RunState,
    sources: tuple[RunState, ...],
    values: dict[str, Any],
    history: Mapping[str, Any] | None = None,
    tallies: list[Tally] | None = None,
) -> dict[str, Any]:
    allowed = [s.value for s in sources if target in ALLOWED_TRANSITIONS.get(s, ())]
    now = _now()
    values = {**values, "state": target.value}
    # The run's error and summary carry exception texts and API messages: never a credential.
    if isinstance(values.get("error"), str):
        values["error"] = redact(values["error"])
    if values.get("summary") is not None:
        values["summary"] = redact_obj(values["summary"])
    if target in TERMINAL:
        values["completed_at"] = now
    try:
        return _write_transition(db, run_id, target, allowed, values, history, now, tallies)
    except StorageUnavailable as exc:
        # A run that filled the disk must still record how it ended: free the reserve, try once more.
        if target in TERMINAL and reserve.is_disk_full(exc) and reserve.release(db):
            return _write_transition(db, run_id, target, allowed, values, history, now, tallies)
        raise


def _write_transition(
    db: Database,
    run_id: str,
    target: RunState,
    allowed: list[str],
    values: dict[str, Any],
    history: Mapping[str, Any] | None,
    now: datetime,
    tallies: list[Tally] | None = None,
) -> dict[str, Any]:
    with db.begin() as conn:
        updated = 0
        if allowed:
            result = conn.execute(update(R).where(R.c.run_id == run_id, R.c.state.in_(allowed)).values(**values))
            updated = result.rowcount
        if updated != 1:
            current = conn.execute(select(R.c.state).where(R.c.run_id == run_id)).scalar()
            if current is None:
                raise RunNotFound(run_id)
            raise InvalidTransition(run_id, current, target.value)
        run = _row(conn.execute(select(R).where(R.c.run_id == run_id)).one())
        if target in TERMINAL:
            _write_history(conn, run, now, history or {}, tallies)
    return run


def _write_history(
    conn: Connection,
    run: dict[str, Any],
    finished_at: datetime,
    given: Mapping[str, Any],
    counted: list[Tally] | None = None,
) -> None:
    # The writer's counts when they cover every row the run has (counting them is an index-only
    # scan; the GROUP BY reads every row: most of a 400,000-object run's exit), else one GROUP BY,
    # which serves both the counts and the scores (storage.scores.tally).
    tallies = counted if counted is not None and _covers(conn, run["run_id"], counted) else None
    if tallies is None:
        tallies = tally(conn, run["run_id"])
    values = history_values(run, tallies, finished_at, given, lambda: compute_for_run(conn, run, tallies))
    conn.execute(insert(H).values(**values))


def _covers(conn: Connection, run_id: str, tallies: list[Tally]) -> bool:
    """Whether ``tallies`` count as many rows as the run has (then they are its rows: one writer
    per run wrote and counted all of them, and the run is locked for this transaction)."""
    rows = conn.execute(select(func.count()).select_from(A).where(A.c.run_id == run_id)).scalar_one()
    return int(rows) == sum(t.verdicts + t.skipped for t in tallies)
