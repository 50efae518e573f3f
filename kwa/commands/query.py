"""``kwa query assessments list|summary|history|get|diff``: read what runs stored.

Read-only over kwa's database (never created by a query); what each command prints is in
``kwa/views/assessments.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from cli.formatters import ANNOTATION_FORMATS, FORMATS, REPORT_FORMATS
from kwa.commands.common import CONTEXT, GROUP_SETTINGS, output_option, read
from kwa.values import (
    MAX_DIFF_ROWS,
    MAX_HISTORY,
    MAX_OFFSET,
    MAX_PAGE,
    bounded_option,
    choice_option,
    comma_list,
    list_option,
    since_option,
)

app = typer.Typer(help="Query stored results: list, summary, history, get, diff.", **GROUP_SETTINGS)
assessments = typer.Typer(help="Results, summaries, history and diffs of stored runs.", **GROUP_SETTINGS)
app.add_typer(assessments, name="assessments")

TABULAR = ("table", "json", "yaml", "csv")
# A list of results also prints as editor/CI lines (cli/formatters/annotations.py).
RESULT_FORMATS = (*FORMATS, *ANNOTATION_FORMATS)
ONE = ("table", "json", "yaml")
SUMMARY_FORMATS = (*FORMATS, *REPORT_FORMATS)
GET_FORMATS = (*ONE, *REPORT_FORMATS)  # the policy reports only of a run id
SINCE_HELP = "ISO 8601 (2026-02-16T10:00Z) or a duration (7d, 12h, 1d12h)"

Run = Annotated[str | None, typer.Option("--run", metavar="RUN_ID", help="this run (default: the latest)")]
Cluster = Annotated[str | None, typer.Option("--cluster", metavar="ID", help="the latest run of this cluster")]
FailOn = Annotated[
    str | None,
    typer.Option(metavar="SEVERITY", help="exit 6 when a result fails at this severity or worse (critical…info)"),
]
MinScore = Annotated[
    list[str] | None,
    typer.Option(metavar="N|PILLAR=N", help="exit 6 when the overall or a pillar's (security=80) score is below N"),
]
MinCoverage = Annotated[
    list[str] | None,
    typer.Option(
        metavar="N|PILLAR=N",
        help="with any gate, exit 6 when coverage (% of applicable checks evaluated) is below N "
        "(default 90, or $KWA_MIN_COVERAGE; 0 = off) or a pillar is incomplete",
    ),
]
Scope = Annotated[str | None, typer.Option(metavar="LABEL", help="full, pillar:P[,P] or check:ID[,ID]")]
AnyScope = Annotated[bool, typer.Option("--any-scope", help="compare runs whatever they assessed (any scope)")]
FrameworkName = Annotated[
    str | None,
    typer.Option(
        "--framework",
        metavar="NAME",
        help="read the run as a compliance framework's controls (kwa frameworks list: nsa, cis, …)",
    ),
]


def _framework(args: object) -> None:
    from kwa.views.frameworks import prepare  # checks the name before the database is opened

    prepare(args)


@assessments.command("list", context_settings=CONTEXT)
def list_(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option(metavar="RUN_ID", help="results of this run")] = None,
    cluster: Annotated[
        str | None, typer.Option(metavar="ID", help="the latest run of this cluster (with --since: its runs)")
    ] = None,
    pillar: Annotated[
        list[str] | None, list_option("--pillar", "pillar", metavar="PILLAR", help="pillars (repeat, or a,b)")
    ] = None,
    status: Annotated[
        list[str] | None, list_option("--status", "status", metavar="STATUS", help="statuses (repeat, or a,b)")
    ] = None,
    check: Annotated[
        list[str] | None, list_option("--check", "check", metavar="ID", help="check ids (repeat, or a,b)")
    ] = None,
    namespace: Annotated[
        list[str] | None, list_option("--namespace", "namespace", metavar="NS", help="namespaces (repeat, or a,b)")
    ] = None,
    kind: Annotated[
        list[str] | None, list_option("--kind", "kind", metavar="KIND", help="object kinds (repeat, or a,b)")
    ] = None,
    severity: Annotated[
        list[str] | None, list_option("--severity", "severity", metavar="SEV", help="severities (repeat, or a,b)")
    ] = None,
    since: Annotated[datetime | None, since_option(help=f"assessed at or after: {SINCE_HELP}")] = None,
    limit: Annotated[
        int | None,
        bounded_option(
            "--limit",
            0,
            MAX_PAGE,
            " (0 = everything)",
            help=f"page size (at most {MAX_PAGE:,}; 0 = everything); default 50 rows in a table, every row otherwise",
        ),
    ] = None,
    offset: Annotated[
        int,
        bounded_option("--offset", 0, MAX_OFFSET, "; deeper pages: --cursor", help="skip N results"),
    ] = 0,
    cursor: Annotated[str | None, typer.Option(metavar="C", help="next_cursor of the previous page")] = None,
    sort: Annotated[
        str,
        choice_option(
            "--sort",
            choices=("severity", "id"),
            help="severity: most severe first, then check and object; id: the order stored",
        ),
    ] = "severity",
    framework: FrameworkName = None,
    output: Annotated[str, output_option(RESULT_FORMATS)] = "table",
) -> int:
    """Results of a run (default: the latest), findings first, filtered and paginated.

    Ordered by severity (critical to info), then check id, then object (--sort id: the order the
    run stored them). Scope: --run, else --since across runs, else the latest run (of --cluster).
    """
    from kwa.views.assessments import cmd_list

    return read(
        ctx, cmd_list, run=run, cluster=cluster, pillar=comma_list(pillar), status=comma_list(status),
        check=comma_list(check), namespace=comma_list(namespace), kind=comma_list(kind),
        severity=comma_list(severity), since=since, limit=limit, offset=offset, cursor=cursor, sort=sort,
        framework=framework, output=output, _prepare=_framework,
    )  # fmt: skip


@assessments.command(context_settings=CONTEXT)
def summary(
    ctx: typer.Context,
    run: Run = None,
    cluster: Cluster = None,
    fail_on: FailOn = None,
    min_score: MinScore = None,
    min_coverage: MinCoverage = None,
    framework: FrameworkName = None,
    output: Annotated[str, output_option(SUMMARY_FORMATS)] = "table",
) -> int:
    """Counts per pillar and check, scores, coverage, top failing checks; CI gates.

    With --framework: the framework's controls one by one (status, failing checks), its score
    and coverage (docs/frameworks.md); SARIF and JUnit then hold its checks with control ids.
    """
    from kwa.views.assessments import cmd_summary, gate_options

    def prepare(args: object) -> None:
        gate_options(args)
        _framework(args)

    return read(
        ctx, cmd_summary, run=run, cluster=cluster, fail_on=fail_on, min_score=min_score,
        min_coverage=min_coverage, framework=framework, output=output, _prepare=prepare,
    )  # fmt: skip


@assessments.command(context_settings=CONTEXT)
def history(
    ctx: typer.Context,
    cluster: Annotated[
        str | None,
        typer.Option(metavar="ID", help="default: the only cluster with runs (several: asked on a terminal)"),
    ] = None,
    scope: Scope = None,
    any_scope: AnyScope = False,
    since: Annotated[datetime | None, since_option(help=f"runs finished after: {SINCE_HELP}")] = None,
    limit: Annotated[
        int,
        bounded_option("--limit", 1, MAX_HISTORY, help=f"the newest N runs (at most {MAX_HISTORY:,})"),
    ] = 1000,
    plot: Annotated[
        str | None, typer.Option(metavar="FILE.png", help="also draw each pillar's score over time (png, svg, pdf)")
    ] = None,
    output: Annotated[str, output_option(TABULAR)] = "table",
) -> int:
    """One row per run over time with scores, counts and trend (one cluster, one scope)."""
    from kwa.views.compare import cmd_history

    return read(
        ctx, cmd_history, cluster=cluster, scope=scope, any_scope=any_scope, since=since, limit=limit, plot=plot,
        output=output,
    )  # fmt: skip


@assessments.command(context_settings=CONTEXT)
def get(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(metavar="ID", help="a result id (asm_…) or a run id")],
    framework: FrameworkName = None,
    output: Annotated[str, output_option(GET_FORMATS)] = "table",
) -> int:
    """One result (asm_… id) or one run (run id) in full.

    With --framework: a run's control-by-control status; a result's controls.
    """
    from kwa.views.assessments import cmd_get

    return read(ctx, cmd_get, id=id, framework=framework, output=output, _prepare=_framework)


@assessments.command(context_settings=CONTEXT)
def diff(
    ctx: typer.Context,
    runs: Annotated[list[str] | None, typer.Argument(metavar="[RUN_A RUN_B]", help="two runs, older first")] = None,
    cluster: Annotated[
        str | None, typer.Option(metavar="ID", help="without run ids: its latest two finished runs of one scope")
    ] = None,
    scope: Scope = None,
    any_scope: AnyScope = False,
    any_cluster: Annotated[
        bool, typer.Option("--any-cluster", help="compare two runs given even when their clusters differ")
    ] = False,
    max_rows: Annotated[int, bounded_option("--max-rows", 0, MAX_DIFF_ROWS, help="rows per section in the table")] = 50,
    output: Annotated[str, output_option(TABULAR)] = "table",
) -> int:
    """What changed between two runs (default: the latest two of a cluster).

    Keyed by (check, object, container): new failures, fixed, still failing, other changes, and
    checks or objects that appeared or disappeared.
    """
    from kwa.views.compare import cmd_diff

    return read(
        ctx, cmd_diff, runs=list(runs or []), cluster=cluster, scope=scope, any_scope=any_scope,
        any_cluster=any_cluster, max_rows=max_rows, output=output,
    )  # fmt: skip
