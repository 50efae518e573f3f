"""The parent flow: request the run, wait for a slot, read the snapshot once, run the pillar
subflows, map the states, publish the outcome.

Design (measured numbers in the README):
- pillar subflows run one after another inside ``temporary_settings`` with flow heartbeats off
  (the parent keeps its heartbeat, which covers the same process), which removes the ~1 s
  heartbeat-join each sync subflow otherwise costs;
- checks evaluate in forked worker lanes with a SIGKILL deadline per check; each check is a Prefect
  task that waits for its outcome;
- results are streamed to kwa's own database as each check finishes;
- states are mapped from the in-memory Prefect states, never read back from the API;
- lifecycle (seeds 000, 002, 003, 004): identical requests deduplicate, a run waits for its
  cluster's slot and a global slot, passes through phases, and stops when aborted (kwa runs abort,
  or Cancel in the Prefect UI) whether a worker or the CLI executes it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import gc
import os
import time
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from prefect.states import Cancelled

from checks.config import Config, ConfigError
from checks.model import CheckDefinition
from checks.registry import load_all
from checks.sandbox import IsolatedBatch
from checks.snapshot import Snapshot
from checks.sources.resolve import SourceSpec, load
from flows import context
from flows.lifecycle import CancellationWatcher, Progress, acquire_slot, detect_trigger, publish_summary, runner_id
from flows.pillar import evaluate_for_storage, pillar_flow
from flows.states import CheckRun, Outcome, RunState, map_run_state
from redaction import install as install_redaction
from storage.db import Database
from storage.lifecycle import (
    failing_results,
    is_terminal,
    run_for_flow_run,
    set_phase,
    top_failing_checks,
    waiting_ahead,
)
from storage.lifecycle import request_run as store_request
from storage.results import BackgroundWriter, ResultWriter, RunNotWritable
from storage.runs import InvalidTransition, abort_run, fail_run, finish_run, get_history, get_run, start_run

DEFAULT_CHECK_TIMEOUT = 30.0
DEFAULT_RUN_TIMEOUT = 600.0
LANES = max(1, min(4, os.cpu_count() or 1))


def scope_of(pillars: list[str] | None, checks: list[str] | None) -> str:
    if checks:
        return "single" if len(checks) == 1 else "custom"
    return "pillar" if pillars else "full"


def check_timeouts(selected: list[CheckDefinition], config: Config, default: float) -> dict[str, float]:
    """Per check: the config's ``checks.<ID>.timeout``, else the check's own, else the run default."""
    out = {}
    for c in selected:
        configured = (config.checks.get(c.id) or {}).get("timeout")
        out[c.id] = float(configured or c.timeout or default)
    return out


def request_run(
    db: Database,
    *,
    selected: list[CheckDefinition],
    pillars: list[str] | None,
    checks: list[str] | None,
    cluster_id: str,
    source: str,
    trigger: str,
    parameters: dict[str, Any] | None = None,
    force_new: bool = False,
    rerun_of: str | None = None,
    resume_of: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """A queued run for this scope, or the identical one already queued/running: ``(run, created)``."""
    return store_request(
        db,
        force_new=force_new,
        parameters=parameters,
        scope=scope_of(pillars, checks),
        pillars=sorted({c.pillar.value for c in selected}),
        check_ids=[c.id for c in selected],
        cluster_id=cluster_id,
        source=source,
        trigger=trigger,
        rerun_of=rerun_of,
        resume_of=resume_of,
    )


def _on_cancellation(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]  # names fixed by Prefect's runner
    run_id = (flow_run.parameters or {}).get("run_id") or _run_id_of(flow_run)
    if run_id:
        with contextlib.suppress(Exception):  # a run that already ended stays as it ended
            abort_run(Database(), run_id, "cancelled from Prefect")


def _on_crashed(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    run_id = (flow_run.parameters or {}).get("run_id") or _run_id_of(flow_run)
    if run_id:
        with contextlib.suppress(Exception):
            fail_run(Database(), run_id, f"runner crashed: {state.message or state.name}")


def _run_id_of(flow_run: Any) -> str | None:
    """A deployment run creates its kwa run itself; find it by the Prefect flow run id."""
    return run_for_flow_run(Database(), flow_run.id)


def _flow_run_name() -> str:
    """The cluster the run assesses, also when a deployment leaves ``cluster_id`` unset."""
    from prefect.runtime import flow_run

    params = flow_run.parameters or {}
    if params.get("cluster_id"):
        return str(params["cluster_id"])
    try:
        return SourceSpec.from_dict(params.get("source")).default_cluster_id()
    except Exception:  # a malformed source fails the run itself, with a clear message
        return "kwa-assessment"


@flow(
    name="kwa-assessment",
    flow_run_name=_flow_run_name,
    on_cancellation=[_on_cancellation],
    on_crashed=[_on_crashed],
    log_prints=False,
)
def assessment(
    source: dict[str, Any] | None = None,
    pillars: list[str] | None = None,
    checks: list[str] | None = None,
    cluster_id: str | None = None,
    check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    run_timeout: float | None = DEFAULT_RUN_TIMEOUT,
    trigger: str = "manual",
    config_path: str | None = None,
    run_id: str | None = None,
    force_new: bool = False,
) -> Any:
    """Assess one cluster (or a set of manifests) and persist every result and the run's history."""
    install_redaction(prefect=True)  # a worker's flow run starts here: logs, states, requests redacted
    logger = get_run_logger()
    spec = SourceSpec.from_dict(source)
    config = Config.load(config_path)
    selected = load_all().select(pillars, checks)
    db = Database()
    flow_run = get_run_context().flow_run
    flow_run_id = str(flow_run.id)
    if run_id is None:
        run, created = request_run(
            db,
            selected=selected,
            pillars=pillars,
            checks=checks,
            cluster_id=cluster_id or spec.default_cluster_id(),
            source=spec.describe(),
            trigger=detect_trigger(trigger, flow_run),
            parameters=run_parameters(spec, pillars, checks, check_timeout, run_timeout, config_path),
            force_new=force_new,
        )
        run_id = run["run_id"]
        if not created:
            logger.info("an identical run %s is already %s; not starting another", run_id, run["state"])
            return {"run": _jsonable(run), "duplicate_of": run_id, "checks": [], "problems": [], "unavailable": {}}
    cluster = (get_run(db, run_id) or {}).get("cluster_id") or cluster_id or "unknown"
    started = time.monotonic()
    check_runs: list[CheckRun] = []
    snapshot: Snapshot | None = None

    if not set_phase(db, run_id, "waiting", prefect_flow_run_id=flow_run_id, runner=runner_id()):
        logger.info("run %s ended before it started (aborted while queued)", run_id)
        return Cancelled(message=f"run {run_id} was aborted before it started")

    def run_aborted() -> bool:
        return (get_run(db, run_id) or {}).get("state") == "aborted"

    def my_turn(limit: int) -> bool:
        run = get_run(db, run_id)
        if run is None:
            return True
        from flows.control import runner_dead

        # A waiting run whose process died never takes its turn: it does not hold the queue.
        ahead = [r for r in waiting_ahead(db, run) if not runner_dead(r.get("runner"))]
        same_cluster = any(r["cluster_id"] == run["cluster_id"] for r in ahead)
        return not same_cluster and not any(not r["cluster_busy"] for r in ahead)

    slot = acquire_slot(cluster, should_stop=run_aborted, turn=my_turn)
    if slot is None:
        logger.info("run %s was aborted while it waited for a slot", run_id)
        return Cancelled(message=f"run {run_id} was aborted before it started")
    with slot:
        try:
            start_run(db, run_id, prefect_flow_run_id=flow_run_id)
        except InvalidTransition:
            logger.info("run %s was aborted while it waited for a slot", run_id)
            return Cancelled(message=f"run {run_id} was aborted before it started")
        logger.info("run %s: %d checks, source %s", run_id, len(selected), spec.describe())
        deadline = None if not run_timeout else started + float(run_timeout)
        try:
            with collector_paused():
                # --run-timeout covers reading the cluster; the limits bound reading manifests
                snapshot = load(spec, deadline=deadline, limits=config.limits)
                snapshot.prepare()
                config.exemptions.prepare(snapshot)  # resolved once here, shared by every forked worker
        except Exception as exc:
            message = f"snapshot unreadable: {exc}"
            logger.error(message)
            _fail(db, run_id, message)
            return _summary(db, run_id, [], None, started)
        if getattr(snapshot.problems, "omitted", 0):  # a checks.limits.Problems keeps the first N only
            logger.warning("%s", snapshot.problems.summary())  # type: ignore[attr-defined]
        for problem in snapshot.problems:
            logger.warning("skipped input: %s", problem)
        logger.info("snapshot: %d objects (%s)", len(snapshot.objects), snapshot.description)
        set_phase(db, run_id, "running")

        timeouts = check_timeouts(selected, config, check_timeout)
        by_pillar: dict[str, list[str]] = defaultdict(list)
        for c in selected:
            by_pillar[c.pillar.value].append(c.id)
        progress = Progress(cluster, len(selected), f"kwa run {run_id}: checks finished")
        ctx = context.RunContext(run_id, snapshot, config, None, deadline=deadline)
        ctx.writer = BackgroundWriter(ResultWriter(db, run_id), on_error=lambda exc: _writer_failed(ctx, exc))
        ctx.progress = lambda pillar, check_run: progress.advance()
        ctx.checks = {c.id: c for c in selected}
        context.register(ctx)
        watcher = CancellationWatcher(flow_run_id, run_aborted, ctx.cancel)
        try:
            with watcher, temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                # Heartbeats off for the in-process subflows only: the parent's heartbeat covers
                # the process.
                batch = start_checks(ctx, [c.id for c in selected], timeouts)
                states = run_coroutine(lambda: _run_pillars(run_id, by_pillar, timeouts)) if batch else {}
                for pillar, ids in by_pillar.items():
                    check_runs += _pillar_runs(states.get(pillar), ids)
                with contextlib.suppress(RunNotWritable):  # the run was aborted meanwhile: handled below
                    ctx.writer.drain()
        except Exception as exc:
            message = f"run-level error: {type(exc).__name__}: {exc}"
            logger.error(message)
            _fail(db, run_id, message)
            return _summary(db, run_id, check_runs, snapshot, started)
        finally:
            context.unregister(run_id)
            progress.close()
            with contextlib.suppress(Exception):  # its error, if any, was raised by drain() above
                ctx.writer.close(timeout=60)
            gc.unfreeze()

        if watcher.cancelled or ctx.cancelled:
            reason = watcher.reason or ctx.cancel_reason or "aborted"
            with contextlib.suppress(InvalidTransition):
                abort_run(db, run_id, reason)
            logger.warning("run %s aborted: %s", run_id, reason)
            _publish(db, run_id, cluster)
            return Cancelled(message=f"run {run_id} aborted: {reason}")

        state, error = decide(check_runs, deadline is not None and time.monotonic() >= deadline, run_timeout)
        try:
            finish_run(
                db,
                run_id,
                state.value,
                error=error,
                history=_history(check_runs, started),
                summary=_snapshot_facts(snapshot, check_runs, config.exemptions.audit(snapshot, ctx.results_for_audit)),
            )
        except InvalidTransition:
            logger.warning("run %s was ended elsewhere (aborted) before it could finish", run_id)
        logger.info("run %s ended %s", run_id, state.value)
    _publish(db, run_id, cluster)
    return _summary(db, run_id, check_runs, snapshot, started)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Build the snapshot with the garbage collector off, then freeze what exists.

    Parsing creates millions of containers, and every full collection meanwhile walks all of them
    plus everything Prefect has loaded: a 10k-object JSON dump parsed in 0.85 s with the
    collector on, 0.11 s with it off. The snapshot then lives as long as the run, so it is frozen
    (``gc.freeze``): collections never rescan it, nor touch its pages in the forked workers, which
    would copy them (10k objects: checks 1.8 s → 1.25 s; 100k: 21 s → 18 s). ``gc.unfreeze``
    at the end of the run hands it back to the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def start_checks(ctx: context.RunContext, check_ids: list[str], timeouts: dict[str, float]) -> IsolatedBatch | None:
    """Start evaluating every check of the run in forked worker lanes (None if already aborted)."""
    if ctx.cancelled:
        return None
    snapshot, config, checks = ctx.snapshot, ctx.config, ctx.checks
    batch = IsolatedBatch(
        [(check_id, timeouts[check_id]) for check_id in check_ids],
        lambda check_id: evaluate_for_storage(checks[check_id], snapshot, config),
        lanes=LANES,
        run_deadline=ctx.deadline,
    )
    ctx.batch = batch
    batch.start()
    if ctx.cancelled:  # cancelled while the batch was being set up
        batch.cancel(ctx.cancel_reason or "aborted")
    return batch


