"""How ``kwa runs logs`` prints a run's log lines: as they are read, a page at a time, then what
was left out. The records come from ``flows.control.logs``; this module only writes them."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from cli.pipes import reader_gone
from redaction.controls import terminal_safe


def print_logs(records: Iterable[dict[str, Any]], tally: Any, scope: str, *, verbose: bool, output: str) -> None:
    """Write ``records`` (text lines or a JSON array), then say on stderr what ``tally`` counted as
    left out. ``scope`` names what was asked for: ``run R`` or ``check C of run R``."""
    if output == "json":
        _json_list(records, sys.stdout)
    else:
        for r in records:
            where = f"{r['where']:<14} " if verbose else ""
            level = logging.getLevelName(r["level"])
            # Log messages carry object names from the input (and may be any Prefect line).
            print(f"{r['timestamp']:%Y-%m-%d %H:%M:%S} {level:8s} {terminal_safe(where)}{terminal_safe(r['message'])}")
            if reader_gone():
                return
    if not verbose and tally.hidden:
        problems = f", {tally.hidden_problems:,} of them warnings or errors" if tally.hidden_problems else ""
        print(
            f"{tally.hidden:,} of Prefect's own lines for {scope} not shown{problems}: --verbose shows them",
            file=sys.stderr,
        )
    if tally.read and not tally.kwa and not verbose:
        print(
            f"{scope} has no kwa log lines (runs of an older kwa have only Prefect's): --verbose shows Prefect's",
            file=sys.stderr,
        )
    elif not tally.read:
        print(f"no log lines for {scope} (yet)", file=sys.stderr)


def _json_list(records: Iterable[dict[str, Any]], out: TextIO) -> None:
    """A JSON array, one record per line, written as the records come."""
    first = True
    for r in records:
        out.write(("[\n  " if first else ",\n  ") + json.dumps(r, default=str, ensure_ascii=False))
        first = False
        if reader_gone(out):
            return
    out.write("[]\n" if first else "\n]\n")
