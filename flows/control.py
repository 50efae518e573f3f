"""Controlling runs: abort, rerun, resume, wait, watch, logs, reap, delete, prune.

These act on runs (they start flows, cancel Prefect flow runs, read Prefect's logs), so they
belong to the orchestration layer; what the commands print (the live progress table, log lines)
lives in the presentation layer (``kwa/``, ``cli/``). The rules they follow: docs/lifecycle.md
(#abort, #rerun-resume, #follow, #reaper).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.runlog import KWA_LOGGER_NAMES
from flows.runners import runner_dead
from storage.db import Database
from storage.enums import is_terminal
from storage.grades import age_text
from storage.queue import active_runs
from storage.runs import InvalidTransition, RunNotFound, abort_run, fail_run, get_run

POLL_SECONDS = 0.5


class ControlError(Exception):
    """An expected problem (unknown run, wrong state): the CLI prints it without a traceback."""


class RunMissing(ControlError):
    """No such run (exit code 7, like the query commands)."""


def require_run(db: Database, run_id: str) -> dict[str, Any]:
    run = get_run(db, run_id)
    if run is None:
        raise RunMissing(f"no run {run_id!r} (list runs with: kwa runs list)")
    return run


# ---- abort ------------------------------------------------------------------------------------------


def abort(db: Database, run_id: str, reason: str = "aborted by kwa runs abort") -> dict[str, Any]:
    """End a queued or running run as ``aborted`` and cancel its Prefect flow run.

    kwa's row is ended first (guarded: a terminal run never changes), so a run executing in any
    process sees it within a second and stops; results of checks that finished stay, checks that
    had not finished leave no result. The Prefect flow run is set to Cancelling so a worker kills
    deployment runs and the UI shows the cancellation.
    """
    run = require_run(db, run_id)
    if is_terminal(run["state"]):
        raise ControlError(f"run {run_id} already ended {run['state']}; terminal runs never change")
    try:
        run = abort_run(db, run_id, reason)
    except InvalidTransition as exc:
        raise ControlError(str(exc)) from None
    if run.get("prefect_flow_run_id"):
        cancel_flow_run(run["prefect_flow_run_id"])
    return run


def cancel_flow_run(flow_run_id: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
        if state is not None and not state.is_final():
            client.set_flow_run_state(flow_run_id, Cancelling(message="aborted from kwa"), force=True)


# ---- rerun / resume ----------------------------------------------------------------------------------


def rerun_parameters(db: Database, run_id: str, only_unfinished: bool) -> tuple[dict[str, Any], list[str]]:
    """The original run's flow parameters, and (for resume) the checks still owed."""
    run = require_run(db, run_id)
    if not is_terminal(run["state"]):
        raise ControlError(f"run {run_id} is still {run['state']}; wait for it or abort it first")
    params = dict(run.get("parameters") or {})
    if not params.get("source"):
        raise ControlError(f"run {run_id} has no recorded parameters to repeat (it predates kwa's run lifecycle)")
    checks = list(run.get("check_ids") or [])
    if only_unfinished:
        done = executed_checks(db, run_id)
        checks = [c for c in checks if c not in done]
        if not checks:
            raise ControlError(f"run {run_id}: every check executed; nothing to resume (use rerun to repeat it)")
    return params, checks


def executed_checks(db: Database, run_id: str) -> set[str]:
    """Checks with at least one result that is not error/timeout: they ran to completion."""
    from sqlalchemy import select

    from storage.archive import ensure_hot
    from storage.models import assessments_table as A

    query = select(A.c.check_id).where(A.c.run_id == run_id, A.c.status.notin_(("error", "timeout"))).distinct()
    with db.read() as conn:
        ensure_hot(conn, run_id)
        return {r[0] for r in conn.execute(query)}


# ---- wait / watch ------------------------------------------------------------------------------------


