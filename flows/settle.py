"""Running a requested run in this process, and settling how it ended.

``execute`` runs the assessment flow; ``settle`` then makes kwa's stored state and the Prefect
flow run agree with how the run really ended: when kwa's database could not take the terminal
state (disk full, locked) it is tried once more and the user is told what `kwa runs reap` will
record; when the Prefect API went away, the flow run is set to mirror kwa's state if the API
answers again, else the run is marked for the reaper (``runs.prefect_sync``).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from storage.enums import TERMINAL


@dataclass
class Ending:
    """How an executed run ended, as far as this process knows: its real state and message, and
    what kwa's database and Prefect could not record (shown to the user, fixed by the reaper)."""

    state: str
    message: str | None = None
    unstored: str | None = None  # why kwa's database still shows the run active
    prefect_pending: bool = False  # the flow run does not mirror the run yet


def execute(
    db: Any,
    run_id: str,
    parameters: dict[str, Any],
    *,
    cluster_id: str,
    trigger: str,
    watcher: Callable[[], object] | None = None,
) -> Ending:
    """Run the assessment flow for an already-requested run, in this process.

    ``watcher`` (the command's live progress view, ``kwa run --watch``) runs on a thread meanwhile:
    what it shows is presentation, which flows/ leaves to its caller.
    """
    from flows import prefect_link
    from flows.assessment import assessment

    prefect_link.install()
    if prefect_link.LINK.down:  # a long-lived process whose API went away earlier: is it back?
        prefect_link.answering()
    viewer = None
    if watcher is not None:
        viewer = threading.Thread(target=watcher, daemon=True)
        viewer.start()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    state: Any = None
    engine_error: BaseException | None = None
    try:
        # No flow heartbeats for a run in this process: joining the heartbeat thread costs up
        # to a second per run, and a dead CLI process is found by the reaper (runner host:pid).
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            state = assessment(
                source=parameters.get("source"),
                pillars=parameters.get("pillars"),
                checks=parameters.get("checks"),
                cluster_id=cluster_id,
                check_timeout=parameters.get("check_timeout") or 30.0,
                run_timeout=parameters.get("run_timeout"),
                trigger=trigger,
                config_path=parameters.get("config_path"),
                checks_dirs=parameters.get("checks_dirs"),
                run_id=run_id,
                return_state=True,
            )
    except Exception as exc:  # Prefect's engine could not record the flow run's end: its API is gone
        engine_error = exc
    finally:
        if viewer is not None:
            viewer.join(timeout=5)
    return settle(db, run_id, state, engine_error)


def settle(db: Any, run_id: str, state: Any, engine_error: BaseException | None) -> Ending:
    """Make kwa's stored state and the Prefect flow run agree with how the run really ended."""
    from flows import prefect_link
    from storage.db import StorageUnavailable
    from storage.prefect_sync import set_prefect_sync
    from storage.runs import InvalidTransition, abort_run, fail_run, get_run

    try:
        record = get_run(db, run_id) or {}
    except StorageUnavailable:
        record = {}
    ending = Ending(str(record.get("state") or "failed"), record.get("error"))
    if record.get("state") not in TERMINAL:  # StrEnum members compare equal to their strings
        # The flow could not record the end in kwa's database (or never got to): its Prefect
        # state says what the run was; a flow that never returned one was cut short.
        ending.state, ending.message = _real_end(state, engine_error)
        try:
            (abort_run if ending.state == "aborted" else fail_run)(db, run_id, ending.message)
        except InvalidTransition:
            pass
        except StorageUnavailable as exc:
            ending.unstored = str(exc)
            print(
                f"error: run {run_id} ended {ending.state}, but kwa's database did not take it ({exc}); it still "
                f"shows the run as {record.get('state') or 'unknown'}. `kwa runs reap` records the run as "
                f"{ending.state} once the database takes writes again.",
                file=sys.stderr,
            )
    if prefect_link.LINK.degraded or engine_error is not None:
        ending.prefect_pending = not _mirror_now(db, run_id)
        if ending.prefect_pending and not ending.unstored:
            with contextlib.suppress(StorageUnavailable):
                set_prefect_sync(db, run_id, True)
    return ending


def _real_end(state: Any, engine_error: BaseException | None) -> tuple[str, str]:
    if state is not None and state.is_cancelled():
        return "aborted", state.message or "aborted"
    if state is not None and state.is_failed():
        return "failed", state.message or "failed"
    if engine_error is not None:
        from flows.prefect_link import PrefectUnavailable

        if isinstance(engine_error, PrefectUnavailable):
            return "failed", f"the Prefect API became unreachable before the run could finish starting: {engine_error}"
        return "failed", f"run-level error: {type(engine_error).__name__}: {engine_error}"
    return "failed", f"run-level error: the flow ended {state.name if state else 'without a state'} " + (
        "without recording an outcome"
    )


def _mirror_now(db: Any, run_id: str) -> bool:
    """Set the flow run to mirror kwa's run now if the API answers; True when done (or nothing to do)."""
    from flows import prefect_link
    from storage.runs import get_run

    if not prefect_link.answering():
        return False
    try:
        from prefect.client.orchestration import get_client

        run = get_run(db, run_id) or {}
        with get_client(sync_client=True) as client:
            prefect_link.reconcile(client, run)
        return True
    except Exception:
        return False
