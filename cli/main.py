"""Argument parsing and error handling for ``kwa query …`` and ``kwa runs …`` (``python -m cli …``).

Every expected failure ends in one line on stderr and an exit code from :mod:`cli.errors`;
only a bug prints a traceback (exit 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from cli.errors import EXIT_INTERNAL, EXIT_NOT_FOUND, EXIT_OK, EXIT_STORAGE, EXIT_USAGE, UsageError
from cli.formatters import FORMATS
from cli.options import MAX_DIFF_ROWS, MAX_HISTORY, MAX_OFFSET, MAX_PAGE, bounded_int

EPILOG = (
    "exit codes: 0 ok, 2 usage error (bad option, date, cursor or value), 4 storage unavailable, "
    "6 gate rejected the run (--fail-on/--min-score/--min-coverage), 7 not found (run, result, cluster) or no runs "
    "yet, 9 a gate was asked of a run that assessed nothing"
)
Handler = Callable[..., int]


def _output(p: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    p.add_argument("--output", "-o", choices=formats, default="table", help=f"output format ({', '.join(formats)})")


def _multi(p: argparse.ArgumentParser, flag: str, dest: str, what: str) -> None:
    p.add_argument(flag, dest=dest, action="append", metavar=what.upper(), help=f"{what} (repeat, or a,b)")


def _scope_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--scope", metavar="LABEL", help=f"full, pillar:P[,P] or check:ID[,ID]: {what}")
    p.add_argument("--any-scope", action="store_true", help="compare runs whatever they assessed (full, pillar, check)")


def build_parser(prog: str = "kwa") -> argparse.ArgumentParser:
    from cli import query, runs

    parser = argparse.ArgumentParser(prog=prog, description="Query kwa's stored runs and results.", epilog=EPILOG)
    top = parser.add_subparsers(dest="command", required=True, metavar="{query,runs}")

    q = top.add_parser("query", help="query assessments", epilog=EPILOG)
    qs = q.add_subparsers(dest="noun", required=True, metavar="assessments")
    a = qs.add_parser("assessments", help="results, summaries, history, diffs", epilog=EPILOG)
    acts = a.add_subparsers(dest="action", required=True, metavar="{list,summary,history,get,diff}")

    ls = acts.add_parser(
        "list",
        help="results of a run (default: the latest run), filtered and paginated",
        description="Findings first: results ordered by severity (critical to info), then check id, then object "
        "(--sort id: the order the run stored them). Scope: --run, else --since across runs, else the latest "
        "run (of --cluster).",
        epilog=EPILOG,
    )
    ls.add_argument("--run", metavar="RUN_ID", help="results of this run")
    ls.add_argument("--cluster", metavar="ID", help="the latest run of this cluster (with --since: its runs)")
    _multi(ls, "--pillar", "pillar", "pillar")
    _multi(ls, "--status", "status", "status")
    _multi(ls, "--check", "check", "check id")
    _multi(ls, "--namespace", "namespace", "namespace")
    _multi(ls, "--kind", "kind", "object kind")
    _multi(ls, "--severity", "severity", "severity")
    ls.add_argument("--since", metavar="WHEN", help="assessed at or after: ISO 8601 (2026-02-16T10:00Z) or 7d, 12h")
    ls.add_argument(
        "--limit",
        type=bounded_int("--limit", 0, MAX_PAGE, " (0 = everything)"),
        default=None,
        metavar="N",
        help=f"page size (at most {MAX_PAGE:,}; 0 = everything); default: 50 rows in a table, every row "
        "in csv/json/yaml/sarif/junit (csv/json/yaml streamed page by page)",
    )
    ls.add_argument(
        "--offset",
        type=bounded_int("--offset", 0, MAX_OFFSET, "; deeper pages: --cursor"),
        default=0,
        metavar="N",
        help="skip N results (offset pagination)",
    )
    ls.add_argument("--cursor", metavar="C", help="next_cursor of the previous page (cursor pagination)")
    ls.add_argument(
        "--sort",
        choices=("severity", "id"),
        default="severity",
        help="severity (default): most severe first, then check id and object; id: the order results were stored",
    )
    _output(ls, FORMATS)
    ls.set_defaults(handler=query.cmd_list)

    sm = acts.add_parser(
        "summary",
        help="counts per pillar and check, scores, coverage, top failing checks; CI gates",
        epilog=EPILOG,
    )
    sm.add_argument("--run", metavar="RUN_ID", help="default: the latest run (of --cluster)")
    sm.add_argument("--cluster", metavar="ID")
    sm.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help="exit 6 when any result is failing at this severity or worse (critical|high|medium|low|info)",
    )
    sm.add_argument(
        "--min-score",
        action="append",
        metavar="N|PILLAR=N",
        help="exit 6 when the overall (N) or a pillar's (security=80) score is below N; repeatable",
    )
    sm.add_argument(
        "--min-coverage",
        action="append",
        metavar="N|PILLAR=N",
        help="with any gate, exit 6 when coverage (%% of applicable checks evaluated) is below N "
        "(default 90, or $KWA_MIN_COVERAGE; 0 = off) or a pillar is incomplete; PILLAR=N per pillar; repeatable",
    )
    _output(sm, FORMATS)
    sm.set_defaults(handler=query.cmd_summary)

    hi = acts.add_parser("history", help="one row per run over time with scores, counts and trend", epilog=EPILOG)
    hi.add_argument(
        "--cluster", metavar="ID", help="default: the only cluster with runs (several: asked on a terminal, or exit 2)"
    )
    _scope_options(hi, "runs of this scope only (default: full runs, else the latest run's scope)")
    hi.add_argument("--since", metavar="WHEN", help="runs finished at or after: ISO 8601 or 30d")
    hi.add_argument(
        "--limit",
        type=bounded_int("--limit", 1, MAX_HISTORY),
        default=1000,
        metavar="N",
        help=f"the newest N runs (default 1000, at most {MAX_HISTORY:,})",
    )
    hi.add_argument("--plot", metavar="FILE.png", help="also draw the score per pillar over time (png, svg, pdf)")
    _output(hi, ("table", "json", "yaml", "csv"))
    hi.set_defaults(handler=query.cmd_history)

    gt = acts.add_parser("get", help="one result (asm_… id) or one run (run id) in full", epilog=EPILOG)
    gt.add_argument("id", metavar="ID", help="a result id (asm_…) or a run id")
    _output(gt, ("table", "json", "yaml"))
    gt.set_defaults(handler=query.cmd_get)

    df = acts.add_parser(
        "diff",
        help="what changed between two runs (default: the latest two of a cluster)",
        description="Keyed by (check, object, container): new failures, fixed, still failing, other changes, "
        "and checks/objects that appeared or disappeared.",
        epilog=EPILOG,
    )
    df.add_argument("runs", nargs="*", metavar="RUN", help="RUN_A RUN_B (older first)")
    df.add_argument("--cluster", metavar="ID", help="without run ids: its latest two finished runs of one scope")
    _scope_options(df, "without run ids: the latest two runs of this scope (default: the latest run's scope)")
    df.add_argument(
        "--any-cluster", action="store_true", help="compare two runs given even when their clusters differ"
    )
    df.add_argument(
        "--max-rows",
        type=bounded_int("--max-rows", 0, MAX_DIFF_ROWS),
        default=50,
        metavar="N",
        help="rows per section in the table (50)",
    )
    _output(df, ("table", "json", "yaml", "csv"))
    df.set_defaults(handler=query.cmd_diff)

    r = top.add_parser("runs", help="list and inspect runs", epilog=EPILOG)
    racts = r.add_subparsers(dest="action", required=True, metavar="{list,get}")
    rl = racts.add_parser("list", help="runs, newest first, cursor-paginated", epilog=EPILOG)
    _multi(rl, "--state", "state", "state")
    rl.add_argument("--cluster", metavar="ID")
    _multi(rl, "--trigger", "trigger", "trigger")
    rl.add_argument("--since", metavar="WHEN", help="requested at or after: ISO 8601 or 7d")
    rl.add_argument(
        "--limit",
        type=bounded_int("--limit", 0, MAX_PAGE, " (0 = all)"),
        default=None,
        metavar="N",
        help=f"page size (at most {MAX_PAGE:,}; 0 = all); default: the newest 20 in a table, every run in "
        "csv/json/yaml (streamed page by page)",
    )
    rl.add_argument("--cursor", metavar="C", help="next_cursor of the previous page")
    _output(rl, ("table", "json", "yaml", "csv"))
    rl.set_defaults(handler=runs.cmd_runs_list)
    rg = racts.add_parser("get", help="one run in full", epilog=EPILOG)
    rg.add_argument("id", metavar="RUN_ID")
    _output(rg, ("table", "json", "yaml"))
    rg.set_defaults(handler=runs.cmd_runs_get)
    return parser


def open_database() -> object:
    """kwa's database, without creating one where there is none (a query never needs an empty file)."""
    from storage.db import Database, default_data_dir
    from storage.queries import NoRuns

    url = os.environ.get("KWA_DATABASE_URL", "").strip()
    if not url:
        path = default_data_dir() / "kwa.db"
        if not path.exists():
            raise NoRuns()
        return Database(f"sqlite:///{path}")
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.exists():
            raise NoRuns()
    return Database(url)


