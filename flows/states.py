"""Prefect terminal states → check statuses → run state. Pure functions, tested without Prefect.

- check task Completed → the statuses the check returned;
- Failed (an exception) → ``error`` carrying the exception's message;
- Failed named ``TimedOut`` (our hard deadline raises a TimeoutError) → ``timeout``;
- Crashed → ``error``; Cancelled → no result (the run was aborted before the check finished).

The run is ``completed`` when every check executed (whatever it found), ``partial`` when at least
one errored or timed out and at least one executed, ``failed`` when none executed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from checks.model import ErrorReason, Result, Status
from checks.sandbox import BatchCancelled
from storage.enums import RunState


class CheckOutcome(StrEnum):
    EXECUTED = "executed"  # the check ran to completion, whatever it found
    ERRORED = "errored"  # raised, crashed, or could not evaluate (e.g. a forbidden resource)
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"  # the run was aborted before this check finished: no result
    NOT_RUN = "not_run"  # the run ended (deadline) before this check started


@dataclass
class Evaluated:
    """A check's results as its worker process hands them over: its rows ready for storage (the
    JSON array ``storage.results.rows_json`` makes), the counts per status, and the exempted
    results the run's exemption audit needs. Building rows where the check ran keeps that work
    on the worker's core and sends one bytes object through the pipe instead of result objects."""

    rows: bytes
    total: int
    tally: dict[str, int]
    exempt: list[Result]
    errored: bool  # it returned only error rows: it could not evaluate anything
    # What the Prefect UI and the run's log say about the check (flows.runlog), gathered while
    # the rows are built: the distinct objects judged, the first few failing (else warning)
    # objects, the first error's message and the first skip reason.
    objects: int = 0
    examples: list[str] = field(default_factory=list)
    examples_total: int = 0  # how many results the examples were taken from
    first_error: str | None = None
    skip_reason: str | None = None
    # The rows counted as finishing the run counts them (storage.row_tally.count_values).
    counts: list[Any] | None = None


@dataclass
class CheckRun:
    """What one check task produced, after state mapping."""

    check_id: str
    outcome: CheckOutcome
    results: list[Result] = field(default_factory=list)
    duration_ms: int = 0
    message: str = ""
    tally: dict[str, int] = field(default_factory=dict)  # counts kept after results were persisted
    evaluated: Evaluated | None = None  # the rows, when the check's worker built them
    name: str = ""  # the check's name and its severity after the config's overrides (for the UI)
    severity: str | None = None

    def counts(self) -> dict[str, int]:
        if self.evaluated is not None:
            return dict(self.evaluated.tally)
        if not self.results:
            return dict(self.tally)
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status.value] = out.get(r.status.value, 0) + 1
        return out


def outcome_of_results(results: list[Result]) -> CheckOutcome:
    """A check that returned only error rows could not evaluate anything: it errored. Rows about
    objects the input boundary quarantined are the input's problem, not the check's: a check whose
    only rows are those still executed (they count against coverage, not against the run state)."""
    only_errors = bool(results) and all(r.status is Status.ERROR for r in results)
    if only_errors and any(r.reason not in ErrorReason.INPUT for r in results):
        return CheckOutcome.ERRORED
    return CheckOutcome.EXECUTED


_UNSET: Any = object()


