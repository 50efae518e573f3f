"""The pillar subflow and the check task: Prefect's view of the checks the lanes evaluate.

Checks are evaluated in forked worker processes (checks.sandbox.IsolatedBatch), one batch for the
whole run, started as soon as the snapshot is ready: each check has a deadline that SIGKILL
enforces, whatever the check does (busy loop, sleep, a socket read without timeout, a long C
call), and the workers run side by side on the machine's cores while Prefect records the tasks.
Each check is still its own Prefect task: the task waits for its check's outcome and ends in the
state that outcome deserves (Completed, Failed with the check's exception, TimedOut), so the
Prefect UI shows one task per check. The run itself records each outcome straight from the
batch (:func:`flows.lanes.record_outcome`, what a check's worker process does is there too): the
tasks mirror the checks, they are not needed to keep them, so a run whose Prefect API dies still
stores every check's results.

The pillar subflows and the check tasks are async: the six pillars run side by side on one event
loop, and a waiting task costs no thread (measured, 6 pillars x 17 tasks: 2.1 s instead of 3.1 s
for sequential sync subflows with a thread per task).
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Cancelled, Completed, Failed, State

from checks.sandbox import BatchCancelled, IsolatedBatch
from checks.sandbox import Outcome as JobOutcome
from flows import executing, runlog
from flows.runlog import Verdict, check_line, check_verdict, pillar_verdict
from flows.states import CheckOutcome, CheckRun


async def outcome_of(batch: IsolatedBatch, check_id: str) -> JobOutcome:
    """The check's outcome, awaited without a thread: the batch's manager thread wakes the loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[JobOutcome] = loop.create_future()

    def deliver(outcome: JobOutcome) -> None:
        loop.call_soon_threadsafe(lambda: future.done() or future.set_result(outcome))

    batch.add_done_callback(check_id, deliver)
    return await future


@task(name="check", task_run_name="{check_id}", cache_policy=NO_CACHE, retries=0)
async def run_check(run_id: str, check_id: str, timeout: float) -> int | State:
    """Wait for one check's outcome and end in the state it deserves (the UI's view of the check).

    The results themselves are recorded from the batch (:func:`flows.lanes.record_outcome`), not from here.
    """
    ctx = executing.get(run_id)
    outcome = await outcome_of(ctx.batch, check_id)
    # The batch delivered the outcome to record_outcome (which mapped it) before it woke this task.
    check_run = ctx.check_runs.get(check_id)
    verdict = check_verdict(check_run) if check_run is not None else None
    if check_run is not None and verdict is not None:  # kwa's line for this check, on its task run
        runlog.logger().log(verdict.level, check_line(check_run))
    try:
        evaluated = outcome.unwrap(timeout)
    except TimeoutError as exc:
        # Raised, the async engine would replace it with its own TimeoutError ("exceeded timeout
        # of None"), losing why the check stopped (its own timeout or the run's deadline).
        return Failed(name="TimedOut", message=str(exc), data=exc)
    except BatchCancelled as exc:
        return Cancelled(message=str(exc))
    if verdict is None:
        return evaluated.total
    # Completed named after what the check found ("Failing", "Warning", …) with its counts, or
    # Failed when it could not evaluate anything (every row an error: a forbidden resource).
    return prefect_state(verdict, evaluated.total)


@flow(name="kwa-pillar", flow_run_name="{pillar}")
async def pillar_flow(run_id: str, pillar: str, check_ids: list[str], timeouts: dict[str, float]) -> State:
    """One pillar's check tasks, each mirroring its check's outcome; ends in the state its checks'
    findings deserve, with their summaries as its data."""
    ctx = executing.get(run_id)
    if ctx.cancelled or ctx.batch is None:
        runs = [CheckRun(check_id, CheckOutcome.CANCELLED) for check_id in check_ids]
    else:

        async def one(check_id: str) -> CheckRun:
            await run_check(run_id, check_id, timeouts[check_id], return_state=True)
            # The batch delivered the outcome to record_outcome before it woke this task.
            return ctx.check_runs.get(check_id) or CheckRun(check_id, CheckOutcome.NOT_RUN)

        runs = list(await asyncio.gather(*(one(check_id) for check_id in check_ids)))
    # The subflow's state says what the pillar's checks found ("Failing", "2 of 17 checks
    # failing: SEC-001 (critical), …"), so the run page's subflow list shows it.
    verdict = pillar_verdict(pillar, runs)
    runlog.logger().log(verdict.level, f"pillar {pillar}: {verdict.message}")
    return prefect_state(verdict, [summary_of(r) for r in runs])


def prefect_state(verdict: Verdict, data: Any) -> State:
    """The Prefect state a verdict names (Completed under its name, Failed, Cancelled)."""
    if verdict.kind == "failed":
        return Failed(name=verdict.name, message=verdict.message)
    if verdict.kind == "cancelled":
        return Cancelled(message=verdict.message)
    return Completed(name=verdict.name, message=verdict.message, data=data)


def summary_of(check_run: CheckRun) -> dict:
    return {
        "check_id": check_run.check_id,
        "outcome": check_run.outcome.value,
        "counts": check_run.counts(),
        "duration_ms": check_run.duration_ms,
        "message": check_run.message,
    }