def run_coroutine(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine to completion from this (sync) flow, whatever the calling thread does.

    A caller may already run an event loop in this thread (a notebook, an async application calling
    the flow): asyncio.run would refuse, so the coroutine then gets its own loop on a helper thread,
    with this thread's context (the flow run's, so pillar subflows still find their parent).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    context_copy = contextvars.copy_context()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kwa-pillars") as pool:
        return pool.submit(context_copy.run, lambda: asyncio.run(make())).result()


async def _run_pillars(run_id: str, by_pillar: dict[str, list[str]], timeouts: dict[str, float]) -> dict[str, Any]:
    """The pillar subflows side by side; their final states by pillar."""
    pillars = list(by_pillar)
    calls = [
        pillar_flow(run_id, pillar, ids, {i: timeouts[i] for i in ids}, return_state=True)
        for pillar, ids in by_pillar.items()
    ]
    return dict(zip(pillars, await asyncio.gather(*calls), strict=True))


def _writer_failed(ctx: context.RunContext, exc: BaseException) -> None:
    """The results cannot be stored: stop the checks (their results would be lost)."""
    if isinstance(exc, RunNotWritable):
        # Someone ended the run (kwa runs abort) while checks ran.
        ctx.cancel("the run was aborted")
    else:
        ctx.cancel(f"results could not be stored: {type(exc).__name__}: {exc}")


