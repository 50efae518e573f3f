"""``kwa runs list|get``."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from cli.errors import UsageError
from cli.formatters import table
from cli.formatters.csvout import write_csv
from cli.stream import STREAMED, stream_runs
from kwa.exit_codes import ExitCode
from kwa.views.assessments import Options, cmd_get, write_structured
from storage.counts import runs_after
from storage.db import Database
from storage.queries import RunQuery, list_run_page

TABLE_PAGE = 20  # `runs list -o table` without --limit: the newest 20; machine formats get every run
NO_RUNS_HINT = (
    "no runs yet: start one with `kwa run` (it assesses the bundled demo cluster when no kubeconfig is found)"
)
RUN_COLUMNS = (
    "run_id",
    "cluster_id",
    "state",
    "scope",
    "trigger",
    "source",
    "requested_at",
    "started_at",
    "completed_at",
    "duration_ms",
    "total",
    "passing",
    "failing",
    "warning",
    "skipped",
    "error",
    "timeout",
    "overall_score",
    "overall_grade",
    "overall_coverage",
    "warnings",
    "error_message",
)


def _flat(run: dict[str, Any]) -> dict[str, Any]:
    h = run.get("history") or {}
    overall = ((h.get("scores") or {}).get("overall") or {}) if h else {}
    return {
        **run,
        "duration_ms": h.get("duration_ms"),
        "total": h.get("total"),
        **{s: h.get(f"{s}_count") for s in ("passing", "failing", "warning", "skipped", "error", "timeout")},
        "overall_score": overall.get("score") if isinstance(overall, dict) else None,
        "overall_grade": overall.get("grade") if isinstance(overall, dict) else None,
        "overall_coverage": overall.get("coverage") if isinstance(overall, dict) else None,
        "warnings": len(run.get("warnings") or []),
        "error_message": run.get("error"),
    }


def cmd_runs_list(db: Database, args: Options, out: TextIO) -> int:
    fmt = args.output
    q = RunQuery(
        state=[s.lower() for s in args.state],
        cluster_id=args.cluster,
        trigger=[t.lower() for t in args.trigger],
        since=args.since,
        limit=TABLE_PAGE if args.limit is None else args.limit,
        cursor=args.cursor,
    )
    if args.limit is None and fmt in STREAMED:
        # Every run, a page at a time (cli/stream.py); an empty database still says how to start.
        first = stream_runs(db, q, fmt, out, RUN_COLUMNS, _flat)
        if first.scope.get("empty_database"):
            print(NO_RUNS_HINT, file=sys.stderr)
        return ExitCode.OK
    page = list_run_page(db, q)
    if page.scope.get("empty_database"):
        print(NO_RUNS_HINT, file=sys.stderr if fmt != "table" else out)
        if fmt == "table":
            return ExitCode.OK
    payload = {"items": page.items, "pagination": {"limit": page.limit, "next_cursor": page.next_cursor}}
    if write_structured(fmt, "RunList", payload, out):
        return ExitCode.OK
    if fmt == "csv":
        write_csv(RUN_COLUMNS, [_flat(r) for r in page.items], out)
        if page.next_cursor:
            print(f"more runs: repeat with --cursor {page.next_cursor} (or --limit 0 for all)", file=sys.stderr)
        return ExitCode.OK
    if not page.items:
        print("no runs match these filters", file=out)
        return ExitCode.OK
    more = runs_after(db, q, page.items[-1]) if page.next_cursor else None
    table.runs_table(page, out, f"--cursor {page.next_cursor}" if page.next_cursor else None, more)
    return ExitCode.OK


def cmd_runs_get(db: Database, args: Options, out: TextIO) -> int:
    if args.id.strip().startswith("asm_"):
        raise UsageError(f"{args.id} is a result id: use `kwa query assessments get {args.id}`")
    return cmd_get(db, args, out)
