"""``kwa runs``: list and inspect runs, and control them (abort, rerun, resume, watch, wait, logs,
delete, prune, compact, reap, publish).

``list`` and ``get`` only read kwa's database (``kwa/views/runs.py``); the control verbs act on runs
through ``flows.control`` and print here. ``wait``, ``watch``, ``rerun`` and ``resume`` exit with
the (new) run's state code; ``wait`` exits 8 when its timeout passes first; an unknown run is 7.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer

from kwa.commands.common import CONTEXT, GROUP_SETTINGS, output_option, read
from kwa.errors import AlreadyReported, NotFound, guarded
from kwa.exit_codes import ExitCode, state_exit
from kwa.values import MAX_PAGE, bounded_option, comma_list, duration_option, list_option, since_option

app = typer.Typer(help="List, inspect and control runs.", **GROUP_SETTINGS)

RunId = Annotated[str, typer.Argument(metavar="RUN_ID", help="the run's id (kwa runs list shows them)")]
Watch = Annotated[bool, typer.Option("--watch", help="show live progress per pillar while the run executes")]
REPORT = ("table", "json", "yaml")


@app.command("list", context_settings=CONTEXT)
def list_(
    ctx: typer.Context,
    state: Annotated[
        list[str] | None, list_option("--state", "state", metavar="STATE", help="states (repeat, or a,b)")
    ] = None,
    cluster: Annotated[str | None, typer.Option(metavar="ID", help="runs of this cluster")] = None,
    trigger: Annotated[
        list[str] | None, list_option("--trigger", "trigger", metavar="TRIGGER", help="triggers (repeat, or a,b)")
    ] = None,
    since: Annotated[
        datetime | None,
        since_option(help="requested at or after: ISO 8601 or a duration (7d)"),
    ] = None,
    limit: Annotated[
        int | None,
        bounded_option(
            "--limit",
            0,
            MAX_PAGE,
            " (0 = all)",
            help=f"page size (at most {MAX_PAGE:,}; 0 = all); default: the newest 20 in a table, every run otherwise",
        ),
    ] = None,
    cursor: Annotated[str | None, typer.Option(metavar="C", help="next_cursor of the previous page")] = None,
    output: Annotated[str, output_option(("table", "json", "yaml", "csv"))] = "table",
) -> int:
    """Runs, newest first, cursor-paginated."""
    from kwa.views.runs import cmd_runs_list

    return read(
        ctx, cmd_runs_list, state=comma_list(state), cluster=cluster, trigger=comma_list(trigger), since=since,
        limit=limit, cursor=cursor, output=output,
    )  # fmt: skip


@app.command(context_settings=CONTEXT)
def get(ctx: typer.Context, id: RunId, output: Annotated[str, output_option(REPORT)] = "table") -> int:
    """One run in full: phases, timings, per-pillar breakdown."""
    from kwa.views.runs import cmd_runs_get

    return read(ctx, cmd_runs_get, id=id, output=output)


@app.command(context_settings=CONTEXT)
def abort(run_id: RunId) -> int:
    """End a queued or running run as aborted (and cancel its Prefect flow run)."""

    def body(db: Any) -> int:
        from flows import control

        need_prefect()
        run = control.abort(db, run_id)
        print(f"run {run['run_id']} aborted")
        return ExitCode.OK

    return control_command(body)


@app.command(context_settings=CONTEXT)
def rerun(run_id: RunId, watch: Watch = False, output: Annotated[str, output_option(REPORT)] = "table") -> int:
    """Run again with the same scope, as a new run linked to this one."""
    return control_command(lambda db: again(db, run_id, resume=False, watch=watch, output=output))


@app.command(context_settings=CONTEXT)
def resume(run_id: RunId, watch: Watch = False, output: Annotated[str, output_option(REPORT)] = "table") -> int:
    """Run only the checks that errored, timed out or never ran, as a new run linked to this one."""
    return control_command(lambda db: again(db, run_id, resume=True, watch=watch, output=output))


@app.command("watch", context_settings=CONTEXT)
def watch_(run_id: RunId) -> int:
    """Live progress per pillar until the run ends; exit with its state code."""

    def body(db: Any) -> int:
        from flows import control

        control.require_run(db, run_id)
        return state_exit(watch_run(db, run_id)["state"])

    return control_command(body)


@app.command(context_settings=CONTEXT)
def wait(
    run_id: RunId,
    timeout: Annotated[float | None, typer.Option(metavar="S", help="give up after S seconds (exit 8)")] = None,
) -> int:
    """Block until the run ends; exit with its state code."""

    def body(db: Any) -> int:
        from flows import control

        try:
            run = control.wait(db, run_id, timeout)
        except TimeoutError as exc:
            print(str(exc), file=sys.stderr)
            return ExitCode.WAIT_TIMEOUT
        print(f"run {run['run_id']} {run['state']}")
        return state_exit(run["state"])

    return control_command(body)


@app.command(context_settings=CONTEXT)
def logs(
    run_id: RunId,
    check: Annotated[str | None, typer.Option(metavar="ID", help="only this check's lines")] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="also Prefect's own lines (per-task states, …)")
    ] = False,
    output: Annotated[str, output_option(("text", "json"))] = "text",
) -> int:
    """What the run's checks found (kwa's own log lines), or one check's.

    kwa's own log lines of a run: what each check found (counts, worst severity, the first failing
    objects), each pillar's and the run's outcome, and any warning or error that is not one of
    Prefect's per-task lines. --verbose adds every line Prefect logged (task states, tracebacks).
    """

    def body(db: Any) -> int:
        from cli.runlogs import print_logs
        from flows import control

        need_prefect()
        tally = control.LogTally()
        records = control.logs(db, run_id, check, verbose=verbose, tally=tally)
        scope = f"check {check.strip().upper()} of run {run_id}" if check else f"run {run_id}"
        print_logs(records, tally, scope, verbose=verbose, output=output)
        return ExitCode.OK

    return control_command(body)


@app.command(context_settings=CONTEXT)
def delete(run_id: RunId) -> int:
    """Remove a finished run with its results and history."""

    def body(db: Any) -> int:
        from storage.retention import delete_run

        delete_run(db, run_id)
        print(f"run {run_id} deleted with its results and history")
        return ExitCode.OK

    return control_command(body)


@app.command(context_settings=CONTEXT)
def prune(
    older_than: Annotated[timedelta, duration_option("--older-than", help="finished longer ago than this (90d)")],
) -> int:
    """Remove finished runs older than an age, with their results and history."""

    def body(db: Any) -> int:
        from storage.grades import age_text
        from storage.retention import prune_runs

        removed = prune_runs(db, older_than)
        runs = f"{len(removed):,} run{'s' if len(removed) != 1 else ''}"
        print(f"removed {runs} finished more than {age_text(older_than)} ago")
        return ExitCode.OK

    return control_command(body)


@app.command(context_settings=CONTEXT)
def compact(
    keep: Annotated[
        int | None,
        bounded_option("--keep", 1, 100_000, help="runs per cluster and scope kept unarchived (default: 14)"),
    ] = None,
) -> int:
    """Archive the results of finished runs beyond the newest ones (docs/storage.md)."""

    def body(db: Any) -> int:
        from storage.archive import compact as archive_older

        archived = archive_older(db, keep)
        print(f"archived the results of {len(archived):,} run{'s' if len(archived) != 1 else ''}")
        return ExitCode.OK

    return control_command(body)


@app.command(context_settings=CONTEXT)
def reap(
    grace: Annotated[
        timedelta,
        duration_option("--grace", help="how long a run may wait to start (default 10m)"),
    ] = timedelta(minutes=10),
) -> int:
    """End runs whose runner is gone and reconcile Prefect flow runs (crash recovery)."""

    def body(db: Any) -> int:
        # The reaper also works without a Prefect API (this host's evidence only): a run whose
        # Prefect server is gone is exactly what it is for.
        from flows import control, prefect_link
        from flows.server import PrefectServerError, ensure_api

        with contextlib.suppress(PrefectServerError):
            ensure_api(start=False)
        prefect_link.install()
        if not prefect_link.answering(timeout=2.0):
            print(
                "warning: the Prefect API is not answering: reaping from this host's evidence only; "
                "Prefect flow runs are reconciled by a later reap",
                file=sys.stderr,
            )
        for reaped, what in control.reap(db, grace):
            print(f"{reaped}: {what}")
        return ExitCode.OK

    return control_command(body)


# ---- shared by the control verbs (and kwa run) ------------------------------------------------------


def control_command(body: Callable[[Any], int]) -> int:
    """Open kwa's database and run ``body(db)``; a missing run is exit 7, a run in the wrong state
    (or a bad value) exit 2, an interrupt 130 (quietly: the run itself goes on)."""

    def guarded_body() -> int:
        from kwa.session import quiet_prefect

        quiet_prefect(verbose=False)
        from storage.db import Database

        with _control_errors():
            return body(Database())

    return guarded(guarded_body)


@contextlib.contextmanager
def _control_errors() -> Iterator[None]:
    from cli.errors import UsageError
    from flows.control import ControlError, RunMissing
    from storage.runs import RunNotFound

    try:
        yield
    except (RunMissing, RunNotFound) as exc:
        raise NotFound(str(exc)) from None
    except (ControlError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        raise AlreadyReported(ExitCode.INTERRUPTED) from None


def need_prefect() -> None:
    """A Prefect API, or a usage error (what is missing is already on stderr)."""
    from flows.control import ControlError
    from kwa.session import connect_prefect

    if connect_prefect() is not None:
        raise ControlError("no Prefect API is available")


def watch_run(db: Any, run_id: str, console: Any = None) -> dict[str, Any]:
    """Live progress per pillar (``cli/progress.py``) of what the run has persisted, until it ends."""
    from cli.progress import watch
    from flows import control, signals

    return watch(lambda: control.progress(db, run_id), console, interrupted=lambda: bool(signals.stop_reason()))


def again(db: Any, run_id: str, *, resume: bool, watch: bool, output: str) -> int:
    """Rerun / resume: a new run (linked to the original), executed here; its report's exit code."""
    from checks.metadata import CheckRegistrationError
    from checks.registry import load_all
    from cli.errors import UsageError
    from flows import control
    from flows.admission import request_again
    from flows.settle import execute
    from kwa.verdict import report

    control.rerun_parameters(db, run_id, only_unfinished=resume)  # refused before a Prefect server starts
    need_prefect()
    try:
        run, params, selected = request_again(db, run_id, resume=resume, trigger="manual", select=load_all().select)
    except CheckRegistrationError as exc:
        raise UsageError(f"the run's CEL checks no longer load: {exc}") from None
    new_id = run["run_id"]
    count = f"{len(selected)} check{'' if len(selected) == 1 else 's'}"
    print(f"run {new_id}: {'resume' if resume else 'rerun'} of {run_id}, {count}", file=sys.stderr)
    watcher = (lambda: watch_run(db, new_id)) if watch else None
    execute(db, new_id, params, cluster_id=run["cluster_id"], trigger="manual", watcher=watcher)
    return report(db, new_id, output)


@app.command(context_settings=CONTEXT)
def publish(
    id: RunId,
    kubeconfig: Annotated[
        str | None, typer.Option(metavar="PATH", help="kubeconfig (default: as kwa run finds the cluster)")
    ] = None,
    context: Annotated[str | None, typer.Option(metavar="NAME", help="kubeconfig context")] = None,
) -> int:
    """Apply a stored run's Policy Reports (wg-policy and OpenReports) to the cluster it assessed."""

    def body() -> int:
        from kwa.publish_reports import publish as publish_reports
        from kwa.publish_reports import stored_rows
        from kwa.session import open_database
        from storage.run_lookup import resolve_run

        db = open_database()
        try:
            run = resolve_run(db, id)
            rows = stored_rows(db, run)
        finally:
            db.dispose()
        outcomes = publish_reports(run, rows, kubeconfig, context)
        return ExitCode.OK if outcomes and all(o.problem is None for o in outcomes) else ExitCode.FAILED

    return guarded(body)