def run_parameters(
    spec: SourceSpec,
    pillars: list[str] | None,
    checks: list[str] | None,
    check_timeout: float,
    run_timeout: float | None,
    config_path: str | None,
) -> dict[str, Any]:
    """What a rerun needs to repeat this run exactly (stored with the run)."""
    return {
        "source": spec.to_dict(),
        "pillars": pillars,
        "checks": checks,
        "check_timeout": check_timeout,
        "run_timeout": run_timeout,
        "config_path": config_path,
    }


def decide(check_runs: list[CheckRun], deadline_passed: bool, run_timeout: float | None) -> tuple[RunState, str | None]:
    not_finished = [r.check_id for r in check_runs if r.outcome in (Outcome.NOT_RUN, Outcome.CANCELLED)]
    by_deadline = [r.check_id for r in check_runs if r.outcome is Outcome.TIMED_OUT and "run deadline" in r.message]
    if deadline_passed and (not_finished or by_deadline):
        missing = len(not_finished) + len(by_deadline)
        return RunState.FAILED, f"run-level timeout of {run_timeout:g}s exceeded; {missing} check(s) did not finish"
    state = map_run_state(check_runs)
    if state is RunState.FAILED:
        return state, "every check errored or timed out"
    return state, None


def _fail(db: Database, run_id: str, message: str) -> None:
    with contextlib.suppress(InvalidTransition):
        fail_run(db, run_id, message)


