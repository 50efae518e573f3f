"""The parent flow's steps, one plain function each, in the order a run goes through them::

    admit ─► enter the queue ─► take a slot ─► start ─► read the snapshot ─► evaluate ─► finish
                                                                                          │
    the flow's return value ◄── publish (artifacts, the Prefect state mirroring kwa's run) ◄┘

(docs/lifecycle.md#phases). Every step works on a :class:`Job`, the run as the flow carries it.
None needs a Prefect run context: the flow hands in what it reads from Prefect (its flow run's
id, the trigger), and :func:`slot` takes the function that acquires Prefect's concurrency slots
as a parameter, so tests drive the steps with plain fakes.

A step that ends the run early records the end in kwa's database first (still holding the slot,
so the next run never sees the cluster free while this one looks active) and raises
:class:`Stop`; :func:`concluding` turns that into the flow's return value.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

from prefect.states import Cancelled, Failed

from checks.config import Config
from checks.model import CheckDefinition
from checks.snapshot import Snapshot
from checks.sources import stopping
from checks.sources.resolve import SourceSpec, load
from flows import prefect_link, signals
from flows.admission import request_run, run_parameters
from flows.artifacts import publish_summary
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
from flows.evaluation import run_checks
from flows.lanes import add_snapshot_checks, collector_paused
from flows.runlog import run_message
from flows.runners import runner_dead, runner_id
from flows.slots import SlotHold, acquire_slot
from flows.states import CheckRun
from storage.db import Database, StorageUnavailable
from storage.enums import is_terminal
from storage.findings import failing_results, top_failing_checks
from storage.phases import set_phase
from storage.queue import waiting_ahead
from storage.runs import InvalidTransition, abort_run, fail_run, finish_run, get_history, get_run, start_run

DEFAULT_CHECK_TIMEOUT = 30.0
DEFAULT_RUN_TIMEOUT = 600.0


COMPACT_PER_RUN = 4  # runs archived after each run: normally one falls out of the window


@dataclass
class Job:
    """One run as the parent flow carries it from step to step: what it was asked to do, then
    what each step found."""

    db: Database
    spec: SourceSpec
    config: Config
    selected: list[CheckDefinition]
    check_timeout: float = DEFAULT_CHECK_TIMEOUT
    run_timeout: float | None = DEFAULT_RUN_TIMEOUT
    flow_run_id: str | None = None
    logger: Any = field(default_factory=lambda: logging.getLogger("kwa.run"))
    # Filled in by the steps.
    run_id: str = ""
    cluster: str = "unknown"
    started: float = 0.0  # time.monotonic() when the run left the queue (the run timeout starts then)
    deadline: float | None = None  # time.monotonic() value of the run-level timeout
    slot_lease: str | None = None
    snapshot: Snapshot | None = None
    # The --pillar / --check selection as asked: checks made from the snapshot are chosen by it.
    requested: tuple[list[str] | None, list[str] | None] = (None, None)
    check_runs: list[CheckRun] = field(default_factory=list)
    audited: list[Any] = field(default_factory=list)  # every result, for the exemption audit
    tallies: list[Any] | None = None  # the rows as the run's writer counted them, for finish_run
    # (state, message) when kwa's database could not take the run's end: Prefect records it instead.
    intended: tuple[str, str | None] | None = None

    def deadline_passed(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline


class Stop(Exception):
    """A step ended the run early. ``result`` is what the flow returns; None means the end is
    recorded (failed or aborted) and is published like any other."""

    def __init__(self, result: Any = None) -> None:
        super().__init__("the run ended early")
        self.result = result


@dataclass
class FlowReturn:
    value: Any = None


@contextlib.contextmanager
def concluding(job: Job) -> Iterator[FlowReturn]:
    """Run the steps inside; ``.value`` is then the flow's return value: what a :class:`Stop`
    carried, else the published outcome, or Failed when kwa's database refused even that."""
    conclusion = FlowReturn()
    try:
        try:
            yield conclusion
        except Stop as stop:
            conclusion.value = stop.result
        if conclusion.value is None:
            conclusion.value = publish(job)
    except StorageUnavailable as exc:
        # kwa's database refused even this: say so in Prefect, which the reaper reads later.
        message = f"storage unavailable: {exc}"
        job.logger.error(message)
        conclusion.value = Failed(message=message)


