"""Tables for people at a terminal (Rich): statuses in colour, plain text when not a TTY.

Rich leaves colour out when the stream is not a terminal (and honours ``NO_COLOR``); piped
output also gets a fixed, wide width so lines are not wrapped mid-message and output is stable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.formatters.common import (
    SEVERITY_STYLE,
    STATE_STYLE,
    STATUS_STYLE,
    WARNING_MARK,
    fmt_ms,
    fmt_score,
    fmt_time,
    object_ref,
)
from storage.enums import STATUSES
from storage.queries import PILLARS

PIPED_WIDTH = 160
MESSAGE_WIDTH = 70


def console_for(out: TextIO) -> Console:
    tty = hasattr(out, "isatty") and out.isatty()
    return Console(file=out, highlight=False, width=None if tty else PIPED_WIDTH, emoji=False)


def styled(value: Any, styles: Mapping[str, str]) -> str:
    text = escape("-" if value is None else str(value))
    style = styles.get(str(value))
    return f"[{style}]{text}[/{style}]" if style else text


def clip(text: Any, width: int = MESSAGE_WIDTH) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return escape(s if len(s) <= width else s[: width - 1] + "…")


def run_line(run: Mapping[str, Any], warning: bool = False) -> str:
    mark = f" [yellow]{WARNING_MARK}[/yellow]" if warning else ""
    return (
        f"Run [bold]{escape(run['run_id'])}[/bold]{mark} · cluster {escape(str(run.get('cluster_id')))} · "
        f"state {styled(run.get('state'), STATE_STYLE)} · {escape(str(run.get('scope')))} · "
        f"trigger {escape(str(run.get('trigger')))} · requested {fmt_time(run.get('requested_at'))}"
    )


# -- assessments list ---------------------------------------------------------------------------


def assessments_table(page: Any, out: TextIO, next_hint: str | None) -> None:
    console = console_for(out)
    if page.run is not None:
        console.print(run_line(page.run))
    elif page.scope.get("since"):
        console.print(f"Results assessed since {page.scope['since']} (cluster {page.scope.get('cluster_id') or 'all'})")
    if not page.items:
        console.print("no results match these filters")
        return
    table = Table()
    for col in ("id", "check", "severity", "status", "object", "message"):
        table.add_column(col, no_wrap=col != "message", overflow="fold")
    for r in page.items:
        table.add_row(
            escape(r["id"]),
            escape(r["check_id"]),
            styled(r["severity"], SEVERITY_STYLE),
            styled(r["status"], STATUS_STYLE),
            escape(object_ref(r)),
            clip(r.get("message") or r.get("reason")),
        )
    console.print(table)
    first = page.offset + 1
    shown = f"{first}–{page.offset + len(page.items)}"
    of = f" of {page.total:,}" if page.total is not None else ""
    console.print(f"showing {shown}{of}" + (f" · next page: {escape(next_hint)}" if next_hint else ""))


# -- summary ------------------------------------------------------------------------------------


def summary_table(summary: Mapping[str, Any], out: TextIO, violations: Sequence[Any] | None) -> None:
    console = console_for(out)
    run = summary["run"]
    console.print(run_line(run, summary.get("warning_indicator", False)))
    if run.get("error"):
        console.print(f"[red]error:[/red] {escape(run['error'])}")
    scores = summary.get("scores") or {}
    cov = summary["coverage"]
    ratio = f" ({cov['ratio']:.0%})" if cov.get("ratio") is not None else ""
    console.print(
        f"score {fmt_score(scores.get('overall'))} · coverage {cov['checks_executed']}/{cov['checks_total']} checks"
        f"{ratio} · {summary['totals']['results']:,} results · duration {fmt_ms(summary.get('duration_ms'))}"
    )
    table = Table(title=None)
    table.add_column("pillar")
    table.add_column("score", justify="right")
    table.add_column("checks", justify="right")
    for status in STATUSES:
        table.add_column(styled(status, STATUS_STYLE), justify="right")
    for name, p in summary["pillars"].items():
        table.add_row(
            escape(name),
            fmt_score(p.get("score")),
            str(p["checks"]),
            *(_count(p["counts"].get(s, 0), s) for s in STATUSES),
        )
    if summary["pillars"]:
        totals = summary["totals"]
        table.add_row(
            "[bold]total[/bold]",
            fmt_score(scores.get("overall")),
            str(sum(p["checks"] for p in summary["pillars"].values())),
            *(f"[bold]{totals.get(s, 0)}[/bold]" for s in STATUSES),
        )
        console.print(table)
    else:
        console.print("this run has no results")
    if summary["top_failing"]:
        top = Table(title="top failing checks")
        for col, justify in (("check", "left"), ("severity", "left"), ("pillar", "left"), ("objects", "right")):
            top.add_column(col, justify=justify)  # type: ignore[arg-type]
        top.add_column("name")
        for c in summary["top_failing"]:
            top.add_row(
                escape(c["check_id"]),
                styled(c["severity"], SEVERITY_STYLE),
                escape(c["pillar"]),
                str(c["failing_objects"]),
                clip(c["check_name"], 60),
            )
        console.print(top)
    for w in summary.get("warnings") or []:
        console.print(f"[yellow]{WARNING_MARK}[/yellow] {escape(w)}")
    if violations is not None:
        gate_lines(console, violations, run["run_id"])


def gate_lines(console: Console, violations: Sequence[Any], run_id: str) -> None:
    if not violations:
        console.print("[green]gate passed[/green]")
        return
    console.print(f"[bold red]gate rejected run {escape(run_id)}:[/bold red]")
    for v in violations:
        console.print(f"  [red]\\[{v.rule}][/red] {escape(v.message)}")


def _count(n: int, status: str) -> str:
    if not n:
        return "0"
    style = STATUS_STYLE.get(status)
    return f"[{style}]{n}[/{style}]" if style and status in ("failing", "error", "timeout") else str(n)


# -- get ----------------------------------------------------------------------------------------


def result_detail(result: Mapping[str, Any], out: TextIO) -> None:
    console = console_for(out)
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    rows = [
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
        ("assessed at", fmt_time(result.get("assessed_at"))),
        ("check duration", fmt_ms(result.get("duration_ms"))),
    ]
    for key, value in rows:
        if value is None:
            continue
        markup = key in ("severity", "status")
        table.add_row(key, value if markup else escape(str(value)))
    if result.get("details") is not None:
        import json

        table.add_row("details", escape(json.dumps(result["details"], indent=2, ensure_ascii=False, default=str)))
    console.print(table)


def run_detail(detail: Mapping[str, Any], out: TextIO) -> None:
    console = console_for(out)
    run, history, timings = detail["run"], detail.get("history") or {}, detail["timings"]
    console.print(run_line(run, detail.get("warning_indicator", False)))
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    scope = run["scope"]
    if run.get("pillars"):
        scope += f" (pillars: {', '.join(run['pillars'])})"
    if run["scope"] in ("single", "custom") and run.get("check_ids"):
        scope += f" (checks: {', '.join(run['check_ids'])})"
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
        ("score", fmt_score((detail.get("scores") or {}).get("overall"))),
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
            table.add_row(key, escape(str(value)))
    if run.get("error"):
        table.add_row("error", f"[red]{escape(run['error'])}[/red]")
    console.print(table)
    pillar_counts = history.get("pillar_counts") or {}
    if pillar_counts:
        breakdown = Table()
        breakdown.add_column("pillar")
        breakdown.add_column("score", justify="right")
        for status in STATUSES:
            breakdown.add_column(styled(status, STATUS_STYLE), justify="right")
        pillar_scores = (detail.get("scores") or {}).get("pillars") or {}
        order = sorted(pillar_counts, key=lambda n: (PILLARS.index(n) if n in PILLARS else len(PILLARS), n))
        for name in order:
            counts = pillar_counts[name]
            breakdown.add_row(
                escape(name), fmt_score(pillar_scores.get(name)), *(_count(counts.get(s, 0), s) for s in STATUSES)
            )
        console.print(breakdown)
    elif run["state"] in ("queued", "running"):
        console.print(f"run is {run['state']}: no history row yet")
    for w in detail.get("warnings") or []:
        console.print(f"[yellow]{WARNING_MARK}[/yellow] {escape(w)}")


# -- diff ---------------------------------------------------------------------------------------

DIFF_SECTIONS = (
    ("new_failures", "new failures", "red"),
    ("fixed", "fixed", "green"),
    ("still_failing", "still failing", "yellow"),
    ("changed", "other status changes", "cyan"),
    ("results_disappeared", "results no longer reported", "dim"),
)


def diff_table(diff: Mapping[str, Any], out: TextIO, max_rows: int) -> None:
    console = console_for(out)
    a, b = diff["run_a"], diff["run_b"]
    console.print(
        f"Diff [bold]{escape(a['run_id'])}[/bold] ({fmt_time(a['requested_at'])}) → "
        f"[bold]{escape(b['run_id'])}[/bold] ({fmt_time(b['requested_at'])})"
    )
    counts = diff["counts"]
    console.print(
        " · ".join(f"{label} {counts[key]:,}" for key, label, _ in DIFF_SECTIONS)
        + f" · checks +{counts['checks_appeared']}/-{counts['checks_disappeared']}"
        + f" · objects +{counts['objects_appeared']}/-{counts['objects_disappeared']}"
    )
    for key, label, colour in DIFF_SECTIONS:
        items = diff[key]
        if not items:
            continue
        table = Table(title=f"[{colour}]{label}[/{colour}] ({len(items):,})", title_justify="left")
        for col in ("check", "severity", "object", "before", "after", "message"):
            table.add_column(col, no_wrap=col != "message", overflow="fold")
        for item in items[:max_rows]:
            table.add_row(
                escape(item["check_id"]),
                styled(item["severity"], SEVERITY_STYLE),
                escape(object_ref(item)),
                styled(item["before"], STATUS_STYLE),
                styled(item["after"], STATUS_STYLE),
                clip(item.get("message"), 60),
            )
        console.print(table)
        if len(items) > max_rows:
            console.print(f"… and {len(items) - max_rows:,} more (--max-rows, or -o json for all)")
    for key, label in (("checks_appeared", "checks new in B"), ("checks_disappeared", "checks gone from B")):
        if diff[key]:
            console.print(f"{label}: {escape(', '.join(diff[key]))}")
    for key, label in (("objects_appeared", "objects new in B"), ("objects_disappeared", "objects gone from B")):
        objs = diff[key]
        if objs:
            names = ["/".join(str(v) for v in (o["kind"], o["namespace"], o["name"]) if v) for o in objs[:max_rows]]
            more = f" … and {len(objs) - max_rows:,} more" if len(objs) > max_rows else ""
            console.print(f"{label} ({len(objs):,}): {escape(', '.join(names))}{more}")


# -- runs ---------------------------------------------------------------------------------------


def runs_table(page: Any, out: TextIO, next_hint: str | None) -> None:
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
    ):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in page.items:
        h = r.get("history") or {}
        warn = r["state"] == "completed" and bool(r.get("warnings"))
        table.add_row(
            escape(r["run_id"]) + (f" [yellow]{WARNING_MARK}[/yellow]" if warn else ""),
            escape(r["cluster_id"]),
            styled(r["state"], STATE_STYLE),
            escape(r["scope"]),
            escape(r["trigger"]),
            fmt_time(r["requested_at"]),
            fmt_ms(h.get("duration_ms")),
            f"{h['total']:,}" if h else "-",
            _count(h.get("failing_count", 0), "failing") if h else "-",
            fmt_score(((h.get("scores") or {}) if h else {}).get("overall")),
        )
    console.print(table)
    console.print(f"{len(page.items)} run(s)" + (f" · next page: {escape(next_hint)}" if next_hint else ""))
    if any(r["state"] == "completed" and r.get("warnings") for r in page.items):
        console.print(f"{WARNING_MARK} completed with warnings (skipped inputs, unlisted resources): kwa runs get RUN")


# -- history ------------------------------------------------------------------------------------


def history_table(cluster_id: str, rows: Sequence[Mapping[str, Any]], pillars: Sequence[str], out: TextIO) -> None:
    console = console_for(out)
    console.print(f"History of cluster [bold]{escape(cluster_id)}[/bold]: {len(rows)} run(s)")
    table = Table()
    table.add_column("run", no_wrap=True)
    table.add_column("finished", no_wrap=True)
    table.add_column("state")
    table.add_column("score", justify="right")
    table.add_column("Δ", justify="right")
    for p in pillars:
        table.add_column(_short(p), justify="right")
    table.add_column("failing", justify="right")
    table.add_column("Δ failing", justify="right")
    for r in rows:
        table.add_row(
            escape(r["run_id"]),
            fmt_time(r["finished_at"]),
            styled(r["state"], STATE_STYLE),
            fmt_score(r.get("overall_score")),
            _delta(r["delta"].get("overall_score"), higher_is_better=True),
            *(
                fmt_score(r["pillar_scores"].get(p))
                + (" " + _delta(r["delta"]["pillar_scores"].get(p), True) if r["delta"]["pillar_scores"].get(p) else "")
                for p in pillars
            ),
            str(r["counts"]["failing"]),
            _delta(r["delta"].get("failing"), higher_is_better=False),
        )
    console.print(table)


def _short(pillar: str) -> str:
    return {"operational-excellence": "ops-excellence"}.get(pillar, pillar)


def _delta(value: Any, higher_is_better: bool) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    good = (value > 0) == higher_is_better
    colour = "green" if good else "red"
    return f"[{colour}]{value:+g}[/{colour}]"