def _publish(db: Database, run_id: str, cluster: str) -> None:
    run = get_run(db, run_id)
    if run is None:
        return
    history = get_history(db, run_id) or {}
    publish_summary(
        cluster,
        _jsonable(run),
        history.get("pillar_counts") or {},
        history.get("scores"),
        failing_results(db, run_id),
        top_failing_checks(db, run_id),
    )


def _pillar_runs(state: Any, ids: list[str]) -> list[CheckRun]:
    """Per-check outcomes from a pillar subflow's returned summaries (checks it never reported: not run)."""
    summaries = state.result(raise_on_failure=False) if state is not None and state.is_completed() else []
    if not isinstance(summaries, list):
        summaries = []
    seen = {
        s["check_id"]: CheckRun(
            s["check_id"],
            Outcome(s["outcome"]),
            duration_ms=s["duration_ms"],
            message=s.get("message", ""),
            tally=s["counts"],
        )
        for s in summaries
    }
    return [seen.get(i) or CheckRun(i, Outcome.NOT_RUN) for i in ids]


def _history(check_runs: list[CheckRun], started: float) -> dict[str, Any]:
    return {
        "duration_ms": int((time.monotonic() - started) * 1000),
        "checks_total": len(check_runs),
        "checks_executed": sum(1 for r in check_runs if r.outcome is Outcome.EXECUTED),
        "checks_errored": sum(1 for r in check_runs if r.outcome is Outcome.ERRORED),
        "checks_timed_out": sum(1 for r in check_runs if r.outcome is Outcome.TIMED_OUT),
    }


