"""``kwa lint``: assess manifests in this process, without Prefect and, unless asked, without a database.

The same steps as a Prefect-orchestrated run, minus what only a scheduled, stored run needs (the
queue and its slots, the Prefect subflows that mirror the checks, the database): read the input
into a snapshot (:func:`checks.sources.resolve.load`), start every check in the forked worker lanes
with their hard deadlines and record each outcome (:mod:`flows.lanes`, the code the Prefect path
runs), decide the run's state (:func:`flows.ending.decide`) and count its rows into the history
the database would hold (:func:`storage.row_tally.history_values`). ``store=True`` also writes
the run to kwa's database through the normal writer, with trigger ``ci``.
"""

from __future__ import annotations

import gc
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from checks.config import Config
from checks.model import CheckDefinition
from checks.sources import stopping
from checks.sources.resolve import SourceSpec, load
from flows import executing, signals
from flows.admission import run_parameters, scope_of
from flows.ending import decide, history, snapshot_error, snapshot_facts
from flows.lanes import (
    LANES,
    MemoryWriter,
    add_snapshot_checks,
    check_timeouts,
    collector_paused,
    start_checks,
)
from flows.states import CheckOutcome, CheckRun
from storage.enums import RunState
from storage.row_tally import history_values, tallies_from_rows
from storage.scoring import compute_for


class LintError(Exception):
    """The input could not be read at all (the message names it); ``kwa lint`` exits 4."""


class LintAborted(LintError):
    """A stop (SIGINT, SIGTERM) came while the input was being read; ``kwa lint`` exits 5."""


class LintSelectionError(LintError):
    """A check asked for by id exists nowhere, not even in the input (``--check VAP-x`` with no such
    bound policy); ``kwa lint`` exits 2, as for any unknown check id."""


class _Notes(list):  # type: ignore[type-arg]
    """What the snapshot's check sources had to say (a policy nothing binds): logged by a run,
    printed by ``kwa lint`` after its summary."""

    def warning(self, message: str) -> None:
        self.append(message)


@dataclass
class Linted:
    """A lint's run (shaped as a ``runs`` row, its ``summary`` the snapshot's facts), its history
    row, its result rows and each check's outcome.

    ``results``: every row (a list), or the :class:`MemoryWriter` that holds them, whose passing
    rows are only counted until :attr:`rows` asks for them all (most reports show none)."""

    run: dict[str, Any]
    history: dict[str, Any]
    results: list[dict[str, Any]] | MemoryWriter
    check_runs: list[CheckRun] = field(default_factory=list)
    stored: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every result row."""
        return self.results if isinstance(self.results, list) else self.results.rows

    @property
    def notable(self) -> list[dict[str, Any]]:
        """The rows whose status is not ``passing``."""
        if isinstance(self.results, list):
            return [r for r in self.results if r["status"] != "passing"]
        return self.results.notable

    @property
    def passing_counts(self) -> dict[tuple[str, str, str], int]:
        """Passing rows per (check id, pillar, severity) that :attr:`notable` leaves out."""
        if not isinstance(self.results, list):
            return self.results.passing_counts
        counts: dict[tuple[str, str, str], int] = {}
        for r in self.results:
            if r["status"] == "passing":
                key = (r["check_id"], r["pillar"], r["severity"])
                counts[key] = counts.get(key, 0) + 1
        return counts


def new_lint_id(now: datetime) -> str:
    """``lint_<YYYYMMDD>_<HHMMSS>_<hex6>``: not a stored run's id (those start with ``run_``)."""
    return f"lint_{now:%Y%m%d_%H%M%S}_{secrets.token_hex(3)}"


def lint(
    spec: SourceSpec,
    selected: list[CheckDefinition],
    config: Config,
    *,
    pillars: list[str] | None,
    checks: list[str] | None,
    cluster_id: str,
    check_timeout: float,
    run_timeout: float | None,
    config_path: str | None = None,
    store: bool = False,
    checks_dirs: list[str] | None = None,
) -> Linted:
    """Assess ``spec`` with ``selected``; raises :class:`LintError` when the input cannot be read."""
    requested = datetime.now(UTC)
    started = time.monotonic()
    deadline = started + run_timeout if run_timeout else None
    run: dict[str, Any] = {
        "run_id": new_lint_id(requested),
        "state": "running",
        "scope": scope_of(pillars, checks),
        "pillars": sorted({c.pillar.value for c in selected}),
        "check_ids": [c.id for c in selected],
        "cluster_id": cluster_id,
        "source": spec.describe(),
        "trigger": "ci",
        "requested_at": requested,
        "started_at": requested,
        "completed_at": None,
        "error": None,
    }
    if store:
        db = _store(run, run_parameters(spec, pillars, checks, check_timeout, run_timeout, config_path, checks_dirs))
    else:
        db = None
    try:
        with collector_paused(), stopping.stoppable(lambda: signals.stop_reason() or (_passed(deadline) and "timeout")):
            snapshot = load(spec, deadline=deadline, limits=config.limits)
            snapshot.prepare(alongside=lambda: config.exemptions.prepare(snapshot))
    except stopping.ReadStopped as exc:
        if signals.stop_reason():
            message = f"{exc.reason} while reading the input; nothing was assessed"
            if db is not None:
                from storage.runs import abort_run

                abort_run(db, run["run_id"], message)
            raise LintAborted(message) from None
        message = snapshot_error(exc, spec.kind, True, run_timeout)
        if db is not None:
            _store_failure(db, run["run_id"], message)
        raise LintError(message) from None
    except Exception as exc:
        message = snapshot_error(exc, spec.kind, _passed(deadline), run_timeout)
        if db is not None:
            _store_failure(db, run["run_id"], message)
        raise LintError(message) from None

    notes = _Notes()
    selected = add_snapshot_checks(snapshot, selected, pillars, checks, logger=notes)
    missing = _missing_deferred(checks, selected)
    if missing:
        message = f"no check {', '.join(missing)} in the input: " + (
            "an admission policy becomes a check only when the input holds the policy and a binding naming it"
        )
        if db is not None:
            _store_failure(db, run["run_id"], message)
        raise LintSelectionError(message)
    run.update(check_ids=[c.id for c in selected], pillars=sorted({c.pillar.value for c in selected}))
    writer = MemoryWriter(run["run_id"], also=_db_writer(db, run["run_id"]) if db is not None else None)
    check_runs, ctx = _evaluate(run["run_id"], snapshot, config, selected, check_timeout, deadline, writer)
    state, error = decide(check_runs, _passed(deadline), run_timeout)
    if ctx.cancelled and not ctx.failure:
        state, error = RunState.ABORTED, ctx.cancel_reason
    elif ctx.failure:
        state, error = RunState.FAILED, ctx.failure
    facts = snapshot_facts(snapshot, check_runs, config.exemptions.audit(snapshot, ctx.results_for_audit))
    given = history(check_runs, started)
    run.update(state=state.value, error=error, completed_at=datetime.now(UTC), summary=facts)
    if db is not None:
        return _store_end(db, run, writer.rows, check_runs, given, list(notes))
    tallies = tallies_from_rows(writer.notable, writer.passing_counts)
    row = history_values(run, tallies, run["completed_at"], given, lambda: compute_for(run, tallies))
    return Linted(run, row, writer, check_runs, notes=list(notes))


