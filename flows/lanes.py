"""Evaluating a run's checks in forked worker lanes, without Prefect: shared by every way kwa runs.

The Prefect-orchestrated run (flows.evaluation, whose pillar subflows and check tasks only mirror
what happens here) and ``kwa lint`` (flows.lint, no Prefect at all) both start their checks with
:func:`start_checks` and record each outcome with :func:`record_outcome`: the same hard per-check
deadlines (SIGKILL in a forked lane), the same exemptions and result rows, the same mapping of an
outcome onto a check's state. Only where the rows go differs: the run's writer is kwa's database
(``storage.results.BackgroundWriter``) or, for a lint, memory (:class:`MemoryWriter`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from checks.config import Config
from checks.model import CheckDefinition, Result
from checks.runner import evaluate
from checks.sandbox import IsolatedBatch
from checks.sandbox import Outcome as JobOutcome
from checks.snapshot import Snapshot
from flows import executing
from flows.runlog import EXAMPLES, object_label
from flows.states import CheckOutcome, CheckRun, Evaluated, map_batch_outcome, outcome_of_results
from storage.result_rows import ROW_FIELDS, result_values, rows_json
from storage.row_tally import count_values

SAFETY_SHARE = 0.8  # of a check's timeout, for the safety net (checks/safety.py)


def lanes_for(cores: int) -> int:
    """A lane per core, at most 4."""
    return max(1, min(4, cores))


# What a run of a small cluster and every lint evaluate in.
LANES = lanes_for(os.cpu_count() or 1)
# From this many objects a run starts one lane fewer. The parent needs a core of its own while the
# lanes evaluate: it takes every result, counts it, writes it (a database writer is CPU-bound in
# SQLite) and mirrors each check into Prefect; and each lane copies the pages of the snapshot it
# reads. On 2 cores one lane against two at 100k objects: no slower, 3-7 % less CPU, 17-20 % less
# memory (docs/scale.md, "Lanes"). A small cluster keeps its checks side by side: a few seconds of
# one check then never delay another, and the copies are small.
FEWER_LANES_FROM = 20_000
# With a lane fewer, one more is kept in reserve and started when a check has run spare_after()
# seconds while others wait: one slow or hung check never holds the rest up until its deadline.
SPARE_LANES = 1
SPARE_AFTER = 5.0
# ... or longer in a large cluster, where the slowest checks legitimately take that long (400k
# objects: OPS-004 15 s, OPS-001 9 s, about 37 µs an object) and a spare would only add a copy of
# the snapshot's pages (on 2 cores it adds no speed: the parent's writer has the other core).
SPARE_PER_OBJECT = 60e-6


def spare_after(objects: int) -> float:
    """Seconds a check runs, with others waiting, before a spare lane starts."""
    return max(SPARE_AFTER, SPARE_PER_OBJECT * objects)


def lane_plan(objects: int, cores: int | None = None) -> tuple[int, int, float | None]:
    """``(lanes started at once, lanes at most, seconds before the spare starts)`` for a run of a
    snapshot of ``objects`` objects; no spare (None) when every lane starts at once."""
    cores = cores or os.cpu_count() or 1
    every = lanes_for(cores)
    if objects < FEWER_LANES_FROM:
        return every, every, None
    first = lanes_for(cores - 1)
    return first, first + SPARE_LANES, spare_after(objects)


def check_timeouts(selected: list[CheckDefinition], config: Config, default: float) -> dict[str, float]:
    """Per check: the config's ``checks.<ID>.timeout``, else the check's own, else the run default."""
    out = {}
    for c in selected:
        configured = (config.checks.get(c.id) or {}).get("timeout")
        out[c.id] = float(configured or c.timeout or default)
    return out


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Build the snapshot with the garbage collector off, then freeze what exists.

    Parsing creates millions of containers, and every full collection meanwhile walks all of them
    plus everything Prefect has loaded: a 10k-object JSON dump parsed in 0.85 s with the
    collector on, 0.11 s with it off. The snapshot then lives as long as the run, so it is frozen
    (``gc.freeze``): collections never rescan it, nor touch its pages in the forked workers, which
    would copy them (10k objects: checks 1.8 s → 1.25 s; 100k: 21 s → 18 s). ``gc.unfreeze``
    at the end of the run hands it back to the collector.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()


def add_snapshot_checks(
    snapshot: Snapshot,
    selected: list[CheckDefinition],
    pillars: list[str] | None,
    checks: list[str] | None,
    logger: Any = None,
) -> list[CheckDefinition]:
    """``selected`` plus the checks the snapshot's check sources make (checks.dynamic), registered
    here, before the lanes fork; a source's problem is logged and the run goes on without it."""
    from checks.dynamic import snapshot_checks

    added, problems = snapshot_checks(snapshot, pillars=pillars, checks=checks)
    for problem in problems:
        if logger is not None:
            logger.warning(problem)
    have = {c.id for c in selected}
    return [*selected, *(c for c in added if c.id not in have)]


