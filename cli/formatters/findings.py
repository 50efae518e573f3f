"""The tables people act on: findings first, one block per check, each object with ``file:line``.

``kwa query assessments list`` (table) prints one block per check in the listing's order (most
severe first): a heading with the check's id, name, severity and pillar, its remediation when the
block holds a finding, then one row per result - status, object, where it is in its manifest (the
offending field's line when the check named the field), the message in full (it wraps, nothing
is cut off the screen) and the id. ``summary``'s top failing checks list each check's first
failing objects with where they are.

Built on the shared table helpers (cli/formatters/table.py: literal text, never markup; the
console that adapts to a pipe), imported when a table is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from rich import box
from rich.table import Table
from rich.text import Text

from cli.formatters.common import SEVERITY_STYLE, STATUS_STYLE, object_ref
from cli.formatters.text import is_terminal

if TYPE_CHECKING:
    from rich.console import Console

FINDINGS = ("failing", "warning")
OBJECT_WIDTH = 48  # the object and where columns wrap past this, so the message keeps its room


def check_blocks(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """Consecutive rows of the same run and check, in the listing's order."""
    blocks: list[list[Mapping[str, Any]]] = []
    for r in rows:
        if blocks and (blocks[-1][0]["run_id"], blocks[-1][0]["check_id"]) == (r["run_id"], r["check_id"]):
            blocks[-1].append(r)
        else:
            blocks.append([r])
    return blocks


def block_heading(r: Mapping[str, Any], count: int, with_run: bool = False) -> Text:
    """``SEC-001 Privileged or HostProcess container · critical · security · 3 results``."""
    from cli.formatters.table import line, styled

    return line(
        *([(str(r["run_id"]), "dim"), " "] if with_run else []),
        (str(r["check_id"]), "bold"),
        " ",
        str(r.get("check_name") or ""),
        " · ",
        styled(r.get("severity"), SEVERITY_STYLE),
        f" · {r.get('pillar')} · {count} result{'s' if count != 1 else ''}",
        *([" · ", (", ".join(r["controls"]), "bold")] if r.get("controls") else []),
    )


def where(r: Mapping[str, Any]) -> str:
    """``k8s/app.yaml:24`` (the field's line, else the object's first line) for a manifest object;
    the stored source as it is otherwise (``api``, ``<stdin>#0``), ``-`` for run-level rows."""
    source = r.get("source")
    if not source:
        return "-"
    path = str(source).split("#", 1)[0]
    line_no = r.get("field_line") or r.get("source_line")
    return f"{path}:{line_no}" if line_no and path != "api" else str(source)


def top_failing_table(console: Console, top: Sequence[Mapping[str, Any]]) -> None:
    """The summary's top failing checks, most severe first, each with its first failing objects
    and where they are."""
    from cli.formatters.table import lit, styled

    table = Table(title="top failing checks (most severe first)")
    for col, justify in (("check", "left"), ("severity", "left"), ("pillar", "left"), ("objects", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    table.add_column("name", max_width=40)
    table.add_column("failing objects (first few)", overflow="fold")
    for c in top:
        examples = []
        for o in c.get("objects") or []:
            place = where({"source": o.get("source"), "source_line": o.get("line")})
            examples.append(o["object"] + (f" ({place})" if place not in ("-", "api") else ""))
        more = c["failing_objects"] - len(examples)
        if examples and more > 0:
            examples.append(f"and {more:,} more")
        table.add_row(
            lit(c["check_id"]),
            styled(c["severity"], SEVERITY_STYLE),
            lit(c["pillar"]),
            lit(c["failing_objects"]),
            lit(c["check_name"]),
            lit("\n".join(examples) or "-"),
        )
    console.print(table)


def _message(r: Mapping[str, Any]) -> str:
    """The message on one line (stored messages may hold line breaks), ``-`` when there is none."""
    return " ".join(str(r.get("message") or r.get("reason") or "").split()) or "-"


def assessments_table(page: Any, out: TextIO, next_hint: str | None) -> None:
    """Results as one block per check (findings first, as the listing orders them): a heading with
    the check's id, name, severity and pillar, its remediation when the block holds a finding,
    then its objects - where each is (``file:line``), its status and its message, in full."""
    from cli.formatters.table import console_for, line, lit, page_footer, run_line, styled

    console = console_for(out)
    if page.run is not None:
        console.print(run_line(page.run))
    elif page.scope.get("since"):
        cluster = page.scope.get("cluster_id") or "all"
        console.print(lit(f"Results assessed since {page.scope['since']} (cluster {cluster})"))
    if not page.items:
        if page.run is not None and page.run.get("state") in ("queued", "running"):
            console.print(lit(f"run {page.run['run_id']} is {page.run['state']}: no results yet"))
        else:
            console.print("no results match these filters")
        return
    # The same column widths in every block, so the blocks read as one list; the message takes
    # what is left of the width and wraps rather than being cut.
    terminal = is_terminal(out)
    cap = OBJECT_WIDTH if terminal else None  # piped: whole names on one line, for grep and cut
    widths = {
        "status": max(len(str(r["status"])) for r in page.items),
        "object": max(len(object_ref(r)) for r in page.items),
        "where": max(len(where(r)) for r in page.items),
        "id": max(len(str(r["id"])) for r in page.items),
    }
    if cap:
        widths["object"], widths["where"] = min(cap, widths["object"]), min(cap, widths["where"])
    # Piped there is no width to share out: the message column is as wide as the page's longest
    # message, so the id column lines up from block to block.
    message_width = None if terminal else max(len(_message(r)) for r in page.items)
    for n, block in enumerate(check_blocks(page.items)):
        if n:
            console.print()
        console.print(block_heading(block[0], len(block), with_run=page.run is None))
        fix = next((r.get("remediation") for r in block if r["status"] in FINDINGS and r.get("remediation")), None)
        if fix:
            console.print(line("  ", ("fix:", "bold"), " ", " ".join(str(fix).split())))
        # At a terminal the message takes the width left and wraps; piped, rows keep their natural
        # width (the console has no limit there), so nothing is wrapped or cut.
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=terminal)
        table.add_column("status", no_wrap=True, min_width=widths["status"])
        table.add_column("object", overflow="fold", min_width=widths["object"], max_width=cap)
        table.add_column("where", overflow="fold", min_width=widths["where"], max_width=cap)
        table.add_column("message", overflow="fold", ratio=1, min_width=message_width)
        table.add_column("id", no_wrap=True, min_width=widths["id"], style="dim")
        for r in block:
            table.add_row(
                styled(r["status"], STATUS_STYLE),
                lit(object_ref(r)),
                lit(where(r)),
                lit(_message(r)),
                lit(r["id"]),
            )
        console.print(table)
    console.print(lit(page_footer(page, next_hint)))
