"""The pillar subflow and the check task.

Checks are evaluated in forked worker processes (checks.sandbox.IsolatedBatch): each check has a
deadline that SIGKILL enforces, whatever the check does (busy loop, sleep, a socket read without
timeout, a long C call), and the workers of a pillar run side by side on the machine's cores.
Each check is still its own Prefect task: the task waits for its check's outcome and ends in the
state that outcome deserves (Completed, Failed with the check's exception, TimedOut), so the
Prefect UI shows one task per check and the run maps Prefect's terminal states.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from checks.model import CheckDefinition
from checks.registry import load_all
from checks.runner import evaluate
from checks.sandbox import IsolatedBatch
from flows import context
from flows.states import CheckRun, Outcome, map_task_state
from storage.results import RunNotWritable

LANES = max(1, min(4, os.cpu_count() or 1))
# Tasks only wait on their outcome, so many can wait at once; the lanes bound the real work.
MAX_WAITING_TASKS = 32


@task(name="check", task_run_name="{check_id}", cache_policy=NO_CACHE, retries=0)
def run_check(run_id: str, check_id: str, timeout: float) -> int:
    """Wait for one check's outcome; raise what stopped it (a TimeoutError ends the task TimedOut).

    The results stay in the process (``RunContext.outputs``) rather than in Prefect's result
    store: 100 checks x thousands of rows would otherwise be pickled through Prefect's machinery.
    """
    ctx = context.get(run_id)
    outcome = ctx.batches[check_id].wait(check_id)
    results = outcome.unwrap(timeout)
    ctx.outputs[check_id] = (results, outcome.duration_ms)
    return len(results)


@flow(name="kwa-pillar", flow_run_name="{pillar}", task_runner=ThreadPoolTaskRunner(max_workers=MAX_WAITING_TASKS))
def pillar_flow(run_id: str, pillar: str, check_ids: list[str], timeouts: dict[str, float]) -> list[dict]:
    """Run one pillar's checks; persist each check's results as soon as it finishes."""
    ctx = context.get(run_id)
    registry = load_all()
    checks = {check_id: registry.by_id(check_id) for check_id in check_ids}
    if ctx.cancelled:
        return [summary_of(CheckRun(check_id, Outcome.CANCELLED)) for check_id in check_ids]
    batch = IsolatedBatch(
        [(check_id, timeouts[check_id]) for check_id in check_ids],
        lambda check_id: evaluate(checks[check_id], ctx.snapshot, ctx.config),
        lanes=min(LANES, len(check_ids)),
        run_deadline=ctx.deadline,
    ).start()
    for check_id in check_ids:
        ctx.batches[check_id] = batch
    if ctx.cancelled:  # cancelled while the batch was being set up
        batch.cancel(ctx.cancel_reason or "aborted")
    futures = {run_check.submit(run_id, check_id, timeouts[check_id]): check_id for check_id in check_ids}
    summaries = []
    for future in as_completed(list(futures)):
        check_id = futures[future]
        future.wait()  # sets the in-memory final state; .state alone may read a lagging API copy
        output = ctx.outputs.pop(check_id, None)
        check_run = map_task_state(check_id, future.state, timeouts[check_id], output)
        persist(ctx, checks[check_id], check_run)
        summaries.append(summary_of(check_run))
    return summaries


def persist(ctx: context.RunContext, check: CheckDefinition, check_run: CheckRun) -> None:
    """Stream one check's rows to storage (a check that never finished has none)."""
    if check_run.outcome in (Outcome.CANCELLED, Outcome.NOT_RUN):
        return
    meta = {
        "id": check.id,
        "pillar": check.pillar.value,
        "name": check.name,
        "severity": ctx.config.severity_for(check).value,  # the config may override a check's severity
        "remediation": check.remediation,
    }
    # The audit only needs to know which exemptions applied; keeping every row would cost memory.
    ctx.results_for_audit.extend(r for r in check_run.results if (r.reason or "").startswith("exempt:"))
    rows = [r.as_row() for r in check_run.results]
    try:
        with ctx.lock:
            ctx.writer.add(meta, rows, datetime.now(UTC), check_run.duration_ms)
            ctx.writer.flush()  # streamed per check: an abort keeps every finished check's rows
    except RunNotWritable:
        # Someone ended the run (kwa runs abort) while this check ran: stop the rest too.
        ctx.cancel("the run was aborted")
        return
    if ctx.progress is not None:
        ctx.progress(check.pillar.value, check_run)


def summary_of(check_run: CheckRun) -> dict:
    return {
        "check_id": check_run.check_id,
        "outcome": check_run.outcome.value,
        "counts": check_run.counts(),
        "duration_ms": check_run.duration_ms,
        "message": check_run.message,
    }
