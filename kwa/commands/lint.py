"""``kwa lint PATH…``: assess manifests in this process, for pull requests and editors.

No Prefect server and no database (unless ``--store``): the input is read, every selected check
runs in the forked worker lanes with its hard timeout (``flows/lint.py``, the code a Prefect run
uses), and the report is built from the rows in memory. Same checks, configuration, exemptions,
scores, gates and exit codes as ``kwa run --ci``; ``--fail-on`` defaults to ``high`` here (a lint
that passes a privileged container is no lint; ``--fail-on none`` reports without judging).

Start-up matters (a pre-commit hook runs on every commit): this module and what it imports load
neither Prefect nor SQLAlchemy; ``--store`` imports storage when it is asked for.
"""

from __future__ import annotations

import gc
import itertools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.errors import UsageError
from kwa.commands.common import CHECKS_DIR_OPTION, CHECKS_OPTION, PILLARS_OPTION
from kwa.errors import guarded, say_error
from kwa.exit_codes import ExitCode
from kwa.values import choice_option, comma_list

OUTPUTS = ("text", "table", "json", "yaml", "sarif", "github", "junit")
DEFAULT_FAIL_ON = "high"


@dataclass
class LintOptions:
    paths: list[str]
    checks: list[str]
    pillars: list[str]
    config: str | None
    cluster_id: str | None
    check_timeout: float
    run_timeout: float
    output: str
    fail_on: str | None
    min_score: list[str] | None
    min_coverage: list[str] | None
    baseline: str | None
    write_baseline: str | None
    baseline_expires: str | None
    store: bool
    baseline_run: None = None  # kwa run's option (a stored run); a lint compares with a file
    checks_dirs: list[str] = field(default_factory=list)  # kwa run's option (a stored run); a lint compares with a file


def lint(
    paths: Annotated[list[str], typer.Argument(metavar="PATH", help="files, directories, or - for stdin (repeatable)")],
    check: Annotated[list[str] | None, CHECKS_OPTION] = None,
    pillar: Annotated[list[str] | None, PILLARS_OPTION] = None,
    config: Annotated[
        str | None, typer.Option(metavar="FILE", help="kwa configuration file (thresholds, exemptions, …)")
    ] = None,
    cluster_id: Annotated[
        str | None, typer.Option(metavar="ID", help="the name a --store'd run is kept under (default: from the paths)")
    ] = None,
    check_timeout: Annotated[float, typer.Option(metavar="S", help="per-check timeout in seconds")] = 30.0,
    run_timeout: Annotated[float, typer.Option(metavar="S", help="whole-lint timeout in seconds, 0 = none")] = 600.0,
    output: Annotated[
        str,
        choice_option(
            "--output",
            "-o",
            choices=OUTPUTS,
            help="text (file:line: SEV CHECK object: message), table, json, "
            "yaml, sarif, github (workflow commands), junit",
        ),
    ] = "text",
    fail_on: Annotated[
        str | None,
        typer.Option(
            metavar="SEVERITY",
            help=f"gate: exit 6 if any failing result is this severe (default {DEFAULT_FAIL_ON}; none = no gate)",
        ),
    ] = DEFAULT_FAIL_ON,
    min_score: Annotated[
        list[str] | None, typer.Option(metavar="N|PILLAR=N", help="gate: exit 6 if a score is below N; repeatable")
    ] = None,
    min_coverage: Annotated[
        list[str] | None,
        typer.Option(metavar="N|PILLAR=N", help="with any gate, exit 6 if coverage is below N (default 90; 0 = off)"),
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(metavar="FILE", help="fail only on findings not in this baseline file")
    ] = None,
    write_baseline: Annotated[
        str | None, typer.Option(metavar="FILE", help="write this lint's findings as a baseline file")
    ] = None,
    baseline_expires: Annotated[
        str | None,
        typer.Option(metavar="90d|YYYY-MM-DD", help="with --write-baseline: the last day new entries suppress"),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store", help="also record the lint as a run (trigger ci) in kwa's database")
    ] = False,
    checks_dir: Annotated[list[str] | None, CHECKS_DIR_OPTION] = None,
) -> int:
    """Lint manifests in this process: no Prefect server, no database (unless --store)."""
    options = LintOptions(
        list(paths), comma_list(check), comma_list(pillar), config, cluster_id, check_timeout, run_timeout, output,
        None if (fail_on or "").strip().lower() == "none" else fail_on, min_score, min_coverage, baseline,
        write_baseline, baseline_expires, store, None, list(checks_dir or []),
    )  # fmt: skip
    return guarded(lambda: start(options))


