"""The parent flow ``kwa-assessment``: one run, step by step (the steps: :mod:`flows.steps`).

Design (measured numbers in docs/performance.md):
- checks evaluate in forked worker lanes with a SIGKILL deadline per check (flows.evaluation);
  each check's outcome is recorded straight from the lanes and streamed to kwa's own database,
  so the run keeps every result whatever happens to Prefect; each check is also a Prefect task
  that mirrors its outcome, in async pillar subflows side by side (heartbeats off for them);
- a run that ended announces it as Prefect events (kwa.run.finished, kwa.run.regressed:
  flows.events) that automations and ``kwa notify`` act on; a run a worker executed pushes its
  cluster's metrics when ``$KWA_PUSHGATEWAY`` is set (flows.metrics_push) and, live and with
  ``$KWA_PUBLISH_REPORTS`` set, applies its Policy Reports to the cluster (flows.reports_publish);
- the flow ends in the Prefect state that mirrors kwa's run (flows.ending.final_state), and a
  run whose Prefect API goes away goes on without it (flows.prefect_link);
- lifecycle (docs/lifecycle.md): identical requests deduplicate, a run waits for its cluster's
  slot and a global slot, passes through phases, and stops when aborted (kwa runs abort, Cancel
  in the Prefect UI, SIGINT / SIGTERM) whether a worker or the CLI executes it.
"""

from __future__ import annotations

import contextlib
from typing import Any

from prefect import flow
from prefect.context import get_run_context
from prefect.runtime import flow_run as current_flow_run

from checks.config import Config
from checks.dynamic import scoped
from checks.registry import load_all
from checks.sources.resolve import SourceSpec
from flows import prefect_link, runlog, signals, steps
from flows.steps import DEFAULT_CHECK_TIMEOUT, DEFAULT_RUN_TIMEOUT
from flows.triggers import detect_trigger
from redaction import install as install_redaction
from storage.db import Database
from storage.queue import run_for_flow_run
from storage.runs import abort_run, fail_run


def _on_cancellation(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]  # names fixed by Prefect's runner
    run_id = (flow_run.parameters or {}).get("run_id") or _run_id_of(flow_run)
    if run_id:
        with contextlib.suppress(Exception):  # a run that already ended stays as it ended
            abort_run(Database(), run_id, "cancelled from Prefect")
            _announce(run_id, flow_run)  # reached only when this hook ended the run: not announced yet


def _on_crashed(flow, flow_run, state) -> None:  # type: ignore[no-untyped-def]
    run_id = (flow_run.parameters or {}).get("run_id") or _run_id_of(flow_run)
    if run_id:
        with contextlib.suppress(Exception):
            reason = signals.stop_reason()
            if reason:  # a signal asked for the stop and a later one cut the orderly abort short
                abort_run(Database(), run_id, reason)
            else:
                fail_run(Database(), run_id, f"runner crashed: {state.message or state.name}")
            _announce(run_id, flow_run)


def _announce(run_id: str, flow_run: Any) -> None:
    from flows.events import emit_run_events

    emit_run_events(Database(), run_id, str(flow_run.id), runlog.logger())


def _run_id_of(flow_run: Any) -> str | None:
    """A deployment run creates its kwa run itself; find it by the Prefect flow run id."""
    return run_for_flow_run(Database(), flow_run.id)


def _flow_run_name() -> str:
    """The cluster the run assesses, also when a deployment leaves ``cluster_id`` unset."""
    params = current_flow_run.parameters or {}
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
    checks_dirs: list[str] | None = None,
) -> Any:
    """Assess one cluster (or a set of manifests) and persist every result and the run's history.

    Ends in the Prefect state that mirrors kwa's run: Completed (named "Partial" for a partial
    run), Failed with the run's error, or Cancelled; its data is the run's summary.
    ``checks_dirs``: directories of CEL checks to load first (docs/custom-checks.md).
    """
    signals.install()  # Prefect's engine put its own SIGTERM handler around this flow run
    prefect_link.install()
    install_redaction(prefect=True)  # a worker's flow run starts here: logs, states, requests redacted
    flow_run = get_run_context().flow_run
    # The run's own dynamic checks (its check files, its snapshot's admission policies) leave
    # the registry with it: a process running flows in turn never carries them into the next.
    with scoped():
        if checks_dirs:  # registered here, in the process the worker lanes fork from
            from checks.cel.files import load_paths

            load_paths(checks_dirs)
        job = steps.Job(
            Database(), SourceSpec.from_dict(source), Config.load(config_path), load_all().select(pillars, checks),
            check_timeout, run_timeout, str(flow_run.id), runlog.logger(),  # kwa's lines: see flows.runlog
        )  # fmt: skip
        job.requested = (pillars, checks)
        trigger = detect_trigger(trigger, flow_run)
        try:
            with steps.concluding(job) as conclusion:
                steps.admit(
                    job,
                    run_id,
                    pillars=pillars,
                    checks=checks,
                    cluster_id=cluster_id,
                    config_path=config_path,
                    trigger=trigger,
                    force_new=force_new,
                )
                steps.enter_queue(job)
                with steps.slot(job):
                    steps.start(job)
                    steps.read_snapshot(job)
                    steps.evaluate(job)
                    steps.finish(job)
            if job.run_id:
                # After the slot is given back: automations hear of the end (flows.events), a worker's
                # run pushes its metrics (flows.metrics_push) and publishes its Policy Reports
                # (flows.reports_publish), then the results this run pushed out of the hot window are
                # archived.
                steps.announce(job)
                steps.push_metrics(job, trigger)
                steps.publish_reports(job, trigger)
                steps.compact_after(job)
        finally:
            steps.release(job)
        return conclusion.value


__all__ = ["assessment"]
