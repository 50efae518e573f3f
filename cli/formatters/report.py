"""The table ``kwa run`` prints when a run ends (``kwa.verdict.render`` hands its view here).

A run that assessed nothing (``view["nothing_assessed"]``, exit 9) says so, and why, right under
the run line.

Everything in the view that came from the cluster, the manifests or the user — cluster id, error,
check messages, kinds, input problems — is literal text (:func:`cli.formatters.table.lit`), never
Rich markup: an object named ``web[/]`` or a manifest path ``[/x]`` prints as itself instead of
ending the report (and with it the CI gates) in a MarkupError.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, TextIO

from rich.table import Table

from cli.formatters.common import STATE_STYLE, api_server_line, fmt_coverage
from cli.formatters.table import console_for, line, lit, score_notes, styled
from storage.enums import STATUSES
from storage.grades import compact_score_text

__all__ = ["report_score", "run_report"]


def report_score(entry: Any) -> str:
    """The report's compact cell: ``80.4 B``, ``91.4 D (capped)``, ``incomplete``, ``-``.

    The one display rule of every output (:func:`storage.grades.number_text`: cut to one decimal,
    never rounded), so the report shows the number the grade was decided on.
    """
    return compact_score_text(entry)


def run_report(view: Mapping[str, Any], out: TextIO | None = None, problems_shown: int = 10) -> None:
    """Run line, per-pillar table with scores and coverage, what was not evaluated, and the warnings."""
    console = console_for(out if out is not None else sys.stdout)
    run = view.get("run") or {}
    console.print(
        line(
            "Run ",
            (str(run.get("run_id")), "bold"),
            f" · cluster {run.get('cluster_id', '?')} · state ",
            styled(run.get("state"), STATE_STYLE),
        )
    )
    if run.get("error"):
        console.print(line(("error:", "red"), " ", str(run["error"])))
    if view.get("nothing_assessed"):
        # Exit 9: before the (all-zero) table, so nobody reads "0 failing" as good news.
        console.print(line(("nothing was assessed:", "bold red"), " ", str(view["nothing_assessed"])), soft_wrap=True)
    if run.get("stored_state"):
        console.print(
            line(
                ("not stored:", "red"),
                f" kwa's database still shows this run as {run['stored_state']} "
                "(`kwa runs reap` records its end once the database takes writes)",
            )
        )
    scores = view.get("scores") if isinstance(view.get("scores"), Mapping) else {}
    per_pillar = scores.get("pillars") or {}
    overall = scores.get("overall")
    columns = ("pillar", *(("score", "coverage") if scores else ()), "checks", *STATUSES)
    table = Table()
    for col in columns:
        table.add_column(col, justify="left" if col == "pillar" else "right")
    totals = dict.fromkeys(("checks", *STATUSES), 0)
    pillars = view.get("pillars") or {}
    for pillar, counts in pillars.items():
        entry = per_pillar.get(pillar)
        shown = [report_score(entry), fmt_coverage(entry)] if scores else []
        table.add_row(*(lit(v) for v in (pillar, *shown, *(counts.get(c, 0) for c in ("checks", *STATUSES)))))
        for c in totals:
            totals[c] += counts.get(c, 0)
    if pillars:
        shown = [report_score(overall), fmt_coverage(overall)] if scores else []
        table.add_row(*(lit(v, "bold") for v in ("total", *shown, *totals.values())))
        console.print(table)
    head = f"not evaluated (coverage {fmt_coverage(overall)}):"
    score_notes(console, scores, [overall, *per_pillar.values()], head=head)
    listed = {e.get("check_id") for e in scores.get("not_evaluated") or [] if isinstance(e, Mapping)}
    for check_id, info in (view.get("checks_not_executed") or {}).items():
        info = info if isinstance(info, Mapping) else {}
        if info.get("outcome") in ("errored", "timed_out") and check_id not in listed:  # not said above
            console.print(line((str(check_id), "yellow"), f" {info['outcome']}: {info.get('message', '')}"))
    for kind, why in (view.get("unavailable") or {}).items():
        if not str(why).startswith("not installed"):
            console.print(line(("not listed", "yellow"), f" {kind}: {why}"))
    problems = list(view.get("problems") or [])
    for problem in problems[:problems_shown]:
        console.print(line(("skipped input", "yellow"), f" {problem}"))
    total = max(int(view.get("problems_total") or 0), len(problems))
    shown = min(len(problems), problems_shown)
    if total > shown:
        console.print(
            line(
                (f"… {total - shown} more skipped input(s)", "yellow"),
                f" ({total} in all; the first {len(problems)} are kept with the run: kwa runs get {run.get('run_id')})",
            )
        )
    from cli.formatters.audit import audit_lines

    for text in audit_lines(view.get("exemption_audit")):
        console.print(lit(text))
    api = api_server_line(view.get("api_server"))
    if api:
        console.print(line("API server: ", api))
    if view.get("ui_url"):  # the run's page in the Prefect UI (flows.ui: only when that UI shows it)
        console.print(line("Prefect UI: ", (str(view["ui_url"]), "cyan")), soft_wrap=True)  # unbroken: clickable
