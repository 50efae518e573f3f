"""State mapping without any Prefect runtime: states are built by hand."""

from __future__ import annotations

from prefect.states import Cancelled, Completed, Crashed, Failed

from checks.model import Result, Status
from checks.sandbox import HardTimeout
from flows.ending import decide
from flows.states import CheckOutcome, CheckRun, RunState, map_run_state, map_task_state


def test_completed_keeps_the_check_statuses() -> None:
    results = [Result(Status.FAILING, "x", kind="Pod", name="a"), Result(Status.PASSING, kind="Pod", name="b")]
    run = map_task_state("SEC-001", Completed(data=(results, 12)), 30)
    assert run.outcome is CheckOutcome.EXECUTED
    assert [r.status for r in run.results] == [Status.FAILING, Status.PASSING]
    assert run.duration_ms == 12


def test_failed_exception_becomes_error_with_its_message() -> None:
    run = map_task_state("SEC-001", Failed(data=ValueError("bad quantity '12x'")), 30)
    assert run.outcome is CheckOutcome.ERRORED
    assert run.results[0].status is Status.ERROR
    assert "ValueError: bad quantity '12x'" in run.results[0].message


def test_timed_out_becomes_timeout() -> None:
    run = map_task_state("SEC-001", Failed(name="TimedOut", data=HardTimeout("killed")), 1.5)
    assert run.outcome is CheckOutcome.TIMED_OUT
    assert run.results[0].status is Status.TIMEOUT
    assert "1.5s" in run.results[0].message


def test_crashed_becomes_error() -> None:
    run = map_task_state("SEC-001", Crashed(message="Execution was aborted by a termination signal."), 30)
    assert run.outcome is CheckOutcome.ERRORED
    assert run.results[0].status is Status.ERROR
    assert "termination signal" in run.results[0].message


def test_cancelled_leaves_no_result() -> None:
    run = map_task_state("SEC-001", Cancelled(), 30)
    assert run.outcome is CheckOutcome.CANCELLED
    assert run.results == []


def test_check_returning_only_errors_counts_as_errored() -> None:
    rows = [Result(Status.ERROR, "cannot evaluate, resource not listed: Deployment: forbidden")]
    assert map_task_state("REL-001", Completed(data=(rows, 1)), 30).outcome is CheckOutcome.ERRORED


def _runs(*outcomes: CheckOutcome) -> list[CheckRun]:
    return [CheckRun(f"SEC-{i:03d}", o) for i, o in enumerate(outcomes, 1)]


def test_run_state_mapping() -> None:
    assert map_run_state(_runs(CheckOutcome.EXECUTED, CheckOutcome.EXECUTED)) is RunState.COMPLETED
    assert map_run_state(_runs(CheckOutcome.EXECUTED, CheckOutcome.ERRORED)) is RunState.PARTIAL
    assert map_run_state(_runs(CheckOutcome.EXECUTED, CheckOutcome.TIMED_OUT)) is RunState.PARTIAL
    assert map_run_state(_runs(CheckOutcome.ERRORED, CheckOutcome.TIMED_OUT)) is RunState.FAILED
    assert map_run_state([]) is RunState.FAILED


def test_run_deadline_fails_the_run_with_its_reason() -> None:
    runs = _runs(CheckOutcome.EXECUTED, CheckOutcome.NOT_RUN)
    state, error = decide(runs, deadline_passed=True, run_timeout=5)
    assert state is RunState.FAILED
    assert "run-level timeout of 5s" in error
    assert decide(_runs(CheckOutcome.EXECUTED), deadline_passed=False, run_timeout=5) == (RunState.COMPLETED, None)
    errored = decide(_runs(CheckOutcome.ERRORED), deadline_passed=False, run_timeout=5)
    assert errored[1] == "every check errored or timed out"


# -- the batch's outcomes, the run's source of truth ----------------------------------------------------


def _outcome(kind: str, value: object = None, duration_ms: int = 7):  # type: ignore[no-untyped-def]
    from checks.sandbox import Outcome as JobOutcome

    return JobOutcome("SEC-001", kind, value, duration_ms)


def test_batch_outcome_ok_keeps_the_rows_the_worker_built() -> None:
    from flows.states import Evaluated, map_batch_outcome

    evaluated = Evaluated(b"[]", 2, {"passing": 1, "failing": 1}, [], errored=False)
    run = map_batch_outcome("SEC-001", _outcome("ok", evaluated), 30)
    assert run.outcome is CheckOutcome.EXECUTED and run.evaluated is evaluated and run.duration_ms == 7
    assert run.counts() == {"passing": 1, "failing": 1}
    only_errors = Evaluated(b"[]", 1, {"error": 1}, [], errored=True)
    assert map_batch_outcome("SEC-001", _outcome("ok", only_errors), 30).outcome is CheckOutcome.ERRORED


def test_batch_outcomes_map_like_task_states() -> None:
    """Every kind of lane outcome gives the CheckRun the check task's Prefect state gives."""
    from flows.states import map_batch_outcome

    raised = map_batch_outcome("SEC-001", _outcome("error", ("ValueError: bad", "ValueError", "tb")), 30)
    assert raised.outcome is CheckOutcome.ERRORED and raised.results[0].message == "ValueError: bad"
    own = map_batch_outcome("SEC-001", _outcome("timeout"), 1.5)
    assert own.outcome is CheckOutcome.TIMED_OUT and "1.5s timeout" in own.message
    by_run = map_batch_outcome("SEC-001", _outcome("timeout", "run-deadline"), 30)
    assert by_run.outcome is CheckOutcome.TIMED_OUT and "run deadline" in by_run.message
    late = map_batch_outcome("SEC-001", _outcome("not-started", "the run deadline had already passed"), 30)
    assert late.outcome is CheckOutcome.TIMED_OUT and "run deadline" in late.message
    died = map_batch_outcome("SEC-001", _outcome("died", "the check process exited without a result"), 30)
    assert died.outcome is CheckOutcome.ERRORED and "exited without a result" in died.message
    cancelled = map_batch_outcome("SEC-001", _outcome("cancelled", "interrupted by SIGINT"), 30)
    assert cancelled.outcome is CheckOutcome.CANCELLED and cancelled.message == "interrupted by SIGINT"
    # decide() reads "run deadline" in the message: a deadline-cut run is a run-level timeout.
    state, error = decide([by_run, late], deadline_passed=True, run_timeout=5)
    assert state is RunState.FAILED and "run-level timeout of 5s" in error