def _snapshot_facts(
    snapshot: Snapshot, check_runs: list[CheckRun], exemption_audit: list[dict[str, Any]]
) -> dict[str, Any]:
    """What the run saw, kept with the run: inputs skipped, resources not listed, checks that failed,
    and the exemptions that matched nothing or have expired."""
    return {
        "exemption_audit": exemption_audit,
        "objects": len(snapshot.objects),
        "snapshot": snapshot.description,
        "server_version": snapshot.server_version,
        "problems": [str(p) for p in snapshot.problems],
        # checks.limits.Problems keeps the first limits.problems; these say how many there were, of
        # what kind, and what was read (a run that assessed nothing says why).
        **({"problems_total": snapshot.problems.total, "problems_by_kind": dict(snapshot.problems.counts),
            "read": snapshot.problems.stats.as_dict()} if hasattr(snapshot.problems, "stats") else {}),
        "unavailable": dict(snapshot.unavailable),
        "checks_not_executed": {
            r.check_id: {"outcome": r.outcome.value, "message": r.message}
            for r in check_runs
            if r.outcome is not Outcome.EXECUTED
        },
    }


def _summary(db: Database, run_id: str, check_runs: list[CheckRun], snapshot: Snapshot | None, started: float) -> dict:
    run = get_run(db, run_id) or {"run_id": run_id}
    return {
        "run": _jsonable(run),
        "checks": [
            {
                "check_id": r.check_id,
                "outcome": r.outcome.value,
                "counts": r.counts(),
                "duration_ms": r.duration_ms,
                "message": r.message,
            }
            for r in check_runs
        ],
        "objects": len(snapshot.objects) if snapshot else 0,
        "problems": [str(p) for p in snapshot.problems] if snapshot else [],
        "unavailable": dict(snapshot.unavailable) if snapshot else {},
        "duration_s": round(time.monotonic() - started, 3),
    }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}


__all__ = ["ConfigError", "assessment", "decide", "is_terminal", "request_run", "run_parameters", "scope_of"]
