"""``kwa run`` (also ``python -m flows.run``): assess a cluster, manifests or the demo cluster.

Checks every option before anything is started (a bad value is exit 2), requests the run (or
follows an identical active one), executes it in this process and ends through ``kwa/verdict.py``:
the report, the CI gates, the exit code. ``--ci`` never assesses the bundled demo cluster unless
``--demo`` says so. ``--baseline FILE`` or ``--baseline-run RUN_ID|latest`` make ``--fail-on``
judge only the findings the baseline does not accept; ``--write-baseline FILE`` writes the run's
findings as a baseline (docs/baselines.md). They work with or without ``--ci``: a developer's run
and the pipeline's must reach the same verdict on the same input. When kwa's database cannot take
the run's terminal state, the exit code is still the run's real state; stderr says so, and
``kwa runs reap`` records it later.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.errors import UsageError
from cli.formatters import REPORT_FORMATS
from kwa.commands.common import CHECKS_DIR_OPTION, CHECKS_OPTION, PILLARS_OPTION
from kwa.errors import guarded, say_error
from kwa.exit_codes import ExitCode, state_exit
from kwa.values import choice_option, comma_list

RUN_OUTPUTS = ("table", "json", "yaml", *REPORT_FORMATS)


@dataclass
class RunOptions:
    """What ``kwa run`` was asked, lists already split on commas."""

    checks: list[str]
    pillars: list[str]
    manifests: list[str]
    kubeconfig: str | None
    context: str | None
    demo: bool
    cluster_id: str | None
    check_timeout: float
    run_timeout: float
    config: str | None
    output: str
    ci: bool
    fail_on: str | None
    min_score: list[str] | None
    min_coverage: list[str] | None
    force_new: bool
    watch: bool
    baseline: str | None = None
    baseline_run: str | None = None
    write_baseline: str | None = None
    baseline_expires: str | None = None
    checks_dirs: list[str] = field(default_factory=list)
    push_metrics: str | None = None
    publish_reports: bool = False
    framework: str | None = None


def run(
    check: Annotated[list[str] | None, CHECKS_OPTION] = None,
    pillar: Annotated[list[str] | None, PILLARS_OPTION] = None,
    manifests: Annotated[
        list[str] | None, typer.Option(metavar="PATH", help="assess a file, a directory or - (stdin); repeatable")
    ] = None,
    kubeconfig: Annotated[str | None, typer.Option(metavar="FILE", help="the kubeconfig of the cluster")] = None,
    context: Annotated[str | None, typer.Option(metavar="NAME", help="the kubeconfig context to assess")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="assess the bundled demo cluster")] = False,
    cluster_id: Annotated[
        str | None,
        typer.Option(metavar="ID", help="the name this input's history is kept under (default: from the source)"),
    ] = None,
    check_timeout: Annotated[float, typer.Option(metavar="S", help="per-check timeout in seconds")] = 30.0,
    run_timeout: Annotated[float, typer.Option(metavar="S", help="whole-run timeout in seconds, 0 = none")] = 600.0,
    config: Annotated[
        str | None, typer.Option(metavar="FILE", help="kwa configuration file (thresholds, exemptions, …)")
    ] = None,
    output: Annotated[
        str,
        choice_option(
            "--output",
            "-o",
            choices=RUN_OUTPUTS,
            help="report format (policyreport/openreports: the run as Kubernetes policy reports, a YAML stream)",
        ),
    ] = "table",
    ci: Annotated[
        bool, typer.Option("--ci", help="record the trigger as 'ci'; never fall back to the demo cluster")
    ] = False,
    fail_on: Annotated[
        str | None, typer.Option(metavar="SEVERITY", help="gate: exit 6 if any failing result is this severe")
    ] = None,
    min_score: Annotated[
        list[str] | None, typer.Option(metavar="N|PILLAR=N", help="gate: exit 6 if a score is below N; repeatable")
    ] = None,
    min_coverage: Annotated[
        list[str] | None,
        typer.Option(
            metavar="N|PILLAR=N",
            help="with any gate, exit 6 if coverage (% of applicable checks evaluated) is below N "
            "(default 90, or $KWA_MIN_COVERAGE; 0 = off) or a pillar is incomplete",
        ),
    ] = None,
    force_new: Annotated[
        bool, typer.Option("--force-new", help="start a new run even if an identical one is active")
    ] = False,
    watch: Annotated[bool, typer.Option("--watch", help="live progress per pillar while the run executes")] = False,
    baseline: Annotated[
        str | None, typer.Option(metavar="FILE", help="--fail-on judges only findings not in this baseline file")
    ] = None,
    baseline_run: Annotated[
        str | None,
        typer.Option(
            metavar="RUN_ID|latest",
            help="--fail-on judges only findings not in this stored run (latest: the cluster's last completed "
            "or partial run)",
        ),
    ] = None,
    write_baseline: Annotated[
        str | None, typer.Option(metavar="FILE", help="write this run's findings as a baseline file")
    ] = None,
    baseline_expires: Annotated[
        str | None,
        typer.Option(metavar="90d|YYYY-MM-DD", help="with --write-baseline: the last day new entries suppress"),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="show Prefect's own log lines")] = False,
    checks_dir: Annotated[list[str] | None, CHECKS_DIR_OPTION] = None,
    push_metrics: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="after the run is stored, push its cluster's metrics to this Pushgateway (or $KWA_PUSHGATEWAY); "
            "an unreachable one is a warning",
        ),
    ] = None,
    publish_reports: Annotated[
        bool,
        typer.Option(
            "--publish-reports",
            help="after the run is stored, apply its policy reports (wg-policy and OpenReports, where the CRDs "
            "are installed) to the assessed cluster, replacing the previous run's (live clusters only)",
        ),
    ] = False,
    framework: Annotated[
        str | None,
        typer.Option(
            "--framework",
            metavar="NAME",
            help="also read the run as a compliance framework's controls (kwa frameworks list: nsa, cis, …): "
            "after the table, or under 'framework' in json/yaml",
        ),
    ] = None,
) -> int:
    """Assess a cluster (default: the current kubeconfig context, else the bundled demo cluster) or
    manifests against the Well-Architected pillars."""
    options = RunOptions(
        comma_list(check), comma_list(pillar), list(manifests or []), kubeconfig, context, demo, cluster_id,
        check_timeout, run_timeout, config, output, ci, fail_on, min_score, min_coverage, force_new, watch,
        baseline, baseline_run, write_baseline, baseline_expires, list(checks_dir or []), push_metrics, publish_reports,
        framework,
    )  # fmt: skip
    return guarded(lambda: start(options, verbose))


def start(options: RunOptions, verbose: bool) -> int:
    """Everything ``kwa run`` does once its options are parsed; its exit code."""
    from flows import signals
    from kwa.session import quiet_prefect

    quiet_prefect(verbose)
    signals.install()
    try:
        return _run(options)
    except UsageError as exc:
        say_error(exc)
        return ExitCode.USAGE
    except KeyboardInterrupt:  # a third signal: the orderly stop was cut short
        print("interrupted: exiting without recording the run's end (`kwa runs reap` records it)", file=sys.stderr)
        return ExitCode.ABORTED


def _run(a: RunOptions) -> int:
    from checks.sources.manifests import SourceError, expand_paths
    from checks.sources.resolve import SourceSpec, choose
    from kwa.commands.common import assessment_options, hint_if_stdin_is_a_terminal

    fail_on, min_score, min_coverage, selected, _ = assessment_options(a)
    _check_push_url(a.push_metrics)
    if a.framework is not None:
        from kwa.views.frameworks import framework_option

        if a.output in REPORT_FORMATS:
            raise UsageError(f"--framework reads the run as controls: use -o table, json or yaml, not -o {a.output}")
        framework_option(a.framework)  # an unknown name is exit 2 before anything runs
    if a.demo and (a.manifests or a.kubeconfig or a.context):
        raise UsageError("--demo cannot be combined with --manifests, --kubeconfig or --context")
    if a.manifests:
        try:
            expand_paths(a.manifests)
        except SourceError as exc:
            raise UsageError(str(exc)) from None
    spec = SourceSpec("demo") if a.demo else choose(a.manifests, a.kubeconfig, a.context)
    if spec.kind == "demo" and not a.demo and a.ci:
        # A pipeline whose kubeconfig went missing must not pass its gates on the demo cluster.
        raise UsageError(
            "--ci needs something to assess and found no source: no --manifests, no --kubeconfig or --context, "
            "and no kubeconfig ($KUBECONFIG, ~/.kube/config) or in-cluster service account. Pass --manifests PATH "
            "(- for stdin), --kubeconfig FILE [--context NAME], or --demo to assess the bundled demo cluster on "
            "purpose."
        )
    if spec.kind == "demo" and not a.demo:
        print(
            "No kubeconfig found: assessing the bundled demo cluster 'demo-prod' (use --manifests or "
            "--kubeconfig to assess your own).",
            file=sys.stderr,
        )
    if a.publish_reports and spec.kind != "live":
        # Said before the run so nobody waits for it; the run itself goes ahead as asked.
        print(
            f"--publish-reports: nothing will be published: this run assesses {spec.describe()}, not a live "
            "cluster, so there is no cluster to publish policy reports to",
            file=sys.stderr,
        )
        a.publish_reports = False
    if "-" in spec.paths and a.watch:
        raise UsageError("--watch cannot be combined with manifests from stdin")
    hint_if_stdin_is_a_terminal(spec.paths, "kwa run --manifests")
    from kwa.commands.baseline_options import baseline_options

    baseline = baseline_options(a)
    from kwa.session import connect_prefect

    failed = connect_prefect()
    if failed is not None:
        return failed
    from flows import signals

    if signals.stop_reason():
        print(f"{signals.stop_reason()} before a run was requested: nothing was started", file=sys.stderr)
        return ExitCode.ABORTED
    return _request_and_execute(a, spec, selected, (fail_on, min_score, min_coverage), baseline)


def _request_and_execute(
    a: RunOptions, spec: Any, selected: Any, gates: tuple[Any, Any, Any], baseline: Any = None
) -> int:
    from flows.admission import request_run, run_parameters
    from flows.settle import execute
    from kwa.commands.runs import watch_run
    from kwa.verdict import conclude
    from storage.db import Database, StorageUnavailable

    parameters = run_parameters(
        spec,
        a.pillars or None,
        a.checks or None,
        a.check_timeout,
        a.run_timeout or None,
        str(Path(a.config).resolve()) if a.config else None,  # a rerun may start in another directory
        [str(Path(d).resolve()) for d in a.checks_dirs],
    )
    cluster_id = a.cluster_id or spec.default_cluster_id()
    try:
        db = Database()
        if a.baseline_run:  # resolved before this run exists: "latest" is the run before it
            from kwa.commands.baseline_options import stored_baseline

            baseline = stored_baseline(db, a.baseline_run, cluster_id, baseline)
        run, created = request_run(
            db,
            selected=selected,
            pillars=a.pillars,
            checks=a.checks,
            cluster_id=cluster_id,
            source=spec.describe(),
            trigger="ci" if a.ci else "manual",
            parameters=parameters,
            force_new=a.force_new,
        )
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    run_id = run["run_id"]
    ending = None
    if not created:
        print(
            f"an identical run {run_id} is already {run['state']}: following it instead of starting another "
            "(--force-new starts a new one)",
            file=sys.stderr,
        )
        from flows.control import wait

        try:
            watch_run(db, run_id) if a.watch else wait(db, run_id)
        except KeyboardInterrupt:
            print(f"stopped following run {run_id}; it goes on (kwa runs watch {run_id})", file=sys.stderr)
            return ExitCode.INTERRUPTED
    else:
        count = f"{len(selected)} check{'' if len(selected) == 1 else 's'}"
        print(f"run {run_id}: {count}, {spec.describe()}, {_cluster_note(run, a, spec)}",
              file=sys.stderr)  # fmt: skip
        watcher = (lambda: watch_run(db, run_id)) if a.watch else None
        ending = execute(db, run_id, parameters, cluster_id=run["cluster_id"], trigger=run["trigger"], watcher=watcher)
    try:
        code = conclude(db, run_id, a.output, ending, *gates, baseline, framework=a.framework)
    except StorageUnavailable as exc:
        print(f"error: storage unavailable: cannot read run {run_id} back: {exc}", file=sys.stderr)
        return state_exit(ending.state) if ending else ExitCode.FAILED
    _push_metrics(db, run["cluster_id"], a.push_metrics)
    if a.publish_reports:
        _publish(db, run_id, a)
    return code


def _publish(db: Any, run_id: str, a: RunOptions) -> None:
    """Apply the stored run's policy reports to the cluster; warnings only, never the exit code."""
    from kwa.publish_reports import publish, stored_rows
    from storage.db import StorageUnavailable
    from storage.runs import get_run

    try:
        run = get_run(db, run_id) or {"run_id": run_id, "state": "unknown"}
        rows = stored_rows(db, run)
    except StorageUnavailable as exc:
        print(f"policy reports not published: storage unavailable: {exc}", file=sys.stderr)
        return
    publish(run, rows, a.kubeconfig, a.context)


