"""Compliance framework tables: a run's control-by-control status, and the framework catalogue.

Everything arrives as plain data (``FrameworkReport.as_dict()``, ``Framework.as_dict()``): cli/
never imports the checks, so the framework code in ``kwa/frameworks`` hands over dicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.table import Table

from cli.formatters.text import console_for, line, lit, styled

CONTROL_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "warning": "yellow",
    "not-evaluated": "magenta",
    "not-assessed": "dim",
}
PARTIAL_MARK = "~"  # beside a control id: the mapped checks cover only part of the control


def percent(value: Any) -> str:
    if value is None:
        return "-"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text}%"


def score_line(report: Mapping[str, Any]) -> str:
    counts = report["counts"]
    parts = [f"{counts.get(s, 0)} {s}" for s in ("passed", "failed", "warning", "not-evaluated", "not-assessed")]
    return (
        f"score {percent(report['score'])} · coverage {percent(report['coverage'])} "
        f"({report['controls_evaluated']} of {report['controls_total']} controls evaluated) · " + ", ".join(parts)
    )


def _detail(c: Mapping[str, Any]) -> str:
    if c["status"] == "not-assessed":
        return f"not assessed: {c.get('reason') or ''}"
    bits = []
    if c["failing_checks"]:
        bits.append(f"{c['failing']} failing ({', '.join(c['failing_checks'])})")
    if c["warning"]:
        bits.append(f"{c['warning']} warning")
    if c["exempted"]:
        bits.append(f"{c['exempted']} exempted")
    missing = [f"{m['check_id']} {m['why']}" for m in c["not_evaluated"]]
    if missing:
        bits.append("not evaluated: " + ", ".join(missing))
    return "; ".join(bits)


def framework_report(report: Mapping[str, Any], out: TextIO, run_text: Any = None) -> None:
    """The controls of one framework in one run: id, title, status, checks, failing counts."""
    console = console_for(out)
    f = report["framework"]
    if run_text is not None:
        console.print(run_text)
    console.print(line((f"{f['title']} {f['version']}", "bold"), f" ({f['name']})"))
    console.print(lit(score_line(report)))
    table = Table()
    for col in ("control", "title", "status", "checks", "details"):
        table.add_column(col, overflow="fold")
    for c in report["controls"]:
        ident = c["id"] + (f" {PARTIAL_MARK}" if c.get("partial") else "")
        table.add_row(
            lit(ident),
            lit(c["title"]),
            styled(c["status"], CONTROL_STYLE),
            lit(", ".join(c["checks"]) or "-"),
            lit(_detail(c)),
        )
    console.print(table)
    if any(c.get("partial") for c in report["controls"]):
        console.print(
            lit(f"{PARTIAL_MARK} partial mapping: the checks cover only part of the control (kwa frameworks show)")
        )


def framework_list(briefs: Sequence[Mapping[str, Any]], out: TextIO) -> None:
    console = console_for(out)
    table = Table(title=f"{len(briefs)} frameworks")
    for col in ("name", "title", "version", "controls", "assessed", "not assessed", "partial", "checks"):
        table.add_column(col)
    for b in briefs:
        table.add_row(
            *(
                lit(b[k])
                for k in ("name", "title", "version", "controls", "assessed", "not_assessed", "partial", "checks")
            )
        )
    console.print(table)


def framework_show(framework: Mapping[str, Any], out: TextIO) -> None:
    console = console_for(out)
    console.print(line((f"{framework['title']} {framework['version']}", "bold"), f" ({framework['name']})"))
    console.print(lit(f"source: {framework['source']}"))
    console.print(
        lit(
            f"{framework['controls']} controls: {framework['assessed']} assessed by {framework['checks']} checks "
            f"({framework['partial']} partially), {framework['not_assessed']} not assessed"
        )
    )
    table = Table()
    for col in ("control", "title", "reference", "checks", "note"):
        table.add_column(col, overflow="fold")
    for c in framework["items"]:
        if c.get("assessed", True):
            ident = c["id"] + (f" {PARTIAL_MARK}" if c.get("mapping") == "partial" else "")
            table.add_row(
                lit(ident), lit(c["title"]), lit(c["reference"]), lit(", ".join(c["checks"])), lit(c.get("note"))
            )
        else:
            table.add_row(lit(c["id"]), lit(c["title"]), lit(c["reference"]), lit("not assessed"), lit(c.get("reason")))
    console.print(table)


def result_controls(info: Mapping[str, Any], out: TextIO) -> None:
    """Below a result's detail: the controls of ``--framework`` it speaks to."""
    console = console_for(out)
    if not info["controls"]:
        console.print(lit(f"{info['framework']}: no control maps to this check"))
        return
    for c in info["controls"]:
        mark = f" {PARTIAL_MARK}" if c.get("mapping") == "partial" else ""
        console.print(line((f"{info['framework']} {c['id']}{mark}", "bold"), f" {c['title']} ({c['reference']})"))
