"""The parent flow: create the run, read the snapshot once, run the pillar subflows, map the states.

Design (measured numbers in the README):
- pillar subflows run one after another inside ``temporary_settings`` with flow heartbeats off
  (the parent keeps its heartbeat, which covers the same process), which removes the ~1 s
  heartbeat-join each sync subflow otherwise costs;
- check tasks run on a small thread pool inside each pillar, each evaluating its check in a
  forked child killed at the deadline (hard timeouts whatever the check does);
- results are streamed to kwa's own database as each check finishes, in batches;
- states are mapped from the in-memory Prefect states, never read back from the API.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import get_run_context
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from checks.config import Config, ConfigError
from checks.model import CheckDefinition
from checks.registry import load_all
from checks.snapshot import Snapshot
from checks.sources.resolve import SourceSpec, load
from flows import context
from flows.pillar import pillar_flow
from flows.states import CheckRun, Outcome, RunState, map_run_state
from storage.db import Database
from storage.results import ResultWriter
from storage.runs import create_run, fail_run, finish_run, get_run, start_run

DEFAULT_CHECK_TIMEOUT = 30.0
DEFAULT_RUN_TIMEOUT = 600.0


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
) -> dict[str, Any]:
    return create_run(
        db,
        scope=scope_of(pillars, checks),
        pillars=sorted({c.pillar.value for c in selected}),
        check_ids=[c.id for c in selected],
        cluster_id=cluster_id,
        source=source,
        trigger=trigger,
    )


def _on_cancellation(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]  # names fixed by Prefect's runner
    from storage.runs import abort_run

    run_id = (flow_run.parameters or {}).get("run_id")
    if run_id:
        with contextlib.suppress(Exception):
            abort_run(Database(), run_id, "cancelled from Prefect")


def _on_crashed(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    run_id = (flow_run.parameters or {}).get("run_id")
    if run_id:
        with contextlib.suppress(Exception):
            fail_run(Database(), run_id, f"runner crashed: {state.message or state.name}")


@flow(
    name="kwa-assessment",
    flow_run_name="{cluster_id}",
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
) -> dict[str, Any]:
    """Assess one cluster (or a set of manifests) and persist every result and the run's history."""
    logger = get_run_logger()
    started = time.monotonic()
    spec = SourceSpec.from_dict(source)
    config = Config.load(config_path)
    selected = load_all().select(pillars, checks)
    db = Database()
    if run_id is None:
        run_id = request_run(
            db,
            selected=selected,
            pillars=pillars,
            checks=checks,
            cluster_id=cluster_id or "unknown",
            source=spec.describe(),
            trigger=trigger,
        )["run_id"]
    flow_run_id = str(get_run_context().flow_run.id)
    start_run(db, run_id, prefect_flow_run_id=flow_run_id)
    logger.info("run %s: %d checks, source %s", run_id, len(selected), spec.describe())

    try:
        snapshot = load(spec)
    except Exception as exc:
        message = f"snapshot unreadable: {exc}"
        logger.error(message)
        fail_run(db, run_id, message)
        return _summary(db, run_id, [], None, started)
    snapshot.prepare()
    for problem in snapshot.problems:
        logger.warning("skipped input: %s", problem)
    logger.info("snapshot: %d objects (%s)", len(snapshot.objects), snapshot.description)

    deadline = None if not run_timeout else started + float(run_timeout)
    timeouts = check_timeouts(selected, config, check_timeout)
    by_pillar: dict[str, list[str]] = defaultdict(list)
    for c in selected:
        by_pillar[c.pillar.value].append(c.id)

    writer = ResultWriter(db, run_id)
    ctx = context.RunContext(run_id, snapshot, config, writer, deadline=deadline)
    context.register(ctx)
    check_runs: list[CheckRun] = []
    try:
        # Heartbeats off for the in-process subflows only: the parent's heartbeat covers the
        # process, and each sync subflow would otherwise wait up to 1 s joining its own.
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            for pillar, ids in by_pillar.items():
                if deadline is not None and time.monotonic() >= deadline:
                    check_runs += [CheckRun(i, Outcome.NOT_RUN) for i in ids]
                    continue
                state = pillar_flow(run_id, pillar, ids, {i: timeouts[i] for i in ids}, return_state=True)
                check_runs += _pillar_runs(state, ids)
        writer.flush()
    except Exception as exc:
        message = f"run-level error: {type(exc).__name__}: {exc}"
        logger.error(message)
        fail_run(db, run_id, message)
        return _summary(db, run_id, check_runs, snapshot, started)
    finally:
        context.unregister(run_id)

    state, error = decide(check_runs, deadline is not None and time.monotonic() >= deadline, run_timeout)
    finish_run(
        db,
        run_id,
        state.value,
        error=error,
        history=_history(check_runs, started),
        summary=_snapshot_facts(snapshot, check_runs),
    )
    logger.info("run %s ended %s", run_id, state.value)
    return _summary(db, run_id, check_runs, snapshot, started)


def decide(check_runs: list[CheckRun], deadline_passed: bool, run_timeout: float | None) -> tuple[RunState, str | None]:
    not_finished = [r.check_id for r in check_runs if r.outcome in (Outcome.NOT_RUN, Outcome.CANCELLED)]
    timed_out_by_run = [
        r.check_id for r in check_runs if r.outcome is Outcome.TIMED_OUT and "run deadline" in r.message
    ]
    if deadline_passed and (not_finished or timed_out_by_run):
        missing = len(not_finished) + len(timed_out_by_run)
        return RunState.FAILED, f"run-level timeout of {run_timeout:g}s exceeded; {missing} check(s) did not finish"
    state = map_run_state(check_runs)
    if state is RunState.FAILED:
        return state, "every check errored or timed out"
    return state, None


def _pillar_runs(state: Any, ids: list[str]) -> list[CheckRun]:
    """Per-check outcomes from a pillar subflow's returned summaries (checks it never reported: not run)."""
    summaries = state.result(raise_on_failure=False) if state.is_completed() else []
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


def _snapshot_facts(snapshot: Snapshot, check_runs: list[CheckRun]) -> dict[str, Any]:
    """What the run saw, kept with the run: inputs skipped, resources not listed, checks that failed."""
    return {
        "objects": len(snapshot.objects),
        "snapshot": snapshot.description,
        "server_version": snapshot.server_version,
        "problems": [str(p) for p in snapshot.problems],
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


__all__ = ["ConfigError", "assessment", "decide", "request_run", "scope_of"]
