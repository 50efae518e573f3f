"""A check's rows are handed to the run's writer and not kept anywhere else: the run keeps every
check's outcome until it ends, and with the rows in it a large run held all of its results twice."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from checks.config import Config
from checks.registry import load_all
from checks.sandbox import Outcome
from flows.executing import ExecutingRun
from flows.lanes import record_outcome
from flows.states import CheckOutcome, Evaluated
from storage.result_rows import row_values, rows_json
from storage.row_tally import count_values


class _Writer:
    def __init__(self) -> None:
        self.submitted: list[tuple[Any, ...]] = []

    def submit(self, *args: Any) -> None:
        self.submitted.append(args)


def test_the_rows_go_to_the_writer_and_the_outcome_keeps_the_rest() -> None:
    check = next(c for c in load_all().all() if c.id == "SEC-001")
    values = [row_values({"status": "passing", "object_kind": "Pod", "object_name": f"p{i}"}) for i in range(3)]
    rows = rows_json(values)
    evaluated = Evaluated(rows, 3, {"passing": 3}, [], False, objects=3, counts=count_values(values))
    writer = _Writer()
    ctx = ExecutingRun("run_x", SimpleNamespace(), Config(), writer)  # type: ignore[arg-type]
    ctx.checks = {check.id: check}
    ctx.timeouts = {check.id: 30.0}
    outcome = Outcome(check.id, "ok", evaluated, 5)
    record_outcome(ctx, check.id, outcome)
    (submitted,) = writer.submitted
    assert submitted[1] == rows and submitted[4] == 3  # the writer has every row
    run = ctx.check_runs[check.id]
    assert run.outcome is CheckOutcome.EXECUTED
    assert run.counts() == {"passing": 3} and run.evaluated.objects == 3  # what the state and log need
    assert run.evaluated.rows == b"" and outcome.value.rows == b""  # nothing else holds the rows