def admit(
    job: Job,
    run_id: str | None,
    *,
    pillars: list[str] | None,
    checks: list[str] | None,
    cluster_id: str | None,
    trigger: str,
    config_path: str | None,
    force_new: bool = False,
) -> None:
    """Request the run (unless ``run_id`` names one already requested); an identical run already
    queued or running is not started twice: the flow returns it."""
    if run_id is None:
        parameters = run_parameters(job.spec, pillars, checks, job.check_timeout, job.run_timeout, config_path)
        run, created = request_run(
            job.db, selected=job.selected, pillars=pillars, checks=checks,
            cluster_id=cluster_id or job.spec.default_cluster_id(), source=job.spec.describe(), trigger=trigger,
            parameters=parameters, force_new=force_new,
        )  # fmt: skip
        if not created:
            job.logger.info("an identical run %s is already %s; not starting another", run["run_id"], run["state"])
            duplicate = {"run": jsonable(run), "duplicate_of": run["run_id"], "checks": [], "problems": []}
            raise Stop({**duplicate, "unavailable": {}})
        run_id = run["run_id"]
    job.run_id = run_id
    job.cluster = (get_run(job.db, run_id) or {}).get("cluster_id") or "unknown"
    job.started = time.monotonic()


def enter_queue(job: Job) -> None:
    """Phase ``waiting``, recording which process runs it; a run aborted while queued stops here."""
    if not set_phase(job.db, job.run_id, "waiting", prefect_flow_run_id=job.flow_run_id, runner=runner_id()):
        job.logger.info("run %s ended before it started (aborted while queued)", job.run_id)
        raise Stop(Cancelled(message=f"run {job.run_id} was aborted before it started"))


def stop_reason(job: Job) -> str | None:
    """Why the run must stop now (a signal, or ``kwa runs abort``), or None."""
    reason = signals.stop_reason()
    if reason:
        return reason
    aborted = (get_run(job.db, job.run_id) or {}).get("state") == "aborted"
    return "the run was aborted (kwa runs abort)" if aborted else None


def _reading_stop(job: Job) -> Callable[[], str | None]:
    """What stops reading: a signal at once; the deadline; ``kwa runs abort`` (a database read,
    so asked at most once a second)."""
    asked = [0.0]

    def reason() -> str | None:
        if signals.stop_reason():
            return signals.stop_reason()
        if job.deadline_passed():
            return "the run-level timeout"
        now = time.monotonic()
        if now - asked[0] < 1.0:
            return None
        asked[0] = now
        return stop_reason(job)

    return reason


def is_my_turn(job: Job) -> bool:
    """No older run that could start waits ahead of this one (runs start in request order), and
    none waits for the same cluster (docs/lifecycle.md#slots)."""
    run = get_run(job.db, job.run_id)
    if run is None:
        return True
    # A waiting run whose process died never takes its turn: it does not hold the queue.
    ahead = [r for r in waiting_ahead(job.db, run) if not runner_dead(r.get("runner"))]
    same_cluster = any(r["cluster_id"] == run["cluster_id"] for r in ahead)
    return not same_cluster and not any(not r["cluster_busy"] for r in ahead)


@contextlib.contextmanager
def slot(job: Job, acquire: Callable[..., SlotHold | None] = acquire_slot) -> Iterator[None]:
    """Wait for the run's turn and its concurrency slots and hold them inside; aborted while waiting
    (``kwa runs abort``, a signal), the run ends ``aborted`` without them."""
    hold = acquire(job.cluster, should_stop=lambda: stop_reason(job) is not None, turn=lambda _: is_my_turn(job))
    if hold is None:
        job.started = time.monotonic()
        abort(job, stop_reason(job) or "aborted while waiting for a slot")
    job.slot_lease = hold.lease_id
    with hold:
        yield


def start(job: Job) -> None:
    """queued → running, phase ``initializing``; the run-level timeout starts counting here, so it
    covers reading the cluster too."""
    try:
        start_run(job.db, job.run_id, prefect_flow_run_id=job.flow_run_id)
    except InvalidTransition:
        job.logger.info("run %s was aborted while it waited for a slot", job.run_id)
        raise Stop(Cancelled(message=f"run {job.run_id} was aborted before it started")) from None
    set_phase(job.db, job.run_id, "initializing", slot_lease=job.slot_lease)
    job.started = time.monotonic()
    job.deadline = None if not job.run_timeout else job.started + float(job.run_timeout)
    job.logger.info("run %s: %d checks, source %s", job.run_id, len(job.selected), job.spec.describe())