def start(a: LintOptions) -> int:
    from flows import signals

    signals.install()
    # No cyclic garbage collection for the lint's one pass: once the run hands its snapshot back
    # to the collector, every full collection the report's allocations trigger walks millions of
    # parsed nodes (10k objects: rendering SARIF took 0.7 s, 0.25 s without). What the run
    # creates is freed by reference counting; the collector's state is restored on the way out.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _lint(a)
    except UsageError as exc:
        say_error(exc)
        return ExitCode.USAGE
    finally:
        if was_enabled:
            gc.enable()


def _lint(a: LintOptions) -> int:
    from checks.sources.manifests import SourceError, expand_paths
    from checks.sources.resolve import manifests
    from kwa.commands.baseline_options import baseline_options
    from kwa.commands.common import assessment_options, hint_if_stdin_is_a_terminal

    fail_on, min_score, min_coverage, selected, config = assessment_options(a)
    try:
        expand_paths(a.paths)
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    baseline = baseline_options(a)  # a bad file or path: exit 2 before anything is read
    spec = manifests(a.paths)
    hint_if_stdin_is_a_terminal(a.paths, "kwa lint")
    from flows.lint import LintAborted, LintError, LintSelectionError, lint

    try:
        linted = lint(
            spec, selected, config, pillars=a.pillars or None, checks=a.checks or None,
            cluster_id=a.cluster_id or spec.default_cluster_id(), check_timeout=a.check_timeout,
            run_timeout=a.run_timeout or None, store=a.store,
            # kept with a --store'd run for its rerun, which may start in another directory
            config_path=str(Path(a.config).resolve()) if a.config else None,
            checks_dirs=[str(Path(d).resolve()) for d in a.checks_dirs],
        )  # fmt: skip
    except LintSelectionError as exc:
        say_error(exc)
        return ExitCode.USAGE
    except LintAborted as exc:
        print(f"kwa lint: aborted: {exc}", file=sys.stderr)
        return ExitCode.ABORTED
    except LintError as exc:
        say_error(exc)
        return ExitCode.FAILED
    return conclude(linted, a, fail_on, min_score, min_coverage, baseline)


def conclude(
    linted: Any, a: LintOptions, fail_on: str | None, min_score: Any, min_coverage: Any, baseline: Any = None
) -> int:
    """Baseline, gates, the report in the asked format, the summary line on stderr; the exit code."""
    from kwa.verdict import apply_baseline, apply_gates, outcome_code, view_of
    from storage.gate_rows import gate_findings_from_rows, gate_summary
    from storage.gates import OBJECTS_SHOWN, evaluate_gates, format_violations

    view = view_of(dict(linted.run), dict(linted.history))
    code = outcome_code(view)
    split, notes, unwritten = None, [], False
    if baseline is not None:
        split, notes, unwritten = apply_baseline(
            lambda: [r for r in linted.notable if r["status"] in ("failing", "warning")], view, code, baseline
        )

    def judge(new_failing: Any) -> list[Any]:
        summary = gate_summary(linted.run, linted.history, linted.notable, linted.passing_counts)
        findings = gate_findings_from_rows(linted.notable, fail_on, OBJECTS_SHOWN)
        return evaluate_gates(
            summary, fail_on=fail_on, min_score=min_score, min_coverage=min_coverage, findings=findings,
            new_failing=new_failing,
        )  # fmt: skip

    violations = apply_gates(view, code, (fail_on, min_score, min_coverage), split, judge)
    render(view, linted, a.output)
    if view.get("nothing_assessed"):
        print(f"nothing was assessed: {view['nothing_assessed']}", file=sys.stderr)
    if view.get("gate") and not view["gate"]["applied"]:
        print("gate not applied: nothing was assessed (exit 9)", file=sys.stderr)
    if a.output != "table":
        print(summary_line(view, linted), file=sys.stderr)
    if a.output not in ("text", "table", "github"):  # those show skipped input among the findings
        from cli.formatters.skipped import skipped_of, text_lines

        skipped, total = skipped_of(view)
        for line in text_lines(skipped[:SKIPPED_SHOWN], total):
            print(line, file=sys.stderr)
    if a.output != "table":  # the table report lists the audit itself
        from cli.formatters.audit import audit_lines

        for text in audit_lines(view.get("exemption_audit")):
            print(text, file=sys.stderr)
    for note in [*notes, *(f"note: {n}" for n in getattr(linted, "notes", ()))]:
        print(note, file=sys.stderr)
    if violations:
        print(format_violations(violations, None if not linted.stored else linted.run["run_id"]), file=sys.stderr)
        code = ExitCode.GATE if code in (ExitCode.OK, ExitCode.PARTIAL) else code
    # A --write-baseline file that could not be written: the step meant to produce it must not pass.
    return ExitCode.USAGE if unwritten and code in (ExitCode.OK, ExitCode.PARTIAL, ExitCode.GATE) else code