def check_options(args: argparse.Namespace) -> None:
    """Every value that can be checked without the database, checked before it is opened: a bad
    value is a usage error (exit 2) even where there are no runs yet (exit 7)."""
    from cli.query import gate_options
    from cli.timeparse import parse_since

    if isinstance(getattr(args, "since", None), str):
        args.since = parse_since(args.since)
    if hasattr(args, "min_coverage"):
        gate_options(args)


def main(argv: list[str] | None = None, prog: str = "kwa", out: TextIO | None = None) -> int:
    from storage.db import StorageUnavailable
    from storage.gates import GateError
    from storage.queries import ClusterNotFound, NoRuns, QueryError, ResultNotFound, RunNotFound

    args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
    stream = out if out is not None else sys.stdout
    handler: Handler = args.handler
    db = None
    try:
        check_options(args)
        db = open_database()
        return handler(db, args, stream)
    except (UsageError, QueryError, GateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NoRuns:
        from cli.runs import NO_RUNS_HINT

        print(NO_RUNS_HINT, file=sys.stderr)
        return EXIT_NOT_FOUND
    except (RunNotFound, ResultNotFound, ClusterNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, RunNotFound):
            print("hint: `kwa runs list` shows the runs there are", file=sys.stderr)
        return EXIT_NOT_FOUND
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: {exc}", file=sys.stderr)
        return EXIT_STORAGE
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        print("internal error (a bug in kwa; please report it with this traceback):", file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL
    finally:
        if db is not None:
            db.dispose()  # type: ignore[attr-defined]