def start_checks(
    ctx: executing.ExecutingRun, check_ids: list[str], timeouts: dict[str, float], lanes: int | None = None
) -> IsolatedBatch | None:
    """Start evaluating every check of the run in forked worker lanes: ``lanes`` of them, or as
    :func:`lane_plan` has it for the snapshot's size (None if already aborted)."""
    if ctx.cancelled:
        return None
    snapshot, config, checks = ctx.snapshot, ctx.config, ctx.checks
    first, most, spare = (lanes, lanes, None) if lanes else lane_plan(len(snapshot.objects))
    batch = IsolatedBatch(
        [(check_id, timeouts[check_id]) for check_id in check_ids],
        # Evaluated in the worker as the check starts: the safety net's search for culprit objects
        # must end well inside the check's hard deadline.
        lambda check_id: evaluate_for_storage(
            checks[check_id], snapshot, config, deadline=time.monotonic() + SAFETY_SHARE * timeouts[check_id]
        ),
        lanes=most,
        first_lanes=first,
        spare_after=spare,
        run_deadline=ctx.deadline,
    )
    for check_id in check_ids:  # first in line, so an outcome is recorded before its task wakes
        batch.add_done_callback(check_id, lambda outcome: record_outcome(ctx, outcome.job_id, outcome))
    ctx.batch = batch
    batch.start()
    if ctx.cancelled:  # cancelled while the batch was being set up
        batch.cancel(ctx.cancel_reason or "aborted")
    return batch


def evaluate_for_storage(
    check: CheckDefinition, snapshot: Snapshot, config: Config, deadline: float | None = None
) -> Evaluated:
    """Run one check (in its worker process) and shape its results for storage."""
    results = evaluate(check, snapshot, config, deadline=deadline)
    tally: dict[str, int] = {}
    exempt: list[Result] = []
    values = []
    objects: set[tuple[str | None, str | None, str]] = set()
    # The first few failing and warning results, and the first error and skip reason: what the
    # check's Prefect state and log line name (flows.runlog).
    failing: list[Result] = []
    warning: list[Result] = []
    first_error = skip_reason = None
    for r in results:
        row = result_values(r)
        values.append(row)
        status = row[0]  # the status's text
        tally[status] = tally.get(status, 0) + 1
        if r.reason and r.reason.startswith("exempt:"):
            exempt.append(r)
        if r.name is not None:
            objects.add((r.kind, r.namespace, r.name))
        if status == "passing":  # most results: one comparison
            continue
        if status == "failing":
            if len(failing) < EXAMPLES:
                failing.append(r)
        elif status == "warning":
            if len(warning) < EXAMPLES:
                warning.append(r)
        elif status == "error":
            first_error = first_error or r.message
        elif status == "skipped":
            skip_reason = skip_reason or r.reason
    errored = outcome_of_results(results) is CheckOutcome.ERRORED
    shown = failing or warning
    return Evaluated(
        rows_json(values),
        len(values),
        tally,
        exempt,
        errored,
        objects=len(objects),
        examples=[object_label(r.kind, r.namespace, r.name, r.container) for r in shown],
        examples_total=tally.get("failing" if failing else "warning", 0),
        first_error=first_error,
        skip_reason=skip_reason,
        # Counted here, on the lane's core, so ending the run need not count the stored rows.
        counts=count_values(values),
    )


def record_outcome(ctx: executing.ExecutingRun, check_id: str, outcome: JobOutcome) -> None:
    """A check's outcome, straight from the worker lanes: map it, hand its rows to the writer, keep it.

    Called by the batch's manager thread as each check ends, so the run records every check
    whether or not the Prefect task mirroring it could report (the API may be gone).
    """
    try:
        check_run = map_batch_outcome(check_id, outcome, ctx.timeouts.get(check_id, 0.0))
        check = ctx.checks[check_id]
        check_run.name, check_run.severity = check.name, ctx.config.severity_for(check).value
        persist(ctx, check, check_run)
    except Exception as exc:  # a bug here must not kill a worker lane: the run fails, saying why
        check_run = CheckRun(check_id, CheckOutcome.NOT_RUN, message=f"could not record: {exc}")
        ctx.cancel(f"internal error recording check {check_id}: {type(exc).__name__}: {exc}", failed=True)
    ctx.record(check_id, check_run)


