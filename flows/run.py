"""``python -m flows.run``: run an assessment from the command line.

Exit codes (also in the README):
  0  completed: every check executed (whatever it found)
  1  internal error (a bug: please report it)
  2  usage error: unknown check or pillar, bad option, unreadable config or missing manifest path
  3  partial: at least one check errored or timed out, at least one executed
  4  failed: run-level error (cluster unreachable, snapshot unreadable, storage unavailable,
     run-level timeout) or every check errored or timed out; also when no run could be started
     because the Prefect API is unreachable (PREFECT_API_URL names a dead server, or kwa's local
     server cannot start): nothing is stored then
  5  aborted: the run was cancelled (kwa runs abort, Cancel in the Prefect UI, SIGINT, SIGTERM)
  6  a CI gate rejected the run (--fail-on / --min-score / --min-coverage): the rule and the
     failing objects are printed
  9  nothing was assessed: the run ended completed or partial over no object (an empty stdin, an
     empty or unreadable directory, only non-Kubernetes YAML, a cluster that lists nothing) or
     ended completed with no check judging any object it read; with or without --ci, and
     before any gate (a gate cannot pass or fail on nothing). failed (4) and aborted (5) keep
     their codes. (flows.verdict reads the run back and decides.)
  130 interrupted while following another identical run (that run goes on)

``--ci`` never assesses the bundled demo cluster unless ``--demo`` says so: without
``--manifests``, ``--kubeconfig``/``--context`` or a kubeconfig to find, it is a usage error (2).

When kwa's database cannot take the run's terminal state (disk full, locked past its busy
timeout), the exit code is still the run's real state; stderr says so, and ``kwa runs reap``
records that state once the database takes writes again.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from flows.settle import execute
from flows.verdict import (  # re-exported: the report and the exit codes live in flows.verdict
    EXIT_ABORTED,
    EXIT_FAILED,
    EXIT_GATE,
    EXIT_INTERNAL,
    EXIT_NOTHING,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    PROBLEMS_SHOWN,
    STATE_EXIT,
    conclude,
    gate,
    judge,
    outcome_code,
    render,
    report,
    run_view,
)

EXIT_INTERRUPTED = 130
PREFECT_PATIENCE = 3.0  # seconds a configured Prefect API gets to answer before a run is refused
STATE_COLOUR = {"completed": "green", "partial": "yellow", "failed": "red", "aborted": "magenta"}
__all__ = [
    "EXIT_ABORTED", "EXIT_FAILED", "EXIT_GATE", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_NOTHING", "EXIT_OK",
    "EXIT_PARTIAL", "EXIT_USAGE", "PROBLEMS_SHOWN", "STATE_EXIT", "conclude", "connect_prefect", "execute", "gate",
    "judge", "main", "outcome_code", "quiet_prefect", "render", "report", "run_view",
]  # fmt: skip


class UsageError(Exception):
    pass


def build_parser(prog: str = "python -m flows.run") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Assess a Kubernetes cluster (or manifests) against the Well-Architected pillars.",
        epilog="Exit codes: 0 completed, 2 usage error, 3 partial, 4 failed (or Prefect API unreachable at start), "
        "5 aborted (also SIGINT/SIGTERM), 6 rejected by a gate, 9 nothing was assessed (no object read, or none "
        "judged by any check).",
    )
    p.add_argument(
        "--check", action="append", default=[], metavar="ID", help="run only this check (repeatable, or a,b)"
    )
    p.add_argument("--pillar", action="append", default=[], metavar="P[,P]", help="run only these pillars")
    src = p.add_argument_group(
        "source (default: current kubeconfig context, else the bundled demo cluster; under --ci: no default)"
    )
    src.add_argument("--manifests", action="append", default=[], metavar="PATH", help="file, directory or - (stdin)")
    src.add_argument("--kubeconfig", metavar="FILE")
    src.add_argument("--context", metavar="NAME")
    src.add_argument("--demo", action="store_true", help="assess the bundled demo cluster")
    p.add_argument(
        "--cluster-id",
        metavar="ID",
        help="name under which this cluster's history is kept (default: the context; for manifests the git "
        "repository and path, else the directory or file name, 'stdin' for -)",
    )
    p.add_argument("--check-timeout", type=float, default=30.0, metavar="S", help="per-check timeout (default 30)")
    p.add_argument("--run-timeout", type=float, default=600.0, metavar="S", help="whole-run timeout, 0 = none (600)")
    p.add_argument("--config", metavar="FILE", help="kwa configuration file (thresholds, exemptions, …)")
    p.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    p.add_argument(
        "--ci",
        action="store_true",
        help="record the trigger as 'ci'; never fall back to the demo cluster (name a source)",
    )
    gates = p.add_argument_group("CI gates (exit 6 when one rejects the run)")
    gates.add_argument("--fail-on", metavar="SEVERITY", help="reject the run if any failing result is this severe")
    gates.add_argument(
        "--min-score", action="append", metavar="N|PILLAR=N", help="reject the run if a score is below N (repeatable)"
    )
    gates.add_argument(
        "--min-coverage",
        action="append",
        metavar="N|PILLAR=N",
        help="with any gate, reject the run if coverage (%% of applicable checks evaluated) is below N "
        "(default 90, or $KWA_MIN_COVERAGE; 0 = off) or a pillar is incomplete; PILLAR=N per pillar",
    )
    p.add_argument("--force-new", action="store_true", help="start a new run even if an identical one is active")
    p.add_argument("--watch", action="store_true", help="show live progress per pillar while the run executes")
    p.add_argument("--verbose", "-v", action="store_true", help="show Prefect's own log lines")
    return p


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def quiet_prefect(verbose: bool) -> None:
    from flows.prefect_link import bound_requests

    bound_requests()
    if not verbose:
        # Prefect's own console lines (per-task states, a failing check's traceback) drown the
        # result table; they still reach the Prefect UI and `--verbose` shows them here.
        for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
            os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL", "CRITICAL")


def main(argv: list[str] | None = None, prog: str = "python -m flows.run") -> int:
    from cli.pipes import guard_streams
    from flows import signals
    from redaction import install

    install(streams=True)  # `python -m flows.run` is an entry point of its own (kwa run already did this)
    guard_streams()  # a closed pipe drops the report, never the run or its gates' exit code
    args = build_parser(prog).parse_args(argv)
    quiet_prefect(args.verbose)
    signals.install()
    try:
        return _run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # a third signal: the orderly stop was cut short
        print("interrupted: exiting without recording the run's end (`kwa runs reap` records it)", file=sys.stderr)
        return EXIT_ABORTED


def connect_prefect() -> int | None:
    """Make sure a Prefect API is there; returns an exit code when it cannot be.

    A configured API (``PREFECT_API_URL`` or a Prefect profile) that does not answer its health
    check within PREFECT_PATIENCE seconds refuses the run at once, before anything is stored,
    rather than after minutes of client retries.
    """
    from flows.prefect_link import healthy
    from flows.server import PrefectServerError, ensure_api

    try:
        info = ensure_api()
    except PrefectServerError as exc:
        print(f"error: cannot start a local Prefect server: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if info.how in ("environment", "profile") and info.url:
        deadline = time.monotonic() + PREFECT_PATIENCE
        while not healthy(info.url, timeout=1.0):
            if time.monotonic() >= deadline:
                where = "PREFECT_API_URL" if info.how == "environment" else "the active Prefect profile"
                print(
                    f"error: the Prefect API at {info.url} (from {where}) is not answering; no run was "
                    "started. Start that Prefect server, or unset PREFECT_API_URL to let kwa start its "
                    "own local one.",
                    file=sys.stderr,
                )
                return EXIT_FAILED
            time.sleep(0.5)
    if info.how == "started" and info.url:
        print(
            f"Started a local Prefect server at {info.url.removesuffix('/api')} (UI; reused by later runs).",
            file=sys.stderr,
        )
    return None


def _run(args: argparse.Namespace) -> int:
    from checks.config import Config, ConfigError
    from checks.registry import UnknownCheckError, UnknownPillarError, load_all
    from checks.sources.manifests import SourceError, expand_paths
    from checks.sources.resolve import SourceSpec, choose
    from storage.gates import GateError, parse_fail_on, parse_min_coverage, parse_min_score

    try:
        fail_on, min_score = parse_fail_on(args.fail_on), parse_min_score(args.min_score)
        min_coverage = parse_min_coverage(args.min_coverage, requested=bool(fail_on or min_score))
    except GateError as exc:
        raise UsageError(str(exc)) from None
    checks, pillars = _split(args.check), _split(args.pillar)
    try:
        selected = load_all().select(pillars, checks)
    except (UnknownCheckError, UnknownPillarError) as exc:
        raise UsageError(str(exc)) from None
    try:
        Config.load(args.config)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    if args.demo and (args.manifests or args.kubeconfig or args.context):
        raise UsageError("--demo cannot be combined with --manifests, --kubeconfig or --context")
    if args.manifests:
        try:
            expand_paths(args.manifests)
        except SourceError as exc:
            raise UsageError(str(exc)) from None
    spec = SourceSpec("demo") if args.demo else choose(args.manifests, args.kubeconfig, args.context)
    if spec.kind == "demo" and not args.demo and args.ci:
        # A pipeline whose kubeconfig went missing must not pass its gates on the demo cluster.
        raise UsageError(
            "--ci needs something to assess and found no source: no --manifests, no --kubeconfig or --context, "
            "and no kubeconfig ($KUBECONFIG, ~/.kube/config) or in-cluster service account. Pass --manifests PATH "
            "(- for stdin), --kubeconfig FILE [--context NAME], or --demo to assess the bundled demo cluster on "
            "purpose."
        )
    if spec.kind == "demo" and not args.demo:
        print(
            "No kubeconfig found: assessing the bundled demo cluster 'demo-prod' (use --manifests or "
            "--kubeconfig to assess your own).",
            file=sys.stderr,
        )
    if "-" in spec.paths and args.watch:
        raise UsageError("--watch cannot be combined with manifests from stdin")
    failed = connect_prefect()
    if failed is not None:
        return failed
    from flows import signals

    if signals.stop_reason():
        print(f"{signals.stop_reason()} before a run was requested: nothing was started", file=sys.stderr)
        return EXIT_ABORTED

    from flows.admission import request_run, run_parameters
    from storage.db import Database, StorageUnavailable

    parameters = run_parameters(
        spec, pillars or None, checks or None, args.check_timeout, args.run_timeout or None, args.config
    )
    cluster_id = args.cluster_id or spec.default_cluster_id()
    try:
        db = Database()
        run, created = request_run(
            db,
            selected=selected,
            pillars=pillars,
            checks=checks,
            cluster_id=cluster_id,
            source=spec.describe(),
            trigger="ci" if args.ci else "manual",
            parameters=parameters,
            force_new=args.force_new,
        )
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILED
    run_id = run["run_id"]
    ending = None
    if not created:
        print(
            f"an identical run {run_id} is already {run['state']}: following it instead of starting another "
            "(--force-new starts a new one)",
            file=sys.stderr,
        )
        from flows.control import wait, watch

        try:
            watch(db, run_id) if args.watch else wait(db, run_id)
        except KeyboardInterrupt:
            print(f"stopped following run {run_id}; it goes on (kwa runs watch {run_id})", file=sys.stderr)
            return EXIT_INTERRUPTED
    else:
        print(f"run {run_id}: {len(selected)} checks, {spec.describe()}, {_cluster_note(run, args, spec)}",
              file=sys.stderr)  # fmt: skip
        ending = execute(db, run_id, parameters, cluster_id=run["cluster_id"], trigger=run["trigger"], show=args.watch)
    try:
        return conclude(db, run_id, args.output, ending, fail_on, min_score, min_coverage)
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: cannot read run {run_id} back: {exc}", file=sys.stderr)
        return STATE_EXIT.get(ending.state, EXIT_FAILED) if ending else EXIT_FAILED


def _cluster_note(run: dict[str, Any], args: argparse.Namespace, spec: Any) -> str:
    """``cluster id argo-cd:manifests`` — and, for stdin, that every stdin run shares it."""
    from checks.sources.naming import PIPE_ID, STDIN_ID

    note = f"cluster id {run['cluster_id']}"
    if spec.kind == "manifests" and not args.cluster_id and run["cluster_id"] in (STDIN_ID, PIPE_ID):
        note += f" (shared by every {run['cluster_id']} run: --cluster-id NAME keeps this input's history apart)"
    return note


if __name__ == "__main__":
    sys.exit(main())
