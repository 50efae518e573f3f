"""``python -m flows.run``: run an assessment from the command line.

Exit codes (also in the README):
  0  completed: every check executed (whatever it found)
  1  internal error (a bug: please report it)
  2  usage error: unknown check or pillar, bad option, unreadable config or missing manifest path
  3  partial: at least one check errored or timed out, at least one executed
  4  failed: run-level error (cluster unreachable, snapshot unreadable, storage unavailable,
     run-level timeout) or every check errored or timed out
  5  aborted: the run was cancelled
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections import defaultdict
from typing import Any

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_PARTIAL, EXIT_FAILED, EXIT_ABORTED = 0, 1, 2, 3, 4, 5
STATE_EXIT = {"completed": EXIT_OK, "partial": EXIT_PARTIAL, "failed": EXIT_FAILED, "aborted": EXIT_ABORTED}
STATUSES = ("passing", "failing", "warning", "skipped", "error", "timeout")


class UsageError(Exception):
    pass


def build_parser(prog: str = "python -m flows.run") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Assess a Kubernetes cluster (or manifests) against the Well-Architected pillars.",
        epilog="Exit codes: 0 completed, 2 usage error, 3 partial, 4 failed, 5 aborted.",
    )
    p.add_argument(
        "--check", action="append", default=[], metavar="ID", help="run only this check (repeatable, or a,b)"
    )
    p.add_argument("--pillar", action="append", default=[], metavar="P[,P]", help="run only these pillars")
    src = p.add_argument_group("source (default: current kubeconfig context, else the bundled demo cluster)")
    src.add_argument("--manifests", action="append", default=[], metavar="PATH", help="file, directory or - (stdin)")
    src.add_argument("--kubeconfig", metavar="FILE")
    src.add_argument("--context", metavar="NAME")
    src.add_argument("--demo", action="store_true", help="assess the bundled demo cluster")
    p.add_argument("--cluster-id", metavar="ID", help="name under which this cluster's history is kept")
    p.add_argument("--check-timeout", type=float, default=30.0, metavar="S", help="per-check timeout (default 30)")
    p.add_argument("--run-timeout", type=float, default=600.0, metavar="S", help="whole-run timeout, 0 = none (600)")
    p.add_argument("--config", metavar="FILE", help="kwa configuration file (thresholds, disabled checks)")
    p.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    p.add_argument("--ci", action="store_true", help="record the trigger as 'ci'")
    p.add_argument("--verbose", "-v", action="store_true", help="show Prefect's own log lines")
    return p


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def default_cluster_id(spec: Any, explicit: str | None) -> str:
    if explicit:
        return explicit
    if spec.kind == "demo":
        return "demo-prod"
    if spec.kind == "live":
        if spec.context:
            return spec.context
        try:
            from kubernetes import config as kube_config

            _, active = kube_config.list_kube_config_contexts(config_file=spec.kubeconfig)
            return active["name"]
        except Exception:
            return "in-cluster" if os.environ.get("KUBERNETES_SERVICE_HOST") else "live"
    return "manifests"


def main(argv: list[str] | None = None, prog: str = "python -m flows.run") -> int:
    args = build_parser(prog).parse_args(argv)
    if not args.verbose:
        # Prefect's own console lines (per-task states, a failing check's traceback) drown the
        # result table; they still reach the Prefect UI and `--verbose` shows them here.
        for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
            os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL", "CRITICAL")
    try:
        return _run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_ABORTED


def _run(args: argparse.Namespace) -> int:
    from checks.config import Config, ConfigError
    from checks.registry import UnknownCheckError, UnknownPillarError, load_all
    from checks.sources.manifests import SourceError, expand_paths
    from checks.sources.resolve import SourceSpec, choose

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
    if spec.kind == "demo" and not args.demo:
        print(
            "No kubeconfig found: assessing the bundled demo cluster 'demo-prod' (use --manifests or "
            "--kubeconfig to assess your own).",
            file=sys.stderr,
        )
    cluster_id = default_cluster_id(spec, args.cluster_id)

    from flows.server import PrefectServerError, ensure_api

    try:
        info = ensure_api()
    except PrefectServerError as exc:
        print(f"error: cannot start a local Prefect server: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if info.how == "started":
        print(
            f"Started a local Prefect server at {info.url.removesuffix('/api')} (UI; reused by later runs).",
            file=sys.stderr,
        )

    from flows.assessment import assessment, request_run
    from storage.db import Database, StorageUnavailable

    try:
        db = Database()
        run = request_run(
            db,
            selected=selected,
            pillars=pillars,
            checks=checks,
            cluster_id=cluster_id,
            source=spec.describe(),
            trigger="ci" if args.ci else "manual",
        )
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: {exc}", file=sys.stderr)
        return EXIT_FAILED
    run_id = run["run_id"]
    print(f"run {run_id}: {len(selected)} checks, {spec.describe()}", file=sys.stderr)

    state = assessment(
        source=spec.to_dict(),
        pillars=pillars or None,
        checks=checks or None,
        cluster_id=cluster_id,
        check_timeout=args.check_timeout,
        run_timeout=args.run_timeout or None,
        trigger="ci" if args.ci else "manual",
        config_path=args.config,
        run_id=run_id,
        return_state=True,
    )
    summary = state.result(raise_on_failure=False) if state.is_completed() else None
    from storage.runs import fail_run, get_run

    record = get_run(db, run_id) or {}
    if not isinstance(summary, dict):
        # The flow itself failed or crashed before it could record an outcome: record it now.
        message = f"run-level error: {state.message or state.name}"
        if record.get("state") in ("queued", "running"):
            with contextlib.suppress(Exception):
                fail_run(db, run_id, message)
        record = get_run(db, run_id) or {"run_id": run_id, "state": "failed", "error": message}
        summary = {"run": record, "checks": [], "problems": [], "unavailable": {}}
    final = record.get("state", "failed")
    summary["run"] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in record.items()}
    render(summary, args.output)
    return STATE_EXIT.get(final, EXIT_FAILED)


def pillar_table(summary: dict[str, Any]) -> dict[str, dict[str, int]]:
    from checks.registry import load_all

    registry = load_all()
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(("checks", *STATUSES), 0))
    for c in summary.get("checks", []):
        pillar = registry.by_id(c["check_id"]).pillar.value
        table[pillar]["checks"] += 1
        for status, n in c["counts"].items():
            table[pillar][status] += n
    return dict(table)


def render(summary: dict[str, Any], output: str) -> None:
    summary = {**summary, "pillars": pillar_table(summary)}
    if output == "json":
        print(json.dumps(summary, indent=2, default=str))
        return
    if output == "yaml":
        import yaml

        print(yaml.safe_dump(json.loads(json.dumps(summary, default=str)), sort_keys=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)  # piped output: no wrapping mid-message
    run = summary["run"]
    colour = {"completed": "green", "partial": "yellow", "failed": "red", "aborted": "magenta"}.get(
        run.get("state"), ""
    )
    console.print(
        f"Run [bold]{run.get('run_id')}[/bold] · cluster {run.get('cluster_id', '?')} · "
        f"state [{colour}]{run.get('state')}[/{colour}]"
    )
    if run.get("error"):
        console.print(f"[red]error:[/red] {run['error']}")
    table = Table(title=None)
    table.add_column("pillar")
    for col in ("checks", *STATUSES):
        table.add_column(col, justify="right")
    totals = dict.fromkeys(("checks", *STATUSES), 0)
    for pillar, counts in summary["pillars"].items():
        table.add_row(pillar, *(str(counts[c]) for c in ("checks", *STATUSES)))
        for c in totals:
            totals[c] += counts[c]
    if summary["pillars"]:
        table.add_row("[bold]total[/bold]", *(f"[bold]{totals[c]}[/bold]" for c in ("checks", *STATUSES)))
        console.print(table)
    bad = [c for c in summary.get("checks", []) if c["outcome"] in ("errored", "timed_out")]
    for c in bad:
        console.print(f"[yellow]{c['check_id']}[/yellow] {c['outcome']}: {c['message']}")
    for kind, why in (summary.get("unavailable") or {}).items():
        console.print(f"[yellow]not listed[/yellow] {kind}: {why}")
    for problem in summary.get("problems", []):
        console.print(f"[yellow]skipped input[/yellow] {problem}")


if __name__ == "__main__":
    sys.exit(main())
