"""``kwa fleet``: assess many clusters, each its own run, with one summary."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from cli.errors import UsageError
from kwa.commands.common import CHECKS_OPTION, PILLARS_OPTION
from kwa.errors import AlreadyReported, guarded
from kwa.exit_codes import ExitCode
from kwa.values import choice_option, comma_list


def fleet(
    contexts: Annotated[str, typer.Option(metavar="A,B", help="kubeconfig contexts to assess")] = "",
    contexts_file: Annotated[
        str | None, typer.Option(metavar="FILE", help="a YAML list of contexts, or one context per line")
    ] = None,
    kubeconfig: Annotated[str | None, typer.Option(metavar="FILE", help="the kubeconfig holding the contexts")] = None,
    pillar: Annotated[list[str] | None, PILLARS_OPTION] = None,
    check: Annotated[list[str] | None, CHECKS_OPTION] = None,
    deployment: Annotated[
        str | None, typer.Option(metavar="FLOW/DEPLOYMENT", help="run each cluster as a run of this deployment")
    ] = None,
    output: Annotated[str, choice_option("--output", "-o", choices=("table", "json"), help="summary format")] = "table",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show Prefect's own log lines")] = False,
    push_metrics: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="once the fleet has ended, push each assessed cluster's metrics to this Pushgateway (or "
            "$KWA_PUSHGATEWAY); an unreachable one is a warning",
        ),
    ] = None,
) -> int:
    """Assess many clusters, each its own run, with one summary (exit 4 if any failed or aborted)."""
    return guarded(
        lambda: _fleet(
            comma_list(contexts), contexts_file, kubeconfig, comma_list(pillar), comma_list(check), deployment,
            output, verbose, push_metrics,
        )
    )  # fmt: skip


def _fleet(
    contexts: list[str],
    contexts_file: str | None,
    kubeconfig: str | None,
    pillars: list[str],
    checks: list[str],
    deployment: str | None,
    output: str,
    verbose: bool,
    push_metrics: str | None = None,
) -> int:
    from kwa.commands.run import _check_push_url
    from kwa.session import connect_prefect, quiet_prefect

    _check_push_url(push_metrics)  # a URL that cannot be a Pushgateway's: exit 2 before any run

    # Before anything imports Prefect: its logging is configured once, at import, from these
    # settings (importing flows.fleet first is what let Prefect's console lines through).
    quiet_prefect(verbose=verbose)
    from flows.fleet import FleetError, fleet, read_targets

    try:
        read_targets(contexts, contexts_file)
    except FleetError as exc:
        raise UsageError(str(exc)) from None
    failed = connect_prefect()
    if failed is not None:
        raise AlreadyReported(failed)
    summary = fleet(
        contexts=contexts or None,
        contexts_file=contexts_file,
        kubeconfig=kubeconfig,
        pillars=pillars or None,
        checks=checks or None,
        deployment=deployment,
    )
    if output == "json":
        print(json.dumps(summary, indent=2, default=str))
    else:
        _fleet_table(summary)
    _push_clusters(summary, push_metrics)
    return ExitCode.OK if summary["failed"] == 0 and summary["aborted"] == 0 else ExitCode.FAILED


def _push_clusters(summary: dict[str, Any], option: str | None) -> None:
    """Each cluster that got a run: its metrics to the Pushgateway, when one is configured (a
    failure is a warning per cluster; the fleet's exit code stays its runs')."""
    from kwa.metrics.export import push_after_run, push_url_from

    url = push_url_from(option)
    clusters = [r["cluster_id"] for r in summary["clusters"] if r.get("run_id")]
    if url is None or not clusters:
        return
    from storage.db import Database

    db = Database()
    try:
        for cluster_id in clusters:
            push_after_run(db, cluster_id, url)
    finally:
        db.dispose()


def _fleet_table(summary: dict[str, Any]) -> None:
    from rich.table import Table

    from cli.formatters.common import STATE_STYLE
    from cli.formatters.text import console_for, line, lit, styled
    from storage.grades import compact_score_text

    table = Table(
        title=f"fleet: {summary['completed']} completed, {summary['partial']} partial, "
        f"{summary['failed']} failed, {summary['aborted']} aborted"
    )
    for col, justify in (("cluster", "left"), ("state", "left"), ("score", "right"), ("failing", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    table.add_column("run")
    for r in summary["clusters"]:
        # Cluster ids and states come from kubeconfigs and stored runs: literal text, never Rich markup.
        table.add_row(
            lit(r["cluster_id"]),
            styled(r["state"], STATE_STYLE),
            lit(compact_score_text(r)),
            lit(r["failing"]),
            lit(r["run_id"] or "-"),
        )
    console = console_for(sys.stdout)
    console.print(table)
    # What `kwa run` would have printed under its table: why a run did not complete.
    for r in summary["clusters"]:
        if r.get("error"):
            state = styled(r["state"], STATE_STYLE)
            console.print(line((f"{r['cluster_id']}:", "bold"), " ", state, f": {r['error']}"), soft_wrap=True)
