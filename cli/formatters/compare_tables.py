"""Tables that compare runs: ``diff`` (two runs side by side) and ``history`` (a cluster's runs over time).

Split out of :mod:`cli.formatters.table`, which keeps the single-run views (summary, ``get``, run
lists) and the shared helpers, and re-exports :func:`diff_table`, :func:`history_table` and
:data:`DIFF_SECTIONS` lazily (this module imports :func:`~cli.formatters.table.clip` from it).
Same rules as there: every cell is literal text, never Rich markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from rich.table import Table
from rich.text import Text

from cli.formatters.common import (
    SCORE_LEGEND,
    SEVERITY_STYLE,
    STATE_STYLE,
    STATUS_STYLE,
    fmt_coverage,
    fmt_score,
    fmt_time,
    object_ref,
)
from cli.formatters.table import clip
from cli.formatters.text import console_for, line, lit, styled
from storage.grades import signed_text

__all__ = ["DIFF_SECTIONS", "diff_table", "history_table"]


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
    compared = diff.get("compared") or {}
    scope_a, scope_b = compared.get("scopes") or (a.get("scope"), b.get("scope"))
    cluster = compared.get("cluster_id") or " vs ".join(compared.get("clusters") or ())
    console.print(
        line(
            "Diff ",
            (str(a["run_id"]), "bold"),
            f" ({fmt_time(a['requested_at'])}, {scope_a}) → ",
            (str(b["run_id"]), "bold"),
            f" ({fmt_time(b['requested_at'])}, {scope_b})",
            *([f" · cluster {cluster}"] if cluster else []),
            *([f" · {compared['how']}"] if compared.get("picked") and compared.get("how") else []),
        )
    )
    counts = diff["counts"]
    console.print(
        lit(
            " · ".join(f"{label} {counts[key]:,}" for key, label, _ in DIFF_SECTIONS)
            + f" · checks +{counts['checks_appeared']}/-{counts['checks_disappeared']}"
            + f" · objects +{counts['objects_appeared']}/-{counts['objects_disappeared']}"
        )
    )
    for key, label, colour in DIFF_SECTIONS:
        items = diff[key]
        if not items:
            continue
        table = Table(title=line((label, colour), f" ({len(items):,})"), title_justify="left")
        for col in ("check", "severity", "object", "before", "after", "message"):
            table.add_column(col, no_wrap=col != "message", overflow="fold")
        for item in items[:max_rows]:
            table.add_row(
                lit(item["check_id"]),
                styled(item["severity"], SEVERITY_STYLE),
                lit(object_ref(item)),
                styled(item["before"], STATUS_STYLE),
                styled(item["after"], STATUS_STYLE),
                clip(item.get("message"), 60),
            )
        console.print(table)
        if len(items) > max_rows:
            console.print(lit(f"… and {len(items) - max_rows:,} more (--max-rows, or -o json for all)"))
    for key, label in (("checks_appeared", "checks new in B"), ("checks_disappeared", "checks gone from B")):
        if diff[key]:
            console.print(lit(f"{label}: {', '.join(diff[key])}"))
    for key, label in (("objects_appeared", "objects new in B"), ("objects_disappeared", "objects gone from B")):
        objs = diff[key]
        if objs:
            names = ["/".join(str(v) for v in (o["kind"], o["namespace"], o["name"]) if v) for o in objs[:max_rows]]
            more = f" … and {len(objs) - max_rows:,} more" if len(objs) > max_rows else ""
            console.print(lit(f"{label} ({len(objs):,}): {', '.join(names)}{more}"))


# -- history ------------------------------------------------------------------------------------

_SHORT = {
    "security": "SEC",
    "reliability": "REL",
    "performance": "PERF",
    "cost": "COST",
    "operational-excellence": "OPS",
    "sustainability": "SUS",
}


def _short(pillar: str) -> str:
    """The pillar's check-id prefix: six pillars, scores, deltas and coverage fit in 160 columns."""
    return _SHORT.get(pillar, pillar)


def history_table(
    cluster_id: str, rows: Sequence[Mapping[str, Any]], pillars: Sequence[str], out: TextIO, scope: str | None = None
) -> None:
    console = console_for(out)
    scoped = [f" · scope {scope}"] if scope else []
    console.print(line("History of cluster ", (str(cluster_id), "bold"), *scoped, f": {len(rows)} run(s)"))
    table = Table()
    table.add_column("run", no_wrap=True)
    table.add_column("finished", no_wrap=True)
    table.add_column("state")
    table.add_column("score", justify="right")
    table.add_column("Δ", justify="right")
    table.add_column("coverage", justify="right")
    for p in pillars:
        table.add_column(lit(_short(p)), justify="right")
    table.add_column("failing", justify="right")
    table.add_column("Δ failing", justify="right")
    for r in rows:
        cells = []
        for p in pillars:
            score = "incomplete" if p in (r.get("pillar_incomplete") or ()) else fmt_score(r["pillar_scores"].get(p))
            change = r["delta"]["pillar_scores"].get(p)
            cells.append(line(score, *([" ", _delta(change, True)] if change else [])))
        table.add_row(
            lit(r["run_id"]),
            lit(fmt_time(r["finished_at"])),
            styled(r["state"], STATE_STYLE),
            lit("incomplete" if r.get("overall_incomplete") else fmt_score(r.get("overall_score"))),
            _delta(r["delta"].get("overall_score"), higher_is_better=True),
            lit(fmt_coverage(r.get("overall_coverage"))),
            *cells,
            lit(r["counts"]["failing"]),
            _delta(r["delta"].get("failing"), higher_is_better=False),
        )
    console.print(table)
    if any(r.get("overall_incomplete") or r.get("pillar_incomplete") for r in rows):
        console.print(lit(SCORE_LEGEND["incomplete"]))


def _delta(value: Any, higher_is_better: bool) -> Text:
    if value is None:
        return lit("-")
    if value == 0:
        return lit("0")
    good = (value > 0) == higher_is_better
    return lit(signed_text(value), "green" if good else "red")