def wait(db: Database, run_id: str, timeout: float | None = None) -> dict[str, Any]:
    """Block until the run is terminal (or ``timeout`` seconds pass); returns the run."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        _interrupted()
        run = require_run(db, run_id)
        if is_terminal(run["state"]):
            return run
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"run {run_id} is still {run.get('phase') or run['state']} after {timeout:g}s")
        time.sleep(POLL_SECONDS)


def _interrupted() -> None:
    """A SIGINT/SIGTERM handled by kwa (flows.signals) stops waiting as KeyboardInterrupt would."""
    from flows import signals

    if signals.stop_reason():
        raise KeyboardInterrupt


def progress(db: Database, run_id: str) -> dict[str, Any]:
    """Per pillar: checks done / total and status counts, read from what the run has persisted."""
    from sqlalchemy import func, select

    from checks.registry import load_all
    from storage.models import assessments_table as A

    run = require_run(db, run_id)
    registry = load_all()
    pillars: dict[str, dict[str, Any]] = {}
    for check_id in run.get("check_ids") or []:
        pillar = registry.by_id(check_id).pillar.value if check_id in registry else "other"
        entry = pillars.setdefault(pillar, {"total": 0, "done": set(), "counts": {}})
        entry["total"] += 1
    query = (
        select(A.c.pillar, A.c.check_id, A.c.status, func.count())
        .where(A.c.run_id == run_id)
        .group_by(A.c.pillar, A.c.check_id, A.c.status)
    )
    with db.read() as conn:
        for pillar, check_id, status, n in conn.execute(query):
            entry = pillars.setdefault(pillar, {"total": 0, "done": set(), "counts": {}})
            entry["done"].add(check_id)
            entry["counts"][status] = entry["counts"].get(status, 0) + n
    return {"run": run, "pillars": {p: {**e, "done": len(e["done"])} for p, e in pillars.items()}}


# ---- logs ----------------------------------------------------------------------------------------------

# kwa's own lines go through flows.runlog's loggers (KWA_LOGGER_NAMES): flow-level lines (the run's
# and each pillar's outcome) and check-task lines (what a check found).
# Prefect's own per-task lines ("Finished in state Completed()", a failed task's traceback): what a
# check found is in kwa's line for it, so these are shown only under --verbose.
PREFECT_TASK_LOGGER = "prefect.task_runs"
LOG_PAGE = 200  # the most the Prefect API serves per request


def is_kwa_line(name: str | None) -> bool:
    return bool(name) and any(name == n or name.startswith(n + ".") for n in KWA_LOGGER_NAMES)


def shown_by_default(record: Mapping[str, Any]) -> bool:
    """kwa's own lines, and warnings or errors from anything but Prefect's per-task loggers (a
    flow that crashed, the Prefect API going away, a failure before any check ran)."""
    name = str(record.get("name") or "")
    if is_kwa_line(name):
        return True
    task_chatter = name == PREFECT_TASK_LOGGER or name.startswith(PREFECT_TASK_LOGGER + ".")
    return not task_chatter and int(record.get("level") or 0) >= logging.WARNING


@dataclass
class LogTally:
    """What :func:`logs` read and left out (filled while its records are consumed)."""

    read: int = 0
    shown: int = 0
    kwa: int = 0
    hidden_problems: int = 0  # warnings and errors among the lines left out

    @property
    def hidden(self) -> int:
        return self.read - self.shown


def logs(
    db: Database, run_id: str, check_id: str | None = None, verbose: bool = False, tally: LogTally | None = None
) -> Iterator[dict[str, Any]]:
    """The run's log lines (its flow run, pillar subflows and check tasks), or one check's, oldest
    first, read from Prefect a page at a time as they are consumed.

    By default kwa's own lines (:data:`KWA_LOGGER_NAMES`: what each check found, each pillar's and
    the run's outcome) and warnings or errors that are not Prefect's per-task lines; with
    ``verbose`` every line. Each record: ``timestamp``, ``level``, ``name`` (the logger),
    ``message``, ``where`` (``run``, the pillar, or the check id), ``kwa`` (one of kwa's own lines),
    ``flow_run_id``, ``task_run_id``. Logs grow while the run is active and are frozen once it ends.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
        LogFilterTaskRunId,
        TaskRunFilter,
        TaskRunFilterName,
    )
    from prefect.client.schemas.sorting import LogSort

    tally = tally if tally is not None else LogTally()
    run = require_run(db, run_id)
    flow_run_id = run.get("prefect_flow_run_id")
    if not flow_run_id:
        raise ControlError(f"run {run_id} has not started in Prefect yet: no logs")
    wanted = check_id.strip().upper() if check_id else None
    if wanted and wanted not in (run.get("check_ids") or []):
        checks = ", ".join(run.get("check_ids") or []) or "none"
        raise ControlError(f"check {wanted} is not part of run {run_id} (its checks: {_shorten(checks)})")
    with get_client(sync_client=True) as client:
        children = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id]))
        )
        where = {flow_run_id: "run", **{str(c.id): c.name for c in children}}
        flow_ids = list(where)
        in_run = FlowRunFilter(id=FlowRunFilterId(any_=flow_ids))
        tasks = _task_runs(client, in_run, wanted, TaskRunFilter, TaskRunFilterName)
        where.update({str(t.id): t.name for t in tasks})
        if wanted:
            if not tasks:
                raise ControlError(f"run {run_id} has no task run for check {wanted} (it did not start in Prefect)")
            log_filter = LogFilter(task_run_id=LogFilterTaskRunId(any_=[t.id for t in tasks]))
        else:
            log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=flow_ids))
        offset = 0
        while True:
            page = client.read_logs(log_filter=log_filter, limit=LOG_PAGE, offset=offset, sort=LogSort.TIMESTAMP_ASC)
            offset += len(page)
            for r in page:
                record = {
                    "timestamp": r.timestamp,
                    "level": r.level,
                    "name": r.name,
                    "message": r.message,
                    "where": where.get(str(r.task_run_id or ""), where.get(str(r.flow_run_id or ""), "run")),
                    "kwa": is_kwa_line(r.name),
                    "flow_run_id": str(r.flow_run_id) if r.flow_run_id else None,
                    "task_run_id": str(r.task_run_id) if r.task_run_id else None,
                }
                tally.read += 1
                tally.kwa += record["kwa"]
                if verbose or shown_by_default(record):
                    tally.shown += 1
                    yield record
                elif r.level >= logging.WARNING:
                    tally.hidden_problems += 1
            if len(page) < LOG_PAGE:
                return


