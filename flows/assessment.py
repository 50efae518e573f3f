"""The parent flow: request the run, wait for a slot, read the snapshot once, run the pillar
subflows, map the states, publish the outcome.

Design (measured numbers in the README):
- checks evaluate in forked worker lanes with a SIGKILL deadline per check (flows.evaluation);
  each check's outcome is recorded straight from the lanes and streamed to kwa's own database,
  so the run keeps every result whatever happens to Prefect; each check is also a Prefect task
  that mirrors its outcome, in async pillar subflows side by side (heartbeats off for them);
- the flow ends in the Prefect state that mirrors kwa's run (flows.ending.final_state), and a
  run whose Prefect API goes away goes on without it (flows.prefect_link);
- lifecycle (seeds 000, 002, 003, 004): identical requests deduplicate, a run waits for its
  cluster's slot and a global slot, passes through phases, and stops when aborted (kwa runs abort,
  Cancel in the Prefect UI, SIGINT / SIGTERM) whether a worker or the CLI executes it.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from prefect import flow
from prefect.context import get_run_context
from prefect.states import Cancelled, Failed

from checks.config import Config, ConfigError
from checks.model import CheckDefinition
from checks.registry import load_all
from checks.snapshot import Snapshot
from checks.sources.resolve import SourceSpec, load
from flows import prefect_link, runlog, signals
from flows.ending import (
    decide,
    final_state,
    history,
    jsonable,
    problems_log_lines,
    snapshot_error,
    snapshot_facts,
    source_noun,
    summary,
)
from flows.evaluation import collector_paused, run_checks
from flows.lifecycle import acquire_slot, detect_trigger, publish_summary, runner_id
from flows.runlog import run_message
from flows.states import CheckRun
from redaction import install as install_redaction
from storage.db import Database, StorageUnavailable
from storage.lifecycle import (
    failing_results,
    is_terminal,
    run_for_flow_run,
    set_phase,
    top_failing_checks,
    waiting_ahead,
)
from storage.lifecycle import request_run as store_request
from storage.runs import InvalidTransition, abort_run, fail_run, finish_run, get_history, get_run, start_run

DEFAULT_CHECK_TIMEOUT = 30.0
DEFAULT_RUN_TIMEOUT = 600.0


def scope_of(pillars: list[str] | None, checks: list[str] | None) -> str:
    if checks:
        return "single" if len(checks) == 1 else "custom"
    return "pillar" if pillars else "full"


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
            reason = signals.stop_reason()
            if reason:  # a signal asked for the stop and a later one cut the orderly abort short
                abort_run(Database(), run_id, reason)
            else:
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
    """Assess one cluster (or a set of manifests) and persist every result and the run's history.

    Ends in the Prefect state that mirrors kwa's run: Completed (named "Partial" for a partial
    run), Failed with the run's error, or Cancelled; its data is the run's summary.
    """
    signals.install()  # Prefect's engine put its own SIGTERM handler around this flow run
    prefect_link.install()
    install_redaction(prefect=True)  # a worker's flow run starts here: logs, states, requests redacted
    logger = runlog.logger()  # kwa's own lines: prefect.flow_runs.kwa (see flows.runlog)
    spec = SourceSpec.from_dict(source)
    config = Config.load(config_path)
    selected = load_all().select(pillars, checks)
    db = Database()
    flow_run = get_run_context().flow_run
    flow_run_id = str(flow_run.id)
    try:
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
                return {"run": jsonable(run), "duplicate_of": run_id, "checks": [], "problems": [], "unavailable": {}}
        return _assess(db, run_id, spec, config, selected, check_timeout, run_timeout, flow_run_id, logger)
    except StorageUnavailable as exc:
        # kwa's database refused even this: say so in Prefect, which the reaper reads later.
        message = f"storage unavailable: {exc}"
        logger.error(message)
        return Failed(message=message)


def _assess(
    db: Database,
    run_id: str,
    spec: SourceSpec,
    config: Config,
    selected: list[CheckDefinition],
    check_timeout: float,
    run_timeout: float | None,
    flow_run_id: str,
    logger: Any,
) -> Any:
    cluster = (get_run(db, run_id) or {}).get("cluster_id") or "unknown"
    started = time.monotonic()

    if not set_phase(db, run_id, "waiting", prefect_flow_run_id=flow_run_id, runner=runner_id()):
        logger.info("run %s ended before it started (aborted while queued)", run_id)
        return Cancelled(message=f"run {run_id} was aborted before it started")

    def stop_reason() -> str | None:
        reason = signals.stop_reason()
        if reason:
            return reason
        return "the run was aborted (kwa runs abort)" if (get_run(db, run_id) or {}).get("state") == "aborted" else None

    def my_turn(limit: int) -> bool:
        run = get_run(db, run_id)
        if run is None:
            return True
        from flows.control import runner_dead

        # A waiting run whose process died never takes its turn: it does not hold the queue.
        ahead = [r for r in waiting_ahead(db, run) if not runner_dead(r.get("runner"))]
        same_cluster = any(r["cluster_id"] == run["cluster_id"] for r in ahead)
        return not same_cluster and not any(not r["cluster_busy"] for r in ahead)

    slot = acquire_slot(cluster, should_stop=lambda: stop_reason() is not None, turn=my_turn)
    if slot is None:
        return _aborted(db, run_id, cluster, stop_reason() or "aborted while waiting for a slot", logger, [], None, 0)
    with slot:
        try:
            start_run(db, run_id, prefect_flow_run_id=flow_run_id)
        except InvalidTransition:
            logger.info("run %s was aborted while it waited for a slot", run_id)
            return Cancelled(message=f"run {run_id} was aborted before it started")
        set_phase(db, run_id, "initializing", slot_lease=slot.lease_id)
        # The run-level timeout covers the whole run from here, reading the cluster included.
        started = time.monotonic()
        deadline = None if not run_timeout else started + float(run_timeout)
        logger.info("run %s: %d checks, source %s", run_id, len(selected), spec.describe())
        snapshot: Snapshot | None = None
        try:
            with collector_paused():
                # --run-timeout covers reading the cluster; the limits bound reading manifests
                snapshot = load(spec, deadline=deadline, limits=config.limits)
                snapshot.prepare()
                config.exemptions.prepare(snapshot)  # resolved once here, shared by every forked worker
        except Exception as exc:
            passed = deadline is not None and time.monotonic() >= deadline
            return _failed(db, run_id, cluster, snapshot_error(exc, spec.kind, passed, run_timeout), logger, started)
        if deadline is not None and time.monotonic() >= deadline:
            message = f"run-level timeout of {run_timeout:g}s exceeded while reading {source_noun(spec.kind)}"
            return _failed(db, run_id, cluster, message, logger, started)
        for line in problems_log_lines(snapshot.problems):
            logger.warning(line)
        logger.info("snapshot: %d objects (%s)", len(snapshot.objects), snapshot.description)
        if stop_reason():
            return _aborted(db, run_id, cluster, stop_reason() or "aborted", logger, [], snapshot, started)
        set_phase(db, run_id, "running")
        check_runs, ctx = run_checks(db, run_id, cluster, snapshot, config, selected, check_timeout, deadline,
                                      flow_run_id, stop_reason, logger)

        if ctx.failure:
            return _failed(db, run_id, cluster, ctx.failure, logger, started, check_runs, snapshot)
        if ctx.cancelled:
            return _aborted(db, run_id, cluster, ctx.cancel_reason or "aborted", logger, check_runs, snapshot, started)

        state, error = decide(check_runs, deadline is not None and time.monotonic() >= deadline, run_timeout)
        facts = snapshot_facts(snapshot, check_runs, config.exemptions.audit(snapshot, ctx.results_for_audit))
        try:
            finish_run(db, run_id, state.value, error=error, history=history(check_runs, started), summary=facts)
        except InvalidTransition:
            logger.warning("run %s was ended elsewhere (aborted) before it could finish", run_id)
        except StorageUnavailable as exc:
            message = f"storage unavailable: the run's outcome ({state.value}) could not be stored: {exc}"
            return _failed(db, run_id, cluster, message, logger, started, check_runs, snapshot)
    return _finished(db, run_id, cluster, check_runs, snapshot, started)


def _failed(
    db: Database,
    run_id: str,
    cluster: str,
    message: str,
    logger: Any,
    started: float,
    check_runs: list[CheckRun] | None = None,
    snapshot: Snapshot | None = None,
) -> Any:
    """End the run ``failed`` with ``message`` (in kwa's database if it takes it, in Prefect anyway)."""
    logger.error(message)
    intended = None
    try:
        fail_run(db, run_id, message)
    except InvalidTransition:
        pass  # it ended elsewhere meanwhile (aborted): that state stands
    except StorageUnavailable as exc:
        logger.error("run %s could not be recorded as failed: %s", run_id, exc)
        intended = ("failed", message)
    return _finished(db, run_id, cluster, check_runs or [], snapshot, started, intended)


def _aborted(
    db: Database,
    run_id: str,
    cluster: str,
    reason: str,
    logger: Any,
    check_runs: list[CheckRun],
    snapshot: Snapshot | None,
    started: float,
) -> Any:
    intended = None
    try:
        abort_run(db, run_id, reason)
    except InvalidTransition:
        pass
    except StorageUnavailable as exc:
        logger.error("run %s could not be recorded as aborted: %s", run_id, exc)
        intended = ("aborted", reason)
    logger.warning("run %s aborted: %s", run_id, reason)
    return _finished(db, run_id, cluster, check_runs, snapshot, started or time.monotonic(), intended)


def _finished(
    db: Database,
    run_id: str,
    cluster: str,
    check_runs: list[CheckRun],
    snapshot: Snapshot | None,
    started: float,
    intended: tuple[str, str | None] | None = None,
) -> Any:
    """Publish the outcome in the Prefect UI and return the flow's final state, mirroring kwa's."""
    try:
        run = get_run(db, run_id) or {"run_id": run_id, "state": "failed"}
    except StorageUnavailable:
        run = {"run_id": run_id, "state": "running"}
    if intended is None and not is_terminal(run):  # kwa's row did not take the end: Prefect says it
        intended = ("failed", run.get("error") or "the run's outcome could not be stored")
    history = _history_of(db, run_id) if is_terminal(run) else {}
    if intended is None and not prefect_link.LINK.down:
        _publish(db, run_id, cluster, history)
    findings = None
    if intended is None and run.get("state") in ("completed", "partial"):
        scores = history.get("scores") or {}
        findings = run_message(
            run_id, str(run["state"]), check_runs, objects=len(snapshot.objects) if snapshot else None,
            score=scores.get("overall") if isinstance(scores, dict) else None,
        )
        runlog.logger().info(findings)  # the run's summary line, for `kwa runs logs`
    return final_state(run, summary(run, check_runs, snapshot, started), intended, findings)


def _history_of(db: Database, run_id: str) -> dict[str, Any]:
    try:
        return get_history(db, run_id) or {}
    except StorageUnavailable:
        return {}


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


def _publish(db: Database, run_id: str, cluster: str, history: dict[str, Any]) -> None:
    run = get_run(db, run_id)
    if run is None:
        return
    publish_summary(
        cluster,
        jsonable(run),
        history.get("pillar_counts") or {},
        history.get("scores"),
        failing_results(db, run_id),
        top_failing_checks(db, run_id),
    )


__all__ = ["ConfigError", "assessment", "decide", "is_terminal", "request_run", "run_parameters", "scope_of"]