FINDING_STATUSES = ("failing", "warning", "error", "timeout")
SKIPPED_SHOWN = 10  # skipped inputs listed on stderr beside a structured output (it holds them all)


def render(view: dict[str, Any], linted: Any, output: str) -> None:
    out = sys.stdout
    findings = [r for r in linted.notable if r["status"] in FINDING_STATUSES]
    if output == "table":
        from kwa.verdict import render as render_run

        render_run(view, "table")
    elif output in ("json", "yaml"):
        data = {**view, "results": findings}
        if output == "json":
            print(json.dumps(data, indent=2, default=str))
        else:
            import yaml

            print(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False), end="")
    elif output == "sarif":
        from cli.formatters.sarif import write_sarif

        write_sarif([(linted.run, findings)], out)
    elif output == "junit":
        from cli.formatters.junit import write_junit

        write_junit(sorted(linted.rows, key=_place), out)  # lanes finish in any order: keep the file stable
    elif output == "github":
        from cli.formatters.annotations import github_commands
        from cli.formatters.skipped import github_commands as skipped_commands
        from cli.formatters.skipped import skipped_of

        _write_lines(itertools.chain(skipped_commands(*skipped_of(view)), github_commands(findings)), out)
    else:
        from cli.formatters.annotations import text_lines
        from cli.formatters.skipped import skipped_of
        from cli.formatters.skipped import text_lines as skipped_lines

        _write_lines(itertools.chain(skipped_lines(*skipped_of(view)), text_lines(findings)), out)


def _write_lines(lines: Any, out: Any, batch: int = 2000) -> None:
    """Lines written a batch at a time: each write passes the credential filter and the closed-pipe
    guard, and one ``print`` per finding (16,000 at 10k objects) spent 0.2 s there."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= batch:
            out.write("\n".join(chunk) + "\n")
            chunk.clear()
    if chunk:
        out.write("\n".join(chunk) + "\n")


def _place(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        str(row.get("source") or "~"), row.get("source_line") or 0, row["check_id"],
        *(str(row.get(k) or "") for k in ("object_kind", "object_namespace", "object_name", "container", "message")),
    )  # fmt: skip


def summary_line(view: dict[str, Any], linted: Any) -> str:
    """``kwa lint: 12 objects, 100 checks, 3 failing (1 critical, 2 high), 4 warning; score 87.5 B``."""
    from storage.grades import compact_score_text

    counts: dict[str, int] = {}
    failing: dict[str, int] = {}
    for r in linted.notable:  # passing rows are not counted here
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        if r["status"] == "failing":
            failing[r["severity"]] = failing.get(r["severity"], 0) + 1
    objects = view.get("objects")
    checks = len(linted.run.get("check_ids") or [])
    parts = [
        f"{objects} object{'' if objects == 1 else 's'}" if objects is not None else "? objects",
        f"{checks} check{'' if checks == 1 else 's'}",
    ]
    by_severity = ", ".join(f"{n} {s}" for s, n in sorted(failing.items(), key=lambda kv: _severity_pos(kv[0])))
    parts.append(f"{counts.get('failing', 0)} failing" + (f" ({by_severity})" if by_severity else ""))
    for status in ("warning", "error", "timeout"):
        if counts.get(status):
            parts.append(f"{counts[status]} {status}")
    scores = view.get("scores") or {}
    overall = scores.get("overall") if isinstance(scores, dict) else None
    text = f"kwa lint: {', '.join(parts)}; score {compact_score_text(overall)}"
    if linted.run.get("state") not in ("completed", None):
        text += f"; {linted.run['state']}" + (f": {linted.run['error']}" if linted.run.get("error") else "")
    if linted.stored:
        text += f"; stored as run {linted.run['run_id']}"
    return text


def _severity_pos(severity: str) -> int:
    from storage.gate_options import SEVERITIES

    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)
