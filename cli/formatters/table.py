"""Tables for people at a terminal (Rich): statuses in colour, plain text when not a TTY.

At a terminal, tables fit its width. Piped or redirected (``| grep``, ``> report.txt``, CI logs),
output has no width limit: every table is drawn at its natural width, so no run id, state, pillar
name or object is ever cut or ellipsised, lines are never wrapped mid-value, and the output does
not depend on ``COLUMNS``. Rich leaves colour codes out when the stream is not a terminal (and
honours ``NO_COLOR``). Messages are clipped to :data:`MESSAGE_WIDTH` in list tables wherever the
output goes (the full text is in ``get`` and in every machine format).

Stored text — cluster ids, object names, messages, reasons, paths, errors — never goes through
Rich's markup parser: every cell and line is a :class:`rich.text.Text` built from plain strings
and styles (:func:`lit`, :func:`styled`, :func:`line`), so ``web[/]``, ``[/x]`` or a trailing
backslash print as themselves. (``rich.markup.escape`` is not enough: it doubles a trailing
backslash when nothing follows it.)

This module holds the single-run views (summary, ``get``, run lists) and the shared helpers; the
tables that compare runs (``diff``, ``history``) are in :mod:`cli.formatters.compare_tables` and
re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cli.formatters.common import (
    SEVERITY_STYLE,
    STATE_STYLE,
    STATUS_STYLE,
    WARNING_MARK,
    api_server_line,
    fmt_coverage,
    fmt_ms,
    fmt_score,
    fmt_time,
    not_evaluated_lines,
    object_ref,
    score_legend,
)

# The findings tables live in their own module; ``table.assessments_table`` stays where callers find it.
from cli.formatters.findings import assessments_table, top_failing_table, where  # noqa: F401
from cli.formatters.text import console_for, line, lit, styled
from storage.enums import STATUSES
from storage.grades import percent_text
from storage.query_model import PILLARS

MESSAGE_WIDTH = 70
DETAIL_WIDTH = 120  # long values in `get` (remediation, details) fold here, at a terminal or not


def clip(text: Any, width: int = MESSAGE_WIDTH) -> Text:
    s = "" if text is None else " ".join(str(text).split())
    return Text(s if len(s) <= width else s[: width - 1] + "…")


def run_line(run: Mapping[str, Any], warning: bool = False) -> Text:
    return line(
        "Run ",
        (str(run["run_id"]), "bold"),
        *([" ", (WARNING_MARK, "yellow")] if warning else []),
        " · cluster ",
        str(run.get("cluster_id")),
        " · state ",
        styled(run.get("state"), STATE_STYLE),
        f" · {run.get('scope')} · trigger {run.get('trigger')} · requested {fmt_time(run.get('requested_at'))}",
    )


def _warnings(console: Console, warnings: Sequence[Any]) -> None:
    for w in warnings or []:
        console.print(line((WARNING_MARK, "yellow"), " ", str(w)))


def page_footer(page: Any, next_hint: str | None) -> str:
    """``showing 1–50 of 1,234 · 1,184 more · next page: --cursor … · all: --limit 0``."""
    last = page.offset + len(page.items)
    text = f"showing {page.offset + 1:,}–{last:,}"
    if page.total is not None:
        text += f" of {page.total:,}"
    if next_hint:
        more = f"{page.total - last:,} more" if page.total is not None else "more follow"
        text += f" · {more} · next page: {next_hint} · all: --limit 0"
    return text


# -- summary ------------------------------------------------------------------------------------


def summary_table(summary: Mapping[str, Any], out: TextIO, violations: Sequence[Any] | None) -> None:
    console = console_for(out)
    run = summary["run"]
    console.print(run_line(run, summary.get("warning_indicator", False)))
    if run.get("error"):
        console.print(line(("error:", "red"), " ", str(run["error"])))
    scores = summary.get("scores") or {}
    overall = scores.get("overall")
    console.print(
        lit(
            f"score {fmt_score(overall)} · coverage {coverage_line(summary['coverage'])} · "
            f"{summary['totals']['results']:,} results · duration {fmt_ms(summary.get('duration_ms'))}"
        )
    )
    table = Table(title=None)
    for col in ("pillar", "score", "coverage", "checks"):
        table.add_column(col, justify="left" if col == "pillar" else "right")
    for status in STATUSES:
        table.add_column(styled(status, STATUS_STYLE), justify="right")
    for name, p in summary["pillars"].items():
        table.add_row(
            lit(name),
            lit(fmt_score(p.get("score"))),
            lit(fmt_coverage(p.get("score"))),
            lit(p["checks"]),
            *(_count(p["counts"].get(s, 0), s) for s in STATUSES),
        )
    if summary["pillars"]:
        totals = summary["totals"]
        checks = sum(p["checks"] for p in summary["pillars"].values())
        table.add_row(
            *(lit(v, "bold") for v in ("total", fmt_score(overall), fmt_coverage(overall), checks)),
            *(lit(totals.get(s, 0), "bold") for s in STATUSES),
        )
        console.print(table)
    else:
        console.print("this run has no results")
    score_notes(console, scores, [overall, *(p.get("score") for p in summary["pillars"].values())])
    if summary["top_failing"]:
        top_failing_table(console, summary["top_failing"])
    _warnings(console, summary.get("warnings") or [])
    if violations is not None:
        gate_lines(console, violations, run["run_id"])


def coverage_line(cov: Mapping[str, Any]) -> str:
    """``69 % (27.6 of 40 applicable checks evaluated)``; the executed share for runs without scores."""
    if cov.get("percent") is not None or cov.get("checks_applicable"):
        evaluated, applicable = cov.get("checks_evaluated"), cov.get("checks_applicable")
        detail = f" ({evaluated:g} of {applicable} applicable checks evaluated)" if applicable else ""
        return f"{fmt_coverage(cov.get('percent'))}{detail}"
    ratio = f" ({percent_text(100 * cov['ratio'])})" if cov.get("ratio") is not None else ""
    return f"{cov.get('checks_executed')}/{cov.get('checks_total')} checks executed{ratio}"


def score_notes(
    console: Console, scores: Mapping[str, Any], entries: Sequence[Any], head: str = "not evaluated:"
) -> None:
    """The legend for capped/incomplete scores, then each applicable check not fully evaluated."""
    for text in score_legend(entries):
        console.print(lit(text))
    lines = not_evaluated_lines(scores)
    if lines:
        console.print(lit(head))
        for text in lines:
            console.print(lit(f"  {text}"), soft_wrap=True)  # one line each, for grep


def gate_lines(console: Console, violations: Sequence[Any], run_id: str) -> None:
    if not violations:
        console.print(lit("gate passed", "green"))
        return
    console.print(lit(f"gate rejected run {run_id}:", "bold red"))
    for v in violations:
        console.print(line("  ", (f"[{v.rule}]", "red"), " ", str(v.message)), soft_wrap=True)
        for text in v.lines() if hasattr(v, "lines") else ():  # fail-on: the failing objects
            console.print(lit(f"      {text}"), soft_wrap=True)


def _count(n: int, status: str) -> Text:
    style = STATUS_STYLE.get(status, "") if n and status in ("failing", "error", "timeout") else ""
    return lit(n or 0, style)


# -- get ----------------------------------------------------------------------------------------


def _details_table() -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold", max_width=DETAIL_WIDTH)
    return table


def result_detail(result: Mapping[str, Any], out: TextIO) -> None:
    console = console_for(out)
    table = _details_table()
    rows: list[tuple[str, Any]] = [
        ("id", result["id"]),
        ("run", f"{result['run_id']} (cluster {result['run']['cluster_id']}, {result['run']['state']})"),
        ("check", f"{result['check_id']} {result['check_name']}"),
        ("pillar", result["pillar"]),
        ("severity", styled(result["severity"], SEVERITY_STYLE)),
        ("status", styled(result["status"], STATUS_STYLE)),
        ("object", object_ref(result)),
        ("message", result.get("message")),
        ("reason", result.get("reason")),
        ("remediation", result.get("remediation")),
        ("source", result.get("source")),
        ("where", where(result) if result.get("source_line") else None),
        ("field", result.get("field_path")),
        ("assessed at", fmt_time(result.get("assessed_at"))),
        ("check duration", fmt_ms(result.get("duration_ms"))),
    ]
    if result.get("details") is not None:
        import json

        rows.append(("details", json.dumps(result["details"], indent=2, ensure_ascii=False, default=str)))
    for key, value in rows:
        if value is not None:
            table.add_row(key, value if isinstance(value, Text) else lit(value))
    console.print(table)


def run_detail(detail: Mapping[str, Any], out: TextIO) -> None:
    console = console_for(out)
    run, history, timings = detail["run"], detail.get("history") or {}, detail["timings"]
    console.print(run_line(run, detail.get("warning_indicator", False)))
    table = _details_table()
    scope = run["scope"]
    if run.get("pillars"):
        scope += f" (pillars: {', '.join(run['pillars'])})"
    if run["scope"] in ("single", "custom") and run.get("check_ids"):
        scope += f" (checks: {', '.join(run['check_ids'])})"
    scores = detail.get("scores") or {}
    rows = [
        ("scope", scope),
        ("source", run.get("source")),
        ("trigger", run.get("trigger")),
        ("requested", fmt_time(timings["requested_at"])),
        ("started", fmt_time(timings["started_at"])),
        ("completed", fmt_time(timings["completed_at"])),
        ("queued for", fmt_ms(timings["queued_ms"])),
        ("duration", fmt_ms(timings["duration_ms"])),
        ("prefect flow run", run.get("prefect_flow_run_id")),
        ("rerun of", run.get("rerun_of")),
        ("resume of", run.get("resume_of")),
        ("score", fmt_score(scores.get("overall"))),
        ("coverage", fmt_coverage(scores.get("overall"))),
        ("API server", api_server_line((run.get("summary") or {}).get("api_server"))),
    ]
    if history:
        rows.append(
            (
                "checks",
                f"{history['checks_executed']}/{history['checks_total']} executed, "
                f"{history['checks_errored']} errored, {history['checks_timed_out']} timed out",
            )
        )
    for key, value in rows:
        if value is not None:
            table.add_row(key, lit(value))
    if run.get("error"):
        table.add_row("error", lit(run["error"], "red"))
    console.print(table)
    pillar_counts = history.get("pillar_counts") or {}
    if pillar_counts:
        breakdown = Table()
        for col in ("pillar", "score", "coverage"):
            breakdown.add_column(col, justify="left" if col == "pillar" else "right")
        for status in STATUSES:
            breakdown.add_column(styled(status, STATUS_STYLE), justify="right")
        pillar_scores = scores.get("pillars") or {}
        order = sorted(pillar_counts, key=lambda n: (PILLARS.index(n) if n in PILLARS else len(PILLARS), n))
        for name in order:
            counts = pillar_counts[name]
            breakdown.add_row(
                lit(name),
                lit(fmt_score(pillar_scores.get(name))),
                lit(fmt_coverage(pillar_scores.get(name))),
                *(_count(counts.get(s, 0), s) for s in STATUSES),
            )
        console.print(breakdown)
    elif run["state"] in ("queued", "running"):
        console.print(lit(f"run is {run['state']}: no history row yet"))
    score_notes(console, scores, [scores.get("overall"), *(scores.get("pillars") or {}).values()])
    _warnings(console, detail.get("warnings") or [])
    from cli.formatters.audit import audit_lines

    for text in audit_lines((run.get("summary") or {}).get("exemption_audit")):
        console.print(lit(text))


# -- runs ---------------------------------------------------------------------------------------


def runs_table(page: Any, out: TextIO, next_hint: str | None, more_runs: int | None = None) -> None:
    console = console_for(out)
    table = Table()
    for col, justify in (
        ("run", "left"),
        ("cluster", "left"),
        ("state", "left"),
        ("scope", "left"),
        ("trigger", "left"),
        ("requested", "left"),
        ("duration", "right"),
        ("results", "right"),
        ("failing", "right"),
        ("score", "right"),
        ("coverage", "right"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in page.items:
        h = r.get("history") or {}
        warn = r["state"] == "completed" and bool(r.get("warnings"))
        overall = (h.get("scores") or {}).get("overall") if h else None
        table.add_row(
            line(str(r["run_id"]), *([" ", (WARNING_MARK, "yellow")] if warn else [])),
            lit(r["cluster_id"]),
            styled(r["state"], STATE_STYLE),
            lit(r["scope"]),
            lit(r["trigger"]),
            lit(fmt_time(r["requested_at"])),
            lit(fmt_ms(h.get("duration_ms"))),
            lit(f"{h['total']:,}" if h else "-"),
            _count(h.get("failing_count", 0), "failing") if h else lit("-"),
            lit(fmt_score(overall)),
            lit(fmt_coverage(overall)),
        )
    console.print(table)
    text = f"{len(page.items):,} run{'s' if len(page.items) != 1 else ''}"
    if next_hint:
        more = f"{more_runs:,} more" if more_runs is not None else "more follow"
        text += f" · {more} · next page: {next_hint} · all: --limit 0"
    console.print(lit(text))
    if any(r["state"] == "completed" and r.get("warnings") for r in page.items):
        console.print(
            lit(f"{WARNING_MARK} completed with warnings (skipped inputs, unlisted resources): kwa runs get RUN")
        )


# -- diff and history (cli.formatters.compare_tables; re-exported here for callers) -------------

_MOVED = frozenset({"DIFF_SECTIONS", "diff_table", "history_table"})


def __getattr__(name: str) -> Any:
    # Lazily: compare_tables imports clip from this module, so importing it here at the top would be a cycle.
    if name in _MOVED:
        from cli.formatters import compare_tables

        return getattr(compare_tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