def map_task_state(
    check_id: str, state: Any, timeout: float, output: tuple | None = None, result: Any = _UNSET
) -> CheckRun:
    """Map a Prefect task state (from ``return_state=True`` / ``future.state``) to a :class:`CheckRun`.

    ``output`` is ``(results, duration_ms)`` when the task left its results in the process
    instead of returning them through Prefect's result store. ``result`` is the state's result
    (its exception, for a failed state) when the caller already has it: in async code
    ``state.result()`` is a coroutine, so the caller awaits ``state.aresult()`` instead.
    """

    def state_result() -> Any:  # read only where needed: it may load a persisted result
        return state.result(raise_on_failure=False) if result is _UNSET else result

    if state.is_completed():
        value = output if output is not None else state_result()
        results, duration_ms = value if isinstance(value, tuple) else (value, 0)
        if isinstance(results, Evaluated):
            outcome = CheckOutcome.ERRORED if results.errored else CheckOutcome.EXECUTED
            return CheckRun(check_id, outcome, duration_ms=duration_ms, evaluated=results)
        return CheckRun(check_id, outcome_of_results(results), list(results), duration_ms)
    if state.is_cancelled():
        return CheckRun(check_id, CheckOutcome.CANCELLED, message=state.message or "cancelled")
    if state.is_crashed():
        message = f"check crashed: {state.message or 'process ended unexpectedly'}"
        return CheckRun(check_id, CheckOutcome.ERRORED, [Result(Status.ERROR, message)], message=message)
    if state.is_failed():
        exc = state_result()
        if isinstance(exc, BatchCancelled):
            return CheckRun(check_id, CheckOutcome.CANCELLED, message=str(exc))
        if state.name == "TimedOut" or isinstance(exc, TimeoutError):
            return _timed_out(check_id, exc, timeout)
        message = exception_message(exc) if isinstance(exc, BaseException) else (state.message or "check failed")
        return CheckRun(check_id, CheckOutcome.ERRORED, [Result(Status.ERROR, message)], message=message)
    # A non-terminal state here means the task never finished (e.g. the run was torn down).
    return CheckRun(check_id, CheckOutcome.CANCELLED, message=f"check ended in state {state.name}")


def map_batch_outcome(check_id: str, outcome: Any, timeout: float) -> CheckRun:
    """Map what the worker lanes report for a check (``checks.sandbox.Outcome``) to a :class:`CheckRun`.

    This is the run's source of truth for its checks: the same mapping as the check task's Prefect
    state, taken straight from the lanes, so a run whose Prefect API went away still knows (and
    stores) every check's outcome.
    """
    try:
        value = outcome.unwrap(timeout)
    except BatchCancelled as exc:
        return CheckRun(check_id, CheckOutcome.CANCELLED, message=str(exc))
    except TimeoutError as exc:
        run = _timed_out(check_id, exc, timeout)
        run.duration_ms = outcome.duration_ms
        return run
    except Exception as exc:
        message = exception_message(exc)
        return CheckRun(
            check_id, CheckOutcome.ERRORED, [Result(Status.ERROR, message)], outcome.duration_ms, message=message
        )
    if isinstance(value, Evaluated):
        kind = CheckOutcome.ERRORED if value.errored else CheckOutcome.EXECUTED
        return CheckRun(check_id, kind, duration_ms=outcome.duration_ms, evaluated=value)
    return CheckRun(check_id, outcome_of_results(value), list(value), outcome.duration_ms)


def _timed_out(check_id: str, exc: Any, timeout: float) -> CheckRun:
    message = f"check did not finish within its {timeout:g}s timeout and was stopped"
    detail = str(exc) if isinstance(exc, BaseException) and str(exc) else ""
    if detail and "run deadline" in detail:
        message = detail
    return CheckRun(check_id, CheckOutcome.TIMED_OUT, [Result(Status.TIMEOUT, message)], message=message)


def exception_message(exc: BaseException) -> str:
    text = str(exc)
    name = getattr(exc, "exc_type", None) or type(exc).__name__
    if text.startswith(f"{name}:"):
        return text
    return f"{name}: {text}" if text else name


def map_run_state(runs: list[CheckRun]) -> RunState:
    """The run's terminal state from its checks (run-level errors are decided by the caller)."""
    finished = [r for r in runs if r.outcome not in (CheckOutcome.CANCELLED, CheckOutcome.NOT_RUN)]
    executed = sum(1 for r in finished if r.outcome is CheckOutcome.EXECUTED)
    bad = len(finished) - executed
    if not finished:
        return RunState.FAILED
    if bad == 0:
        return RunState.COMPLETED
    if executed == 0:
        return RunState.FAILED
    return RunState.PARTIAL
