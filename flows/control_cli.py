"""``kwa runs abort|rerun|resume|watch|wait|logs|delete|prune|reap``: the run-control commands.

Exit codes: ``wait``, ``watch``, ``rerun`` and ``resume`` exit with the (new) run's state code
(0 completed, 3 partial, 4 failed, 5 aborted); ``wait`` exits 8 when its timeout passes first;
7 means no such run; 2 is a usage error (wrong state, bad option); other commands exit 0 on success.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from datetime import timedelta
from typing import Any

EXIT_USAGE = 2
EXIT_NOT_FOUND = 7
EXIT_WAIT_TIMEOUT = 8
ACTIONS = ("abort", "rerun", "resume", "watch", "wait", "logs", "delete", "prune", "reap")


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h``, ``30m``, ``45s`` (or combinations such as ``1d12h``), at most 100 years."""
    from cli.errors import UsageError
    from cli.timeparse import parse_age as age

    try:
        return age(text, flag="age")
    except UsageError as exc:  # argparse turns this into a usage error (exit 2) naming the option
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kwa runs", description="Control assessment runs.")
    sub = p.add_subparsers(dest="action", required=True)
    a = sub.add_parser("abort", help="end a queued or running run as aborted")
    a.add_argument("run_id")
    for name, text in (("rerun", "run again with the same scope"), ("resume", "run only what did not finish")):
        r = sub.add_parser(name, help=text)
        r.add_argument("run_id")
        r.add_argument("--watch", action="store_true")
        r.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    w = sub.add_parser("watch", help="live progress per pillar until the run ends")
    w.add_argument("run_id")
    wt = sub.add_parser("wait", help="block until the run ends; exit with its state code")
    wt.add_argument("run_id")
    wt.add_argument("--timeout", type=float, default=None, metavar="S")
    lg = sub.add_parser(
        "logs",
        help="what the run's checks found (kwa's own log lines), or one check's",
        description="kwa's own log lines of a run: what each check found (counts, worst severity, the first "
        "failing objects), each pillar's and the run's outcome, and any warning or error that is not one of "
        "Prefect's per-task lines. --verbose adds every line Prefect logged (task states, tracebacks).",
    )
    lg.add_argument("run_id")
    lg.add_argument("--check", metavar="ID", help="only this check's lines")
    lg.add_argument("--verbose", "-v", action="store_true", help="also Prefect's own lines (per-task states, …)")
    lg.add_argument("--output", "-o", choices=("text", "json"), default="text")
    d = sub.add_parser("delete", help="remove a finished run with its results and history")
    d.add_argument("run_id")
    pr = sub.add_parser("prune", help="remove finished runs older than an age")
    pr.add_argument("--older-than", type=parse_age, required=True, metavar="AGE", help="e.g. 90d")
    rp = sub.add_parser(
        "reap", help="end runs whose runner is gone, and reconcile Prefect flow runs (crash recovery)"
    )
    rp.add_argument("--grace", type=parse_age, default=timedelta(minutes=10), metavar="AGE")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from flows.run import quiet_prefect

    quiet_prefect(verbose=False)
    from flows.control import ControlError, RunMissing
    from storage.db import Database, StorageUnavailable
    from storage.runs import RunNotFound

    try:
        return _dispatch(args, Database())
    except (RunMissing, RunNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except (ControlError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: {exc}", file=sys.stderr)
        return 4
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, db: Any) -> int:
    from flows import control
    from flows.run import STATE_EXIT

    if args.action == "abort":
        _need_prefect()
        run = control.abort(db, args.run_id)
        print(f"run {run['run_id']} aborted")
        return 0
    if args.action in ("rerun", "resume"):
        return _again(db, args)
    if args.action == "watch":
        control.require_run(db, args.run_id)
        run = control.watch(db, args.run_id)
        return STATE_EXIT.get(run["state"], 4)
    if args.action == "wait":
        try:
            run = control.wait(db, args.run_id, args.timeout)
        except TimeoutError as exc:
            print(str(exc), file=sys.stderr)
            return EXIT_WAIT_TIMEOUT
        print(f"run {run['run_id']} {run['state']}")
        return STATE_EXIT.get(run["state"], 4)
    if args.action == "logs":
        _need_prefect()
        return _logs(db, args)
    if args.action == "delete":
        from storage.retention import delete_run

        delete_run(db, args.run_id)
        print(f"run {args.run_id} deleted with its results and history")
        return 0
    if args.action == "prune":
        from storage.grades import age_text
        from storage.retention import prune_runs

        removed = prune_runs(db, args.older_than)
        runs = f"{len(removed):,} run{'s' if len(removed) != 1 else ''}"
        print(f"removed {runs} finished more than {age_text(args.older_than)} ago")
        return 0
    if args.action == "reap":
        # The reaper also works without a Prefect API (this host's evidence only): a run whose
        # Prefect server is gone is exactly what it is for.
        from flows import prefect_link
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
        for run_id, what in control.reap(db, args.grace):
            print(f"{run_id}: {what}")
        return 0
    raise AssertionError(args.action)


def _again(db: Any, args: argparse.Namespace) -> int:
    """Rerun / resume: a new run (linked to the original), executed here."""
    from checks.registry import load_all
    from flows import control
    from flows.admission import request_run
    from flows.run import execute, report

    resume = args.action == "resume"
    params, checks = control.rerun_parameters(db, args.run_id, only_unfinished=resume)
    original = control.require_run(db, args.run_id)
    if resume:
        params = {**params, "checks": checks, "pillars": None}
    _need_prefect()
    selected = load_all().select(params.get("pillars"), params.get("checks"))
    run, _ = request_run(
        db,
        selected=selected,
        pillars=params.get("pillars"),
        checks=params.get("checks"),
        cluster_id=original["cluster_id"],
        source=original["source"],
        trigger="manual",
        parameters=params,
        force_new=True,
        rerun_of=None if resume else args.run_id,
        resume_of=args.run_id if resume else None,
    )
    print(f"run {run['run_id']}: {args.action} of {args.run_id}, {len(selected)} checks", file=sys.stderr)
    execute(db, run["run_id"], params, cluster_id=run["cluster_id"], trigger="manual", show=args.watch)
    return report(db, run["run_id"], args.output)


def _need_prefect() -> None:
    from flows.control import ControlError
    from flows.run import connect_prefect

    if connect_prefect() is not None:
        raise ControlError("no Prefect API is available")


def _logs(db: Any, args: argparse.Namespace) -> int:
    """Print the records as they are read (a page at a time), then say what was left out."""
    from cli.pipes import reader_gone
    from flows import control

    tally = control.LogTally()
    records = control.logs(db, args.run_id, args.check, verbose=args.verbose, tally=tally)
    if args.output == "json":
        _json_list(records, sys.stdout)
    else:
        for r in records:
            where = f"{r['where']:<14} " if args.verbose else ""
            print(f"{r['timestamp']:%Y-%m-%d %H:%M:%S} {_level(r['level']):8s} {where}{r['message']}")
            if reader_gone():
                return 0
    scope = f"check {args.check.strip().upper()} of run {args.run_id}" if args.check else f"run {args.run_id}"
    if not args.verbose and tally.hidden:
        problems = f", {tally.hidden_problems:,} of them warnings or errors" if tally.hidden_problems else ""
        print(
            f"{tally.hidden:,} of Prefect's own lines for {scope} not shown{problems}: --verbose shows them",
            file=sys.stderr,
        )
    if tally.read and not tally.kwa and not args.verbose:
        print(
            f"{scope} has no kwa log lines (runs of an older kwa have only Prefect's): --verbose shows Prefect's",
            file=sys.stderr,
        )
    elif not tally.read:
        print(f"no log lines for {scope} (yet)", file=sys.stderr)
    return 0


def _json_list(records: Any, out: Any) -> None:
    """A JSON array, one record per line, written as the records come."""
    from cli.pipes import reader_gone

    first = True
    for r in records:
        out.write(("[\n  " if first else ",\n  ") + json.dumps(r, default=str, ensure_ascii=False))
        first = False
        if reader_gone(out):
            return
    out.write("[]\n" if first else "\n]\n")


def _level(level: int) -> str:
    import logging

    return logging.getLevelName(level)


if __name__ == "__main__":
    from cli.pipes import guard_streams
    from redaction import install

    install(streams=True)  # an entry point of its own (`kwa runs …` already did this)
    guard_streams()
    sys.exit(main())
