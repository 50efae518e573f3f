"""The pillar subflow and the check task.

Each check is a Prefect task whose body evaluates the check in a forked child killed at its
deadline (checks.sandbox): the only timeout that holds for busy loops, sleeps, blocking sockets
and long C calls alike, even on the task runner's worker threads. Tasks of a pillar run on a small
thread pool, so independent checks evaluate in parallel processes.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from checks.model import CheckDefinition, Result
from checks.registry import load_all
from checks.runner import evaluate
from checks.sandbox import HardTimeout, run_with_deadline
from flows import context
from flows.states import CheckRun, Outcome, map_task_state

MAX_PARALLEL_CHECKS = max(2, min(4, os.cpu_count() or 2))


class RunDeadlineExceeded(HardTimeout):
    """The run-level timeout left no time for this check."""


@task(name="check", task_run_name="{check_id}", cache_policy=NO_CACHE, retries=0)
def run_check(run_id: str, check_id: str, timeout: float) -> tuple[list[Result], int]:
    """Evaluate one check against the run's snapshot within a hard deadline."""
    ctx = context.get(run_id)
    check = load_all().by_id(check_id)
    remaining = ctx.remaining()
    budget = timeout if remaining is None else min(timeout, remaining)
    if budget <= 0:
        raise RunDeadlineExceeded("not started: the run deadline had already passed")
    started = time.perf_counter()
    try:
        results = run_with_deadline(lambda: evaluate(check, ctx.snapshot, ctx.config), budget)
    except HardTimeout:
        if budget < timeout:
            raise RunDeadlineExceeded(f"stopped at the run deadline after {budget:.1f}s") from None
        raise
    return results, int((time.perf_counter() - started) * 1000)


@flow(name="kwa-pillar", flow_run_name="{pillar}", task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_CHECKS))
def pillar_flow(run_id: str, pillar: str, check_ids: list[str], timeouts: dict[str, float]) -> list[dict]:
    """Run one pillar's checks; persist each check's results as soon as it finishes."""
    ctx = context.get(run_id)
    registry = load_all()
    futures = {}
    for check_id in check_ids:
        future = run_check.submit(run_id, check_id, timeouts[check_id])
        futures[future] = check_id
    summaries = []
    for future in as_completed(list(futures)):
        check_id = futures[future]
        future.wait()  # sets the in-memory final state; .state alone may read a lagging API copy
        check_run = map_task_state(check_id, future.state, timeouts[check_id])
        persist(ctx, registry.by_id(check_id), check_run)
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
        "severity": check.severity.value,
        "remediation": check.remediation,
    }
    rows = [r.as_row() for r in check_run.results]
    with ctx.lock:
        ctx.writer.add(meta, rows, datetime.now(UTC), check_run.duration_ms)
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