def _missing_deferred(requested: list[str] | None, selected: list[CheckDefinition]) -> list[str]:
    """Ids of ``--check`` that only the input could have made (``VAP-…``) and it did not."""
    from checks.model import canonical_id, is_deferred

    have = {c.id.upper() for c in selected}
    return [c for c in requested or [] if is_deferred(c) and canonical_id(c).upper() not in have]


def _passed(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _evaluate(
    run_id: str,
    snapshot: Any,
    config: Config,
    selected: list[CheckDefinition],
    check_timeout: float,
    deadline: float | None,
    writer: MemoryWriter,
) -> tuple[list[CheckRun], executing.ExecutingRun]:
    """Every check in the worker lanes (flows.lanes), each outcome recorded as it ends."""
    timeouts = check_timeouts(selected, config, check_timeout)
    ids = [c.id for c in selected]
    ctx = executing.ExecutingRun(run_id, snapshot, config, writer, deadline=deadline)
    ctx.checks = {c.id: c for c in selected}
    ctx.timeouts = timeouts
    executing.register(ctx)
    stop_listener = signals.on_stop(ctx.cancel)
    try:
        # A lane per core whatever the size: a lint's parent writes nothing (flows.lanes.lane_plan).
        if start_checks(ctx, ids, timeouts, LANES) is not None:
            ctx.wait_recorded(ids)
        writer.drain()
    except Exception as exc:
        ctx.cancel(f"run-level error: {type(exc).__name__}: {exc}", failed=True)
    finally:
        stop_listener()
        executing.unregister(run_id)
        writer.close(timeout=60)
        gc.unfreeze()
    unfinished = CheckOutcome.CANCELLED if ctx.cancelled else CheckOutcome.NOT_RUN
    return [ctx.check_runs.get(i) or CheckRun(i, unfinished) for i in ids], ctx


# -- --store: the same run in kwa's database ------------------------------------------------------


def _store(run: dict[str, Any], parameters: dict[str, Any]) -> Any:
    """Create the run in kwa's database (queued → running), its id replacing the lint's."""
    from storage.db import Database
    from storage.runs import create_run, start_run

    db = Database()
    created = create_run(
        db,
        scope=run["scope"],
        pillars=run["pillars"],
        check_ids=run["check_ids"],
        cluster_id=run["cluster_id"],
        source=run["source"],
        trigger="ci",
        parameters=parameters,
    )
    start_run(db, created["run_id"])
    run.update(run_id=created["run_id"], requested_at=created["requested_at"])
    return db


def _db_writer(db: Any, run_id: str) -> Any:
    from storage.results import BackgroundWriter, ResultWriter

    return BackgroundWriter(ResultWriter(db, run_id))


def _store_failure(db: Any, run_id: str, message: str) -> None:
    from storage.runs import fail_run

    fail_run(db, run_id, message)


def _store_end(
    db: Any,
    run: dict[str, Any],
    rows: list[dict[str, Any]],
    check_runs: list[CheckRun],
    given: dict[str, Any],
    notes: list[str],
) -> Linted:
    """End the stored run as kwa run would (history and scores computed by the database's path)."""
    from storage.runs import abort_run, fail_run, finish_run, get_history, get_run

    if run["state"] == "aborted":
        abort_run(db, run["run_id"], run["error"] or "aborted")
    elif run["state"] == "failed" and not check_runs:
        fail_run(db, run["run_id"], run["error"] or "failed")
    else:
        finish_run(db, run["run_id"], run["state"], error=run["error"], history=given, summary=run["summary"])
    stored = get_run(db, run["run_id"]) or run
    return Linted(stored, get_history(db, run["run_id"]) or {}, rows, check_runs, stored=True, notes=notes)
