"""``kwa run …`` (same as ``python -m flows.run …``), ``kwa checks list``, ``kwa server start|stop|status``,
``kwa query assessments …`` and ``kwa runs …`` (the read-only presentation layer, :mod:`cli`).

Subcommands import their layer lazily, so ``kwa checks list`` never imports Prefect.
"""

from __future__ import annotations

import json
import sys

USAGE = """usage: kwa <command> [options]

commands:
  run [options]            run an assessment (same as: python -m flows.run; see kwa run --help)
  checks list [--pillar P] [--output table|json|yaml]
                           show the registered check catalogue
  server start|stop|status the local Prefect server kwa starts on first use
  query assessments list|summary|history|get|diff
                           query stored results (see kwa query assessments --help)
  runs list|get            list and inspect runs (phases, scores, per-pillar breakdown)
  runs abort|rerun|resume|watch|wait|logs|delete|prune|reap RUN_ID
                           control runs (see kwa runs abort --help, …)
  fleet --contexts a,b | --contexts-file FILE [--deployment NAME]
                           assess many clusters, each its own run, one summary
"""
CONTROL = ("abort", "rerun", "resume", "watch", "wait", "logs", "delete", "prune", "reap")


def main(argv: list[str] | None = None) -> int:
    from redaction import install

    install(streams=True)  # before anything can print, log or raise: no credential reaches the terminal
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "run":
        from flows.run import main as run_main

        return run_main(rest, prog="kwa run")
    if command == "checks":
        return _checks(rest)
    if command == "server":
        return _server(rest)
    if command == "runs" and rest and rest[0] in CONTROL:
        from flows.control_cli import main as control_main

        return control_main(rest)
    if command == "fleet":
        return _fleet(rest)
    if command in ("query", "runs"):
        from cli.main import main as cli_main

        return cli_main([command, *rest], prog="kwa")
    print(f"kwa: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


def _fleet(rest: list[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="kwa fleet", description="Assess many clusters; each is its own run.")
    p.add_argument("--contexts", default="", metavar="A,B", help="kubeconfig contexts")
    p.add_argument("--contexts-file", metavar="FILE", help="YAML list or one context per line")
    p.add_argument("--kubeconfig", metavar="FILE")
    p.add_argument("--pillar", action="append", default=[])
    p.add_argument("--check", action="append", default=[])
    p.add_argument("--deployment", metavar="FLOW/DEPLOYMENT", help="run each cluster as a run of this deployment")
    p.add_argument("--output", "-o", choices=("table", "json"), default="table")
    a = p.parse_args(rest)
    from flows.fleet import FleetError, fleet, read_targets
    from flows.run import connect_prefect, quiet_prefect

    split = lambda values: [x.strip() for item in values for x in item.split(",") if x.strip()]  # noqa: E731
    try:
        read_targets(split([a.contexts]), a.contexts_file)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    quiet_prefect(verbose=False)
    if connect_prefect() is not None:
        return 4
    summary = fleet(
        contexts=split([a.contexts]) or None,
        contexts_file=a.contexts_file,
        kubeconfig=a.kubeconfig,
        pillars=split(a.pillar) or None,
        checks=split(a.check) or None,
        deployment=a.deployment,
    )
    if a.output == "json":
        print(json.dumps(summary, indent=2, default=str))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(
            title=f"fleet: {summary['completed']} completed, {summary['partial']} partial, "
            f"{summary['failed']} failed, {summary['aborted']} aborted"
        )
        for col in ("cluster", "state", "score", "grade", "failing", "run"):
            table.add_column(col)
        for r in summary["clusters"]:
            score = f"{r['score']:.1f}" if isinstance(r["score"], int | float) else "-"
            # Cluster ids and states come from kubeconfigs and stored runs: never Rich markup.
            cells = (r["cluster_id"], r["state"], score, r["grade"] or "-", str(r["failing"]), r["run_id"])
            table.add_row(*(escape(str(c)) for c in cells))
        Console().print(table)
    return 0 if summary["failed"] == 0 and summary["aborted"] == 0 else 4


def _checks(rest: list[str]) -> int:
    import argparse

    from checks.registry import UnknownPillarError, load_all

    p = argparse.ArgumentParser(prog="kwa checks")
    p.add_argument("action", choices=["list"])
    p.add_argument("--pillar", action="append", default=[])
    p.add_argument("--output", "-o", choices=("table", "json", "yaml"), default="table")
    a = p.parse_args(rest)
    pillars = [x.strip() for item in a.pillar for x in item.split(",") if x.strip()]
    try:
        checks = load_all().select(pillars, None)
    except UnknownPillarError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = [c.summary() for c in checks]
    if a.output == "json":
        print(json.dumps(rows, indent=2))
    elif a.output == "yaml":
        import yaml

        print(yaml.safe_dump(rows, sort_keys=False))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=f"{len(rows)} checks")
        for col in ("id", "pillar", "severity", "mode", "name"):
            table.add_column(col)
        for r in rows:  # third-party checks register their own names: printed, never read as markup
            cells = (r["id"], r["pillar"], r["severity"], r["mode"] + (" (opt-in)" if r["opt_in"] else ""), r["name"])
            table.add_row(*(escape(str(c)) for c in cells))
        Console().print(table)
    return 0


def _server(rest: list[str]) -> int:
    from flows.server import PrefectServerError, healthy, read_state, start_local_server, stop_local_server

    action = rest[0] if rest else "status"
    if action == "start":
        try:
            info = start_local_server()
        except PrefectServerError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"Prefect server at {info.url} (log: {info.log})")
        print(f"export PREFECT_API_URL={info.url}")
        return 0
    if action == "stop":
        print("stopped" if stop_local_server() else "no kwa-managed Prefect server is running")
        return 0
    if action == "status":
        state = read_state()
        if state and healthy(state["url"]):
            print(f"running: {state['url']} (pid {state['pid']}, log {state['log']})")
            return 0
        print("not running")
        return 3
    print(f"kwa server: unknown action {action!r} (start, stop, status)", file=sys.stderr)
    return 2