def persist(ctx: executing.ExecutingRun, check: CheckDefinition, check_run: CheckRun) -> None:
    """Hand one check's rows to the run's writer thread (a check that never finished has none)."""
    if check_run.outcome in (CheckOutcome.CANCELLED, CheckOutcome.NOT_RUN):
        return
    meta = {
        "id": check.id,
        "pillar": check.pillar.value,
        "name": check.name,
        "severity": ctx.config.severity_for(check).value,  # the config may override a check's severity
        "remediation": check.remediation,
    }
    evaluated = check_run.evaluated
    if evaluated is not None:
        # The audit only needs to know which exemptions applied; keeping every row would cost memory.
        ctx.results_for_audit.extend(evaluated.exempt)
        ctx.writer.submit(
            meta, evaluated.rows, datetime.now(UTC), check_run.duration_ms, evaluated.total, evaluated.counts
        )
        # The writer holds the rows until they are written. Kept here too (the run keeps every
        # check's outcome, and so does the batch), every row would stay in memory for the whole
        # run: 100k objects, ~0.5 GB of the parent's peak.
        evaluated.rows = b""
    else:  # an error or a timeout: the rows the state mapping made up
        values = [result_values(r) for r in check_run.results]
        ctx.writer.submit(meta, values, datetime.now(UTC), check_run.duration_ms)
    if ctx.progress is not None:
        ctx.progress(check.pillar.value, check_run)


_MEMORY_KEYS = ("run_id", "pillar", "check_id", "check_name", "severity", "assessed_at", "duration_ms", *ROW_FIELDS)


def _row(base: tuple[Any, ...], values: Sequence[Any], fallback: Any) -> dict[str, Any]:
    row = dict(zip(_MEMORY_KEYS, (*base, *values), strict=True))
    if not row["remediation"]:
        row["remediation"] = fallback
    return row


class MemoryWriter:
    """A run's rows kept in this process (``kwa lint``), fed like the database's writer.

    A submission is only kept as it came (the lane's JSON bytes and the check's columns) until the
    lanes are done: decoding as each check ended kept the threads that hand a lane its next check
    busy, and the lanes waited (10k objects: idle two thirds of the time). Then the rows a report
    shows (:attr:`notable`: every status but ``passing``) become dicts, and passing rows are only
    counted (:attr:`passing_counts`), unless every row is asked for (:attr:`rows`): at 10k
    objects, 58,000 of 74,000 rows pass, and a dict each cost 0.2 s.

    ``also``: another writer (``BackgroundWriter``) every submission is handed on to as well, when
    a lint is asked to store its run (``--store``).
    """

    def __init__(self, run_id: str, also: Any = None) -> None:
        self.run_id = run_id
        self.also = also
        self._pending: list[tuple[tuple[Any, ...], Any, Any]] = []
        self._blocks: list[tuple[tuple[Any, ...], list[Any], Any]] = []
        self._notable: list[dict[str, Any]] = []
        self._passing: dict[tuple[str, str, str], int] = {}
        self._all: list[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def submit(
        self,
        check: Mapping[str, Any],
        rows: bytes | Sequence[tuple[Any, ...]],
        assessed_at: datetime,
        duration_ms: int | None,
        count: int | None = None,
        counts: Sequence[Any] | None = None,
    ) -> None:
        base = (
            self.run_id, str(check["pillar"]), str(check["id"]), str(check["name"]), str(check["severity"]),
            assessed_at.isoformat(), duration_ms,
        )  # fmt: skip
        with self._lock:
            self._pending.append((base, rows, check.get("remediation")))
        if self.also is not None:
            self.also.submit(check, rows, assessed_at, duration_ms, count, counts)

    def _decode(self) -> None:
        """Decode what was submitted since the last call (the caller holds the lock)."""
        pending, self._pending = self._pending, []
        for base, rows, fallback in pending:
            values = orjson.loads(rows) if isinstance(rows, bytes | str) else rows
            self._blocks.append((base, values, fallback))
            passing = 0
            for v in values:
                if v[0] == "passing":
                    passing += 1
                else:
                    self._notable.append(_row(base, v, fallback))
            if passing:
                key = (base[2], base[1], base[4])  # check id, pillar, severity
                self._passing[key] = self._passing.get(key, 0) + passing
            if self._all is not None:
                self._all.extend(_row(base, v, fallback) for v in values)

    @property
    def notable(self) -> list[dict[str, Any]]:
        """Every row whose status is not ``passing``, as dicts with a stored result row's keys."""
        with self._lock:
            self._decode()
            return self._notable

    @property
    def passing_counts(self) -> dict[tuple[str, str, str], int]:
        """Passing rows per (check id, pillar, severity)."""
        with self._lock:
            self._decode()
            return self._passing

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row, in the order the checks ended (built on first use)."""
        with self._lock:
            if self._all is None:
                self._all = [_row(base, v, fallback) for base, values, fallback in self._blocks for v in values]
            self._decode()
            return self._all

    def drain(self, timeout: float | None = None) -> int:
        if self.also is not None:
            return self.also.drain(timeout)
        with self._lock:
            self._decode()
            return sum(len(values) for _, values, _ in self._blocks)

    def close(self, timeout: float | None = None) -> None:
        if self.also is not None:
            self.also.close(timeout)