def _task_runs(client: Any, flows: Any, name: str | None, task_filter: Any, name_filter: Any) -> list[Any]:
    """The task runs of these flow runs (of one check, with ``name``), every page."""
    found: list[Any] = []
    while True:
        page = client.read_task_runs(
            flow_run_filter=flows,
            task_run_filter=task_filter(name=name_filter(any_=[name])) if name else None,
            limit=LOG_PAGE,
            offset=len(found),
        )
        found += page
        if len(page) < LOG_PAGE:
            return found


def _shorten(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ---- reaper --------------------------------------------------------------------------------------------


def reap(db: Database, grace: timedelta = timedelta(minutes=10)) -> list[tuple[str, str]]:
    """Give every run a true terminal state, and Prefect's flow runs kwa's; returns ``(run_id, what
    was done)`` pairs.

    An active run is ended when its Prefect flow run ended (its state says how: Cancelled →
    ``aborted`` with its reason, Failed or Crashed → ``failed`` with its message, which is how a run
    whose end kwa's database could not take at the time gets it now), when its flow run no longer
    exists, when the process that executed it on this host has died (SIGKILL, OOM: no hook runs
    then) — "runner lost" — or when it never reached Prefect and was requested longer ago than
    ``grace``. Then every terminal run whose Prefect flow run does not mirror it yet
    (``prefect_sync`` pending: the API was gone when it ended) has its flow run's state set.
    Without an answering Prefect API only this host's evidence counts, and the flow runs wait
    for a later reap.
    """
    from flows import prefect_link
    from flows.slots import release_lease
    from storage.prefect_sync import prefect_sync_pending, set_prefect_sync

    done: list[tuple[str, str]] = []
    now = datetime.now(UTC)
    with _prefect_client() as client:
        for run in active_runs(db):
            verdict = _verdict(client, run, now, grace)
            if verdict is None:
                continue
            kind, message = verdict
            try:
                ended = (abort_run if kind == "aborted" else fail_run)(db, run["run_id"], message)
            except (InvalidTransition, RunNotFound):
                continue  # it ended by itself meanwhile
            done.append((run["run_id"], f"{kind}: {message}"))
            if client is not None:
                release_lease(client, ended.get("slot_lease"))  # its process cannot give its slots back
            if ended.get("prefect_flow_run_id") and not _mirror(client, ended):
                set_prefect_sync(db, run["run_id"], True)
        if client is not None:
            for run in prefect_sync_pending(db):
                try:
                    what = prefect_link.reconcile(client, run)
                except Exception:
                    continue  # the API failed again: the next reap tries again
                set_prefect_sync(db, run["run_id"], False)
                release_lease(client, run.get("slot_lease"))  # its own release may have failed too
                if what:
                    done.append((run["run_id"], what))
    return done


@contextlib.contextmanager
def _prefect_client() -> Any:
    """A sync Prefect client when the API answers, else None (the reaper then works without it)."""
    from flows import prefect_link

    if not prefect_link.answering(timeout=2.0):
        yield None
        return
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        yield client


def _mirror(client: Any, run: dict[str, Any]) -> bool:
    from flows import prefect_link

    if client is None:
        return False
    try:
        prefect_link.reconcile(client, run)
    except Exception:
        return False
    return True


def _verdict(client: Any, run: dict[str, Any], now: datetime, grace: timedelta) -> tuple[str, str] | None:
    from prefect.exceptions import ObjectNotFound

    flow_run_id = run.get("prefect_flow_run_id")
    state = None
    if client is not None and flow_run_id:
        try:
            state = client.read_flow_run(flow_run_id).state
        except ObjectNotFound:
            return "failed", "runner lost: its Prefect flow run no longer exists"
        except Exception:
            state = None  # the API failed mid-reap: this host's evidence still counts
    if state is not None and state.is_final():
        if state.is_cancelled():
            return "aborted", state.message or "cancelled in Prefect before kwa recorded it"
        if state.is_crashed():  # its process died under Prefect's runner (a worker saw it go)
            return "failed", f"runner lost: its flow run crashed: {state.message or state.name}"
        if state.is_failed() and state.message:
            return "failed", state.message
        return "failed", f"runner lost: its Prefect flow run ended {state.name} without recording an outcome"
    if runner_dead(run.get("runner")):
        return "failed", "runner lost: the process executing the run is gone"
    if not flow_run_id and now - run["requested_at"] > grace:
        return "failed", f"runner lost: never started within {age_text(grace)}"
    return None

