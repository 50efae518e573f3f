"""How a run ends: its state from its checks, what it saw, and the Prefect state that mirrors it.

Kept apart from the flow so the rules are plain functions: ``decide`` (checks → run state),
the facts stored with the run (bounded: a run over 500k junk documents must not store 500k
problems), the messages for run-level failures, and the flow's final Prefect state, which agrees
with what kwa stored (completed → Completed, partial → Completed "Partial", failed → Failed,
aborted → Cancelled).
"""

from __future__ import annotations

import time
from typing import Any

from checks.snapshot import Snapshot
from flows.states import CheckOutcome, CheckRun, RunState, map_run_state

PROBLEMS_KEPT = 50  # skipped inputs stored with the run (the total is stored too)
PROBLEMS_LOGGED = 5  # named in the run's one "inputs skipped" log line


def decide(check_runs: list[CheckRun], deadline_passed: bool, run_timeout: float | None) -> tuple[RunState, str | None]:
    not_finished = [r.check_id for r in check_runs if r.outcome in (CheckOutcome.NOT_RUN, CheckOutcome.CANCELLED)]
    by_deadline = [
        r.check_id for r in check_runs if r.outcome is CheckOutcome.TIMED_OUT and "run deadline" in r.message
    ]
    if deadline_passed and (not_finished or by_deadline):
        missing = len(not_finished) + len(by_deadline)
        return RunState.FAILED, f"run-level timeout of {run_timeout:g}s exceeded; {missing} check(s) did not finish"
    state = map_run_state(check_runs)
    if state is RunState.FAILED:
        return state, "every check errored or timed out"
    return state, None


def source_noun(kind: str) -> str:
    return {"live": "the cluster", "manifests": "the manifests", "demo": "the demo cluster"}.get(kind, "the source")


def snapshot_error(exc: BaseException, kind: str, deadline_passed: bool, run_timeout: float | None) -> str:
    """The run's error when its snapshot could not be read.

    A passed deadline is named as the run-level timeout it is; a cluster that cannot be used
    (``ClusterUnreachable`` and its kinds: no configuration, every list forbidden, …) speaks for
    itself, so its message is kept as it is; anything else is "snapshot unreadable".
    """
    if deadline_passed and run_timeout:
        # The source says what it was still reading when the deadline passed: keep that.
        detail = str(exc).strip() if _is_cluster_unreachable(exc) else ""
        head = f"run-level timeout of {run_timeout:g}s exceeded while reading {source_noun(kind)}"
        return f"{head}: {detail}" if detail else head
    if _is_cluster_unreachable(exc):
        text = str(exc).strip()
        return text or f"the cluster cannot be used ({type(exc).__name__})"
    return f"snapshot unreadable: {exc}"


def _is_cluster_unreachable(exc: BaseException) -> bool:
    try:
        from checks.sources.live import ClusterUnreachable
    except ImportError:  # pragma: no cover - the live source's dependencies are part of kwa
        return False
    return isinstance(exc, ClusterUnreachable)


def problem_total(problems: Any) -> int:
    """How many inputs were skipped: ``problems.total`` when the snapshot keeps only the first N."""
    total = getattr(problems, "total", None)
    return int(total) if isinstance(total, int) else len(problems)


def problems_line(problems: Any, shown: int = PROBLEMS_LOGGED) -> str | None:
    """One log line for every skipped input: "N inputs skipped; first K: a; b; …" (None if none)."""
    total = problem_total(problems)
    if not total:
        return None
    first = [str(p) for p in list(problems)[:shown]]
    noun = "input" if total == 1 else "inputs"
    if total <= len(first):
        return f"{total} {noun} skipped: " + "; ".join(first)
    return f"{total} {noun} skipped; first {len(first)}: " + "; ".join(first)


def problems_log_lines(problems: Any) -> list[str]:
    """The run log's lines for skipped inputs: a reader's collector gives its counted summary and
    then each problem it kept (bounded by ``limits.problems``); a plain list gives one line."""
    if hasattr(problems, "summary") and hasattr(problems, "total"):
        if not problems.total:
            return []
        return [problems.summary(), *(f"skipped input {p}" for p in list(problems)[:PROBLEMS_KEPT])]
    line = problems_line(problems)
    return [line] if line else []


def history(check_runs: list[CheckRun], started: float) -> dict[str, Any]:
    return {
        "duration_ms": int((time.monotonic() - started) * 1000),
        "checks_total": len(check_runs),
        "checks_executed": sum(1 for r in check_runs if r.outcome is CheckOutcome.EXECUTED),
        "checks_errored": sum(1 for r in check_runs if r.outcome is CheckOutcome.ERRORED),
        "checks_timed_out": sum(1 for r in check_runs if r.outcome is CheckOutcome.TIMED_OUT),
    }


