"""The checks of one run: forked worker lanes evaluate them, each outcome is recorded from the
lanes as it arrives, and the pillar subflows mirror them in Prefect.

Split from the flow (flows.assessment) so each stays readable: this is the part that must keep
working when the Prefect API does not (the lanes and the writer need neither Prefect nor the
subflows), and that stops when the run is aborted or a signal asks the process to stop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from checks.config import Config
from checks.model import CheckDefinition
from checks.snapshot import Snapshot
from flows import executing, signals
from flows.artifacts import Progress
from flows.cancellation import CancellationWatcher
from flows.lanes import check_timeouts, start_checks
from flows.pillar import pillar_flow
from flows.states import CheckOutcome, CheckRun
from storage.db import Database, StorageUnavailable
from storage.results import BackgroundWriter, ResultWriter, RunNotWritable


def run_checks(
    db: Database,
    run_id: str,
    cluster: str,
    snapshot: Snapshot,
    config: Config,
    selected: list[CheckDefinition],
    check_timeout: float,
    deadline: float | None,
    flow_run_id: str,
    stop_reason: Callable[[], str | None],
    logger: Any,
) -> tuple[list[CheckRun], executing.ExecutingRun]:
    """Evaluate every check in the worker lanes, each outcome recorded from the batch as it ends,
    while the pillar subflows mirror them in Prefect; returns the checks' outcomes."""
    timeouts = check_timeouts(selected, config, check_timeout)
    by_pillar: dict[str, list[str]] = defaultdict(list)
    for c in selected:
        by_pillar[c.pillar.value].append(c.id)
    ids = [c.id for c in selected]
    progress = Progress(cluster, len(selected), f"kwa run {run_id}: checks finished")
    ctx = executing.ExecutingRun(run_id, snapshot, config, None, deadline=deadline)
    ctx.writer = BackgroundWriter(ResultWriter(db, run_id), on_error=lambda exc: writer_failed(ctx, exc))
    ctx.progress = lambda pillar, check_run: progress.advance()
    ctx.checks = {c.id: c for c in selected}
    ctx.timeouts = timeouts
    executing.register(ctx)
    stop_listener = signals.on_stop(ctx.cancel)
    watcher = CancellationWatcher(
        flow_run_id, lambda: stop_reason() is not None, lambda why: ctx.cancel(stop_reason() or why)
    )
    try:
        with watcher, temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            # Heartbeats off for the in-process subflows only: the parent's heartbeat covers
            # the process.
            batch = start_checks(ctx, ids, timeouts)
            if batch is not None:
                states = run_coroutine(lambda: run_pillars(run_id, by_pillar, timeouts))
                for pillar, outcome in states.items():
                    if isinstance(outcome, BaseException):
                        # Prefect could not run the pillar's subflow (its API went away): the
                        # checks go on in the lanes and are recorded from there.
                        logger.debug("pillar %s: its Prefect subflow failed: %s", pillar, outcome)
                ctx.wait_recorded(ids)
            with contextlib.suppress(RunNotWritable):  # the run was aborted meanwhile: handled by the caller
                ctx.writer.drain()
    except StorageUnavailable as exc:
        ctx.cancel(f"storage unavailable: results could not be stored: {exc}", failed=True)
    except Exception as exc:
        ctx.cancel(f"run-level error: {type(exc).__name__}: {exc}", failed=True)
    finally:
        stop_listener()
        executing.unregister(run_id)
        progress.close()
        with contextlib.suppress(Exception):  # its error, if any, was raised by drain() above
            ctx.writer.close(timeout=60)
        ctx.detach()
        # What read_snapshot froze stays frozen until the run lets go of its snapshot
        # (flows.steps.release): unfrozen here, the next full collection would walk all of it.
    unfinished = CheckOutcome.CANCELLED if ctx.cancelled else CheckOutcome.NOT_RUN
    check_runs = [ctx.check_runs.get(i) or CheckRun(i, unfinished) for i in ids]
    return check_runs, ctx


def run_coroutine(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion from this (sync) flow, on its own loop on a helper thread.

    The helper thread carries this thread's context (the flow run's, so pillar subflows find their
    parent). Never the main thread: a caller may already run an event loop there (a notebook, an
    async application), and Prefect's engine installs its own SIGTERM handler around every flow
    run it executes in the main thread, which would turn a SIGTERM during the checks into a crash
    instead of kwa's orderly abort (flows.signals).
    """
    context_copy = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kwa-pillars") as pool:
        return pool.submit(context_copy.run, lambda: asyncio.run(make())).result()


async def run_pillars(run_id: str, by_pillar: dict[str, list[str]], timeouts: dict[str, float]) -> dict[str, Any]:
    """The pillar subflows side by side; their final states by pillar (or what stopped Prefect
    from running one: its API may be gone, and the checks do not need it)."""
    pillars = list(by_pillar)
    calls = [
        pillar_flow(run_id, pillar, ids, {i: timeouts[i] for i in ids}, return_state=True)
        for pillar, ids in by_pillar.items()
    ]
    return dict(zip(pillars, await asyncio.gather(*calls, return_exceptions=True), strict=True))


def writer_failed(ctx: executing.ExecutingRun, exc: BaseException) -> None:
    """The results cannot be stored: stop the checks (their results would be lost)."""
    if isinstance(exc, RunNotWritable):
        # Someone ended the run (kwa runs abort) while checks ran.
        ctx.cancel("the run was aborted")
    else:
        detail = str(exc) if isinstance(exc, StorageUnavailable) else f"{type(exc).__name__}: {exc}"
        ctx.cancel(f"storage unavailable: results could not be stored: {detail}", failed=True)
