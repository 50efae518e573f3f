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
  runs list|get            list and inspect runs
"""


def main(argv: list[str] | None = None) -> int:
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
    if command in ("query", "runs"):
        from cli.main import main as cli_main

        return cli_main([command, *rest], prog="kwa")
    print(f"kwa: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


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
        from rich.table import Table

        table = Table(title=f"{len(rows)} checks")
        for col in ("id", "pillar", "severity", "mode", "name"):
            table.add_column(col)
        for r in rows:
            table.add_row(
                r["id"], r["pillar"], r["severity"], r["mode"] + (" (opt-in)" if r["opt_in"] else ""), r["name"]
            )
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
