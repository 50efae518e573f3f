"""Per-run objects that must not travel as Prefect parameters.

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
class RunContext:
    run_id: str
    snapshot: Snapshot
    config: Config
    writer: Any  # storage.results.BackgroundWriter
    deadline: float | None = None  # time.monotonic() value of the run-level timeout
    progress: Any = None  # optional callback(check_run) for live progress
    lock: threading.Lock = field(default_factory=threading.Lock)
    checks: dict[str, Any] = field(default_factory=dict)  # check id -> checks.model.CheckDefinition
    batch: Any = None  # checks.sandbox.IsolatedBatch evaluating the run's checks, once started
    outputs: dict[str, Any] = field(default_factory=dict)  # check id -> (results, duration_ms)
    # Every result, kept for the exemption audit (which exemptions matched nothing, which expired).
    results_for_audit: list[Any] = field(default_factory=list)

    cancel_reason: str | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_reason is not None

    def cancel(self, reason: str) -> None:
        """Stop every check of this run now: their workers are killed, they leave no result."""
        if self.cancel_reason is None:
            self.cancel_reason = reason
        if self.batch is not None:
            self.batch.cancel(reason)

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


_RUNS: dict[str, RunContext] = {}


def register(ctx: RunContext) -> None:
    _RUNS[ctx.run_id] = ctx


def get(run_id: str) -> RunContext:
    return _RUNS[run_id]


def unregister(run_id: str) -> None:
    _RUNS.pop(run_id, None)