def read_snapshot(job: Job) -> None:
    """Read the source once and build its indexes; an unreadable source or the run timeout fails
    the run, an abort meanwhile aborts it."""
    try:
        # --run-timeout covers reading the cluster (its requests' deadline) and manifests (between
        # batches, like a stop: checks.sources.stopping)
        with collector_paused(), stopping.stoppable(_reading_stop(job)):
            snapshot = load(job.spec, deadline=job.deadline, limits=job.config.limits)
            # exemptions resolved once here, shared by every forked worker
            snapshot.prepare(alongside=lambda: job.config.exemptions.prepare(snapshot))
    except stopping.ReadStopped as exc:
        if not job.deadline_passed():
            abort(job, exc.reason)
        fail(job, snapshot_error(exc, job.spec.kind, True, job.run_timeout))
    except Exception as exc:
        fail(job, snapshot_error(exc, job.spec.kind, job.deadline_passed(), job.run_timeout))
    if job.deadline_passed():
        fail(job, f"run-level timeout of {job.run_timeout:g}s exceeded while reading {source_noun(job.spec.kind)}")
    job.snapshot = snapshot
    job.selected = add_snapshot_checks(snapshot, job.selected, *job.requested, logger=job.logger)
    for line in problems_log_lines(snapshot.problems):
        job.logger.warning(line)
    job.logger.info("snapshot: %d objects (%s)", len(snapshot.objects), snapshot.description)
    reason = stop_reason(job)
    if reason:
        abort(job, reason)


def evaluate(job: Job) -> None:
    """Phase ``running``: every selected check in the worker lanes, mirrored by the pillar subflows."""
    assert job.snapshot is not None, "read_snapshot comes first"
    set_phase(job.db, job.run_id, "running")
    job.check_runs, execution = run_checks(
        job.db, job.run_id, job.cluster, job.snapshot, job.config, job.selected, job.check_timeout,
        job.deadline, job.flow_run_id or "", lambda: stop_reason(job), job.logger,
    )  # fmt: skip
    if execution.failure:
        fail(job, execution.failure)
    if execution.cancelled:
        abort(job, execution.cancel_reason or "aborted")
    job.audited = execution.results_for_audit
    job.tallies = execution.writer.tallies()


def finish(job: Job) -> None:
    """running → completed | partial | failed by what the checks did, with the history row and the
    facts of the snapshot."""
    assert job.snapshot is not None, "read_snapshot comes first"
    state, error = decide(job.check_runs, job.deadline_passed(), job.run_timeout)
    facts = snapshot_facts(job.snapshot, job.check_runs, job.config.exemptions.audit(job.snapshot, job.audited))
    try:
        finish_run(
            job.db, job.run_id, state.value, error=error, history=history(job.check_runs, job.started),
            summary=facts, tallies=job.tallies,
        )  # fmt: skip
    except InvalidTransition:
        job.logger.warning("run %s was ended elsewhere (aborted) before it could finish", job.run_id)
    except StorageUnavailable as exc:
        fail(job, f"storage unavailable: the run's outcome ({state.value}) could not be stored: {exc}")


def announce(job: Job) -> None:
    """``kwa.run.finished`` (and ``kwa.run.regressed``) for automations; never a reason to fail the
    run, and skipped while the Prefect API is away (the events would only queue up and be lost)."""
    from flows.events import emit_run_events

    if not prefect_link.LINK.down:
        emit_run_events(job.db, job.run_id, job.flow_run_id, job.logger)


def push_metrics(job: Job, trigger: str) -> None:
    """A run a worker executed pushes its cluster's metrics when ``$KWA_PUSHGATEWAY`` is set
    (flows.metrics_push); ``kwa run`` pushes its own. Never a reason to fail the run."""
    from flows.metrics_push import push_after_run

    push_after_run(job.db, job.cluster, trigger, job.logger)


def publish_reports(job: Job, trigger: str) -> None:
    """A live run a worker executed applies its Policy Reports to the cluster when
    ``$KWA_PUBLISH_REPORTS`` is set (flows.reports_publish). Never a reason to fail the run."""
    from flows.reports_publish import publish_after_run

    publish_after_run(job.db, job.run_id, job.spec, trigger, job.logger)


