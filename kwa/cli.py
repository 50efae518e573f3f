"""``kwa run …`` (same as ``python -m flows.run …``), ``kwa checks list``, ``kwa server start|stop|status``,
``kwa query assessments …`` and ``kwa runs …`` (the read-only presentation layer, :mod:`cli`).

Subcommands import their layer lazily, so ``kwa checks list`` never imports Prefect.
"""

from __future__ import annotations

import json
import sys
from typing import Any

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
    from cli.pipes import guard_streams
    from redaction import install

    install(streams=True)  # before anything can print, log or raise: no credential reaches the terminal
    guard_streams()  # `kwa … | head`: a reader that goes away ends the output quietly
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
    p.add_argument("--verbose", "-v", action="store_true", help="show Prefect's own log lines")
    a = p.parse_args(rest)
    from flows.run import quiet_prefect

    # Before anything imports Prefect: its logging is configured once, at import, from these
    # settings (importing flows.fleet first is what let Prefect's console lines through).
    quiet_prefect(verbose=a.verbose)
    from flows.fleet import FleetError, fleet, read_targets
    from flows.run import connect_prefect

    split = lambda values: [x.strip() for item in values for x in item.split(",") if x.strip()]  # noqa: E731
    try:
        read_targets(split([a.contexts]), a.contexts_file)
    except FleetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
        _fleet_table(summary)
    return 0 if summary["failed"] == 0 and summary["aborted"] == 0 else 4


def _fleet_table(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from cli.formatters.common import STATE_STYLE
    from cli.formatters.text import console_for, line, lit, styled
    from storage.grades import compact_score_text

    table = Table(
        title=f"fleet: {summary['completed']} completed, {summary['partial']} partial, "
        f"{summary['failed']} failed, {summary['aborted']} aborted"
    )
    for col, justify in (("cluster", "left"), ("state", "left"), ("score", "right"), ("failing", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("run")
    for r in summary["clusters"]:
        # Cluster ids and states come from kubeconfigs and stored runs: literal text, never Rich markup.
        table.add_row(
            lit(r["cluster_id"]),
            styled(r["state"], STATE_STYLE),
            lit(compact_score_text(r)),
            lit(r["failing"]),
            lit(r["run_id"] or "-"),
        )
    console = console_for(sys.stdout)
    console.print(table)
    # What `kwa run` would have printed under its table: why a run did not complete.
    for r in summary["clusters"]:
        if r.get("error"):
            state = styled(r["state"], STATE_STYLE)
            console.print(line((f"{r['cluster_id']}:", "bold"), " ", state, f": {r['error']}"), soft_wrap=True)


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
        from rich.table import Table

        from cli.formatters.text import console_for, lit  # Rich only: the catalogue needs no storage

        table = Table(title=f"{len(rows)} checks")
        for col in ("id", "pillar", "severity", "mode", "name"):
            table.add_column(col)
        for r in rows:  # third-party checks register their own names: printed, never read as markup
            mode = r["mode"] + (" (opt-in)" if r["opt_in"] else "")
            table.add_row(*(lit(c) for c in (r["id"], r["pillar"], r["severity"], mode, r["name"])))
        console_for(sys.stdout).print(table)
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