def snapshot_facts(snapshot: Snapshot, check_runs: list[CheckRun], exemption_audit: list[dict[str, Any]]) -> dict:
    """What the run saw, kept with the run: inputs skipped (the first PROBLEMS_KEPT and the total),
    resources not listed, checks that did not execute, and exemptions that matched nothing or expired."""
    return {
        "exemption_audit": exemption_audit,
        "objects": len(snapshot.objects),
        "snapshot": snapshot.description,
        "server_version": snapshot.server_version,
        "problems": [str(p) for p in list(snapshot.problems)[:PROBLEMS_KEPT]],
        "problems_total": problem_total(snapshot.problems),
        # checks.limits.Problems counts skipped inputs by kind and what was read (a run that
        # assessed nothing says why).
        **(
            {"problems_by_kind": dict(snapshot.problems.counts), "read": snapshot.problems.stats.as_dict()}
            if hasattr(snapshot.problems, "stats")
            else {}
        ),
        "unavailable": dict(snapshot.unavailable),
        # What reading a live cluster cost its API server (docs/api-load.md#the-report).
        **({"api_server": snapshot.api_stats} if snapshot.api_stats else {}),
        **({"malformed": snapshot.malformed_facts()} if snapshot.malformed else {}),
        "checks_not_executed": {
            r.check_id: {"outcome": r.outcome.value, "message": r.message}
            for r in check_runs
            if r.outcome is not CheckOutcome.EXECUTED
        },
    }


def summary(run: dict[str, Any], check_runs: list[CheckRun], snapshot: Snapshot | None, started: float) -> dict:
    """The flow's return value: the run, each check's outcome, what the snapshot held."""
    return {
        "run": jsonable(run),
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
        "problems": [str(p) for p in list(snapshot.problems)[:PROBLEMS_KEPT]] if snapshot else [],
        "problems_total": problem_total(snapshot.problems) if snapshot else 0,
        "unavailable": dict(snapshot.unavailable) if snapshot else {},
        "api_server": snapshot.api_stats if snapshot else None,
        "duration_s": round(time.monotonic() - started, 3),
    }


class RunEnded(Exception):
    """The data of a failed or aborted run's final state: calling the flow directly raises it, and
    ``summary`` is the run's summary as a completed run returns it."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.summary = summary or {}

    def __reduce__(self) -> tuple[Any, ...]:  # picklable with its summary (Prefect may persist it)
        return (RunEnded, (str(self), self.summary))


def summary_of_state(state: Any) -> dict[str, Any] | None:
    """The run summary a flow run's final state carries, whatever the state (None if none)."""
    value = state.data
    if not isinstance(value, dict | RunEnded):
        # A result record (what Prefect keeps), read without state.result(), which returns a
        # coroutine when an event loop runs in this thread.
        value = getattr(value, "result", None)
    if isinstance(value, RunEnded):
        return value.summary
    return value if isinstance(value, dict) else None


def final_state(
    run: dict[str, Any],
    result: dict[str, Any],
    intended: tuple[str, str | None] | None = None,
    findings: str | None = None,
) -> Any:
    """The flow run's final Prefect state, mirroring kwa's run (with ``result`` as its data).

    The state's type and name are kwa's run state (did the assessment work?): a completed run
    that found critical failures is Completed, and its message says what it found (``findings``,
    from :func:`flows.runlog.run_message`), as do its pillar subflows' and check tasks' states.
    A failed or aborted run's message is its error.

    ``intended`` is ``(state, message)`` when storage could not take the run's terminal state:
    Prefect then records what the run really was, and ``kwa runs reap`` copies it into kwa's
    database once it takes writes again.
    """
    from prefect.states import Cancelled, Completed, Failed

    state, message = intended or (run.get("state"), run.get("error"))
    run_id = run.get("run_id")
    if state == "completed":
        return Completed(data=result, message=findings or f"kwa run {run_id} completed")
    if state == "partial":
        return Completed(name="Partial", data=result, message=findings or message or f"kwa run {run_id} partial")
    if state == "aborted":
        message = message or f"kwa run {run_id} aborted"
        return Cancelled(data=RunEnded(message, result), message=message)
    message = message or f"kwa run {run_id} failed"
    return Failed(data=RunEnded(message, result), message=message)


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
