"""The runs this process is executing, and the per-run objects that must not travel as Prefect parameters.

Prefect hashes task inputs and validates flow parameters, so the snapshot (possibly 100k objects),
the configuration and the result writer stay in this process-local table, keyed by run id; tasks
and subflows receive only the run id and small values.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from checks.config import Config
from checks.snapshot import Snapshot


@dataclass
class ExecutingRun:
    run_id: str
    snapshot: Snapshot
    config: Config
    writer: Any  # storage.results.BackgroundWriter
    deadline: float | None = None  # time.monotonic() value of the run-level timeout
    progress: Any = None  # optional callback(check_run) for live progress
    lock: threading.Lock = field(default_factory=threading.Lock)
    checks: dict[str, Any] = field(default_factory=dict)  # check id -> checks.model.CheckDefinition
    batch: Any = None  # checks.sandbox.IsolatedBatch evaluating the run's checks, once started
    timeouts: dict[str, float] = field(default_factory=dict)  # check id -> its timeout in seconds
    # Every result, kept for the exemption audit (which exemptions matched nothing, which expired).
    results_for_audit: list[Any] = field(default_factory=list)

    cancel_reason: str | None = None
    # Set when the run must end ``failed`` rather than ``aborted`` (its results cannot be stored).
    failure: str | None = None
    # The batch's outcome of each check, mapped and handed to the writer as it arrives: the run's
    # source of truth for its checks, whatever happens to the Prefect tasks that mirror them.
    check_runs: dict[str, Any] = field(default_factory=dict)  # check id -> flows.states.CheckRun
    recorded: threading.Condition = field(default_factory=threading.Condition)

    @property
    def cancelled(self) -> bool:
        return self.cancel_reason is not None

    def cancel(self, reason: str, *, failed: bool = False) -> None:
        """Stop every check of this run now: their workers are killed, they leave no result.

        ``failed``: the run cannot go on (storage gave up), so it ends ``failed`` with ``reason``.
        """
        if failed and self.failure is None:
            self.failure = reason
        if self.cancel_reason is None:
            self.cancel_reason = reason
        if self.batch is not None:
            self.batch.cancel(reason)

    def detach(self) -> None:
        """Let go of the batch and the snapshot once the checks are done or stopped. The batch's
        callbacks refer back to this run (a reference cycle) and its job to the snapshot: held
        by a cycle, the snapshot would live until a full collection, which then walks every
        object of it (flows.steps.release)."""
        self.batch = None
        self.snapshot = None  # type: ignore[assignment]

    def record(self, check_id: str, check_run: Any) -> None:
        with self.recorded:
            self.check_runs[check_id] = check_run
            self.recorded.notify_all()

    def wait_recorded(self, check_ids: list[str], timeout: float | None = None) -> bool:
        """Wait until every one of ``check_ids`` has its outcome recorded; False on timeout."""
        with self.recorded:
            return self.recorded.wait_for(lambda: all(i in self.check_runs for i in check_ids), timeout)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


_RUNS: dict[str, ExecutingRun] = {}


def register(ctx: ExecutingRun) -> None:
    _RUNS[ctx.run_id] = ctx


def get(run_id: str) -> ExecutingRun:
    return _RUNS[run_id]


def unregister(run_id: str) -> None:
    _RUNS.pop(run_id, None)


def cancel_all(reason: str) -> None:
    """Cancel every run this process executes (a SIGINT / SIGTERM asked the process to stop)."""
    for ctx in list(_RUNS.values()):
        ctx.cancel(reason)