def _check_push_url(option: str | None) -> None:
    """A Pushgateway URL that cannot be one is a usage error before the run, not a warning after."""
    from kwa.metrics.export import PUSHGATEWAY_ENV, MetricsError, push_url_from, split_credentials

    url = push_url_from(option)
    if url is not None:
        try:
            split_credentials(url)
        except MetricsError as exc:
            raise UsageError(f"{'--push-metrics' if option is not None else PUSHGATEWAY_ENV}: {exc}") from None


def _push_metrics(db: Any, cluster_id: str, option: str | None) -> None:
    """The run is stored: its cluster's metrics to the Pushgateway, if one is configured (a
    failure is a warning; the exit code stays the run's)."""
    from kwa.metrics.export import push_after_run, push_url_from

    url = push_url_from(option)
    if url is not None:
        push_after_run(db, cluster_id, url)


def _cluster_note(run: dict[str, Any], a: RunOptions, spec: Any) -> str:
    """``cluster id argo-cd:manifests`` — and, for stdin, that every stdin run shares it."""
    from checks.sources.naming import PIPE_ID, STDIN_ID

    note = f"cluster id {run['cluster_id']}"
    if spec.kind == "manifests" and not a.cluster_id and run["cluster_id"] in (STDIN_ID, PIPE_ID):
        note += f" (shared by every {run['cluster_id']} run: --cluster-id NAME keeps this input's history apart)"
    return note