def compact_after(job: Job) -> None:
    """Archive the results of the run this one pushed out of its cluster's hot window
    (storage.archive, docs/storage.md): at most a few runs, and never a reason to fail the run.
    Called once the run has ended and given back its slot, so no other run waits for it."""
    from storage.archive import compact

    try:
        run = get_run(job.db, job.run_id)
        if run is not None:
            archived = compact(job.db, cluster_id=run["cluster_id"], limit=COMPACT_PER_RUN)
            if archived:
                job.logger.info("archived the results of %d older run(s): %s", len(archived), ", ".join(archived))
    except Exception as exc:  # the run is finished; compaction retries after the next one
        job.logger.warning("could not archive older runs' results: %s", exc)


def release(job: Job) -> None:
    """Let go of the run's snapshot, then hand what :func:`read_snapshot` froze (``gc.freeze``,
    flows.lanes.collector_paused) back to the collector. Called last, whatever happened.

    Unfrozen while the snapshot could still be reached, the next full collection walks every
    object of it, and it came during the run's exit (10k objects: 0.5-0.7 CPU-s, growing with the
    cluster). So the snapshot goes first, freed by reference counting: its derived indexes refer
    back to it (the schema findings hold the snapshot), a cycle only the collector would break, so
    they are dropped. A run stopped between reading and evaluating is unfrozen too.
    """
    snapshot, job.snapshot = job.snapshot, None
    job.audited = []
    indexes = getattr(snapshot, "_indexes", None)  # checks.snapshot.Snapshot's built indexes
    if isinstance(indexes, dict):
        indexes.clear()
    del snapshot
    gc.unfreeze()


def fail(job: Job, message: str) -> NoReturn:
    """End the run ``failed`` with ``message`` (in kwa's database if it takes it, in Prefect anyway)."""
    job.logger.error(message)
    try:
        fail_run(job.db, job.run_id, message)
    except InvalidTransition:
        pass  # it ended elsewhere meanwhile (aborted): that state stands
    except StorageUnavailable as exc:
        job.logger.error("run %s could not be recorded as failed: %s", job.run_id, exc)
        job.intended = ("failed", message)
    raise Stop()


def abort(job: Job, reason: str) -> NoReturn:
    """End the run ``aborted`` with ``reason``; results of checks that finished stay."""
    try:
        abort_run(job.db, job.run_id, reason)
    except InvalidTransition:
        pass
    except StorageUnavailable as exc:
        job.logger.error("run %s could not be recorded as aborted: %s", job.run_id, exc)
        job.intended = ("aborted", reason)
    job.logger.warning("run %s aborted: %s", job.run_id, reason)
    raise Stop()


def publish(job: Job) -> Any:
    """Publish the outcome in the Prefect UI and return the flow's final state, mirroring kwa's."""
    try:
        run = get_run(job.db, job.run_id) or {"run_id": job.run_id, "state": "failed"}
    except StorageUnavailable:
        run = {"run_id": job.run_id, "state": "running"}
    ended = is_terminal(run["state"])
    intended = job.intended
    if intended is None and not ended:  # kwa's row did not take the end: Prefect says it
        intended = ("failed", run.get("error") or "the run's outcome could not be stored")
    row = _history_of(job) if ended else {}
    if intended is None and not prefect_link.LINK.down:
        publish_artifacts(job, row)
    findings = None
    if intended is None and run.get("state") in ("completed", "partial"):
        scores = row.get("scores") or {}
        findings = run_message(
            job.run_id, str(run["state"]), job.check_runs, objects=len(job.snapshot.objects) if job.snapshot else None,
            score=scores.get("overall") if isinstance(scores, dict) else None,
        )  # fmt: skip
        job.logger.info(findings)  # the run's summary line, for `kwa runs logs`
    return final_state(run, summary(run, job.check_runs, job.snapshot, job.started), intended, findings)


def publish_artifacts(job: Job, row: dict[str, Any]) -> None:
    """The summary and findings artifacts of the run (``row``: its history row)."""
    run = get_run(job.db, job.run_id)
    if run is None:
        return
    publish_summary(
        job.cluster,
        jsonable(run),
        row.get("pillar_counts") or {},
        row.get("scores"),
        failing_results(job.db, job.run_id),
        top_failing_checks(job.db, job.run_id),
    )


def _history_of(job: Job) -> dict[str, Any]:
    try:
        return get_history(job.db, job.run_id) or {}
    except StorageUnavailable:
        return {}
