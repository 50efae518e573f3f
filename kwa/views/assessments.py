"""What ``kwa query assessments list|summary|get`` print: each command's body, given its
parsed options (``kwa/commands/query.py`` declares them) and kwa's database."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, TextIO

from cli.errors import UsageError
from cli.formatters import REPORT_FORMATS, table
from cli.formatters.annotations import github_commands, text_lines
from cli.formatters.common import run_brief
from cli.formatters.csvout import write_csv
from cli.formatters.junit import write_junit
from cli.formatters.policyreport import write_reports
from cli.formatters.sarif import write_sarif
from cli.formatters.structured import write_json, write_yaml
from cli.history import ordered_counts
from cli.stream import STREAMED, stream_assessments
from kwa.exit_codes import ExitCode
from storage.assessed import nothing_assessed
from storage.db import Database
from storage.enums import STATUSES
from storage.gates import (
    evaluate_gates,
    format_violations,
    gate_findings,
    parse_fail_on,
    parse_min_coverage,
    parse_min_score,
)
from storage.queries import (
    PILLARS,
    AssessmentQuery,
    active_run_count,
    get_result,
    list_assessments,
    resolve_run,
    run_detail,
    run_results,
    run_summary,
)
from storage.results import COLUMNS

# A command's parsed options by name (kwa/commands/query.py builds them; lists already split).
Options = SimpleNamespace

RESULT_COLUMNS = COLUMNS  # the assessments columns, in the order storage writes them
TABLE_PAGE = 50  # `list -o table` without --limit: one screen; machine formats get everything


def write_structured(fmt: str, kind: str, payload: dict[str, Any], out: TextIO) -> bool:
    if fmt == "json":
        write_json(kind, payload, out)
        return True
    if fmt == "yaml":
        write_yaml(kind, payload, out)
        return True
    return False


# -- list ---------------------------------------------------------------------------------------


def build_query(args: Options) -> AssessmentQuery:
    return AssessmentQuery(
        run_id=args.run,
        cluster_id=args.cluster,
        pillar=args.pillar,
        status=args.status,
        since=args.since,
        limit=TABLE_PAGE if args.limit is None else args.limit,
        offset=args.offset,
        check_id=args.check,
        namespace=args.namespace,
        kind=args.kind,
        severity=[s.lower() for s in args.severity],
        cursor=args.cursor,
        sort=getattr(args, "sort", "severity"),
    )


def cmd_list(db: Database, args: Options, out: TextIO) -> int:
    fmt = args.output
    framework = getattr(args, "framework", None)
    if framework is not None:
        from kwa.views.frameworks import checks_filter

        args.check = checks_filter(framework, args.check)
    if args.limit is None and fmt != "table":
        # A machine format without --limit is the whole listing (cli/stream.py).
        if fmt in STREAMED and framework is None:  # tagged with controls: built whole below
            stream_assessments(db, build_query(args), fmt, out, RESULT_COLUMNS)
            return ExitCode.OK
        args.limit = 0  # SARIF and JUnit documents are built whole
    page = list_assessments(db, build_query(args))
    if framework is not None:
        from kwa.views.frameworks import tag_rows

        page.items = tag_rows(framework, page.items)
    payload = {
        "scope": page.scope,
        "run": run_brief(page.run),
        **({"framework": framework.name} if framework is not None else {}),
        "items": page.items,
        "pagination": {
            "limit": page.limit,
            "offset": page.offset,
            "total": page.total,
            "returned": len(page.items),
            "next_cursor": page.next_cursor,
        },
    }
    if write_structured(fmt, "AssessmentList", payload, out):
        return ExitCode.OK
    if fmt == "csv":
        write_csv(RESULT_COLUMNS, page.items, out)
    elif fmt == "sarif":
        write_sarif(group_by_run(db, page.items, page.run), out)
    elif fmt == "junit":
        write_junit(page.items, out)
    elif fmt in ("text", "github"):
        for text in (text_lines if fmt == "text" else github_commands)(page.items):
            print(text, file=out)
    else:
        table.assessments_table(page, out, f"--cursor {page.next_cursor}" if page.next_cursor else None)
        if not page.items and page.run is not None and page.run["state"] in ("queued", "running"):
            print(active_note(db, page.run["cluster_id"]), file=out)
    if page.next_cursor and fmt in ("csv", "sarif", "junit", "text", "github"):
        # The document itself has no place for it: tell the person (or script) on stderr.
        print(f"more results: repeat with --cursor {page.next_cursor} (or --limit 0 for all)", file=sys.stderr)
    return ExitCode.OK


def group_by_run(
    db: Database, rows: list[dict[str, Any]], run: Mapping[str, Any] | None
) -> list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["run_id"], []).append(r)
    if run is not None and not groups:
        return [(run, [])]
    out: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]] = []
    for run_id, members in groups.items():
        out.append((run if run is not None and run["run_id"] == run_id else resolve_run(db, run_id), members))
    return out


def active_note(db: Database, cluster_id: str | None) -> str:
    """``7 runs queued or running for cluster prod-eu (20 in all): results appear as their checks finish``."""
    everywhere = active_run_count(db)
    n = active_run_count(db, cluster_id) if cluster_id is not None else everywhere
    where = f" for cluster {cluster_id}" if cluster_id is not None else ""
    also = f" ({everywhere} in all)" if everywhere != n else ""
    return f"{n} run{'s' if n != 1 else ''} queued or running{where}{also}: results appear as their checks finish"


def gate_options(args: Options) -> tuple[str | None, dict[str, float], dict[str, float] | None]:
    """``(fail_on, min_score, min_coverage)``; min_coverage is None when no gate is asked for."""
    fail_on = parse_fail_on(args.fail_on)
    min_score = parse_min_score(args.min_score)
    return fail_on, min_score, parse_min_coverage(args.min_coverage, requested=fail_on is not None or bool(min_score))


# -- summary ------------------------------------------------------------------------------------

CHECK_COLUMNS = ("check_id", "check_name", "pillar", "severity", "results", *STATUSES, "failing_objects")


def cmd_summary(db: Database, args: Options, out: TextIO) -> int:
    fail_on, min_score, min_coverage = gate_options(args)
    summary = run_summary(db, args.run, args.cluster)
    run = summary["run"]
    gated = min_coverage is not None
    # A run that assessed nothing is not judged: no gate passes or fails on nothing (exit 9).
    nothing = nothing_assessed(run, summary["totals"]) if gated else None
    violations = None
    if gated and not nothing:
        failing = summary.get("failing_by_severity") or {}
        findings = gate_findings(db, run["run_id"], fail_on) if fail_on and any(failing.values()) else []
        violations = evaluate_gates(
            summary, fail_on=fail_on, min_score=min_score, min_coverage=min_coverage, findings=findings
        )
    fmt = args.output
    framework = getattr(args, "framework", None)
    if framework is not None:
        framework_summary(db, framework, run, fmt, out)
    elif fmt in ("json", "yaml"):
        payload = {**summary, "run": run_brief(run)}
        if gated:
            payload["gate"] = {
                "applied": not nothing,
                "fail_on": fail_on,
                "min_score": min_score,
                "min_coverage": min_coverage,
                "passed": None if nothing else not violations,
                "violations": [v.as_dict() for v in violations or []],
                **({"reason": f"nothing was assessed: {nothing}"} if nothing else {}),
            }
        write_structured(fmt, "AssessmentSummary", payload, out)
    elif fmt == "csv":
        rows = [{**c, **c["counts"]} for c in summary["checks"]]
        write_csv(CHECK_COLUMNS, rows, out)
    elif fmt == "sarif":
        write_sarif([(run, run_results(db, run["run_id"], ("failing", "warning", "error", "timeout")))], out)
    elif fmt == "junit":
        write_junit(run_results(db, run["run_id"]), out)
    elif fmt in REPORT_FORMATS:
        write_run_reports(run, run_results(db, run["run_id"]), fmt, out)
    else:
        table.summary_table(summary, out, violations)
    if nothing:
        print(f"gate not applied: nothing was assessed by run {run['run_id']}: {nothing}", file=sys.stderr)
        return ExitCode.NOTHING_ASSESSED
    if violations:
        if fmt != "table" or framework is not None:
            print(format_violations(violations, run["run_id"]), file=sys.stderr)
        return ExitCode.GATE
    return ExitCode.OK


def framework_summary(db: Database, framework: Any, run: Mapping[str, Any], fmt: str, out: TextIO) -> None:
    """``summary --framework``: the controls' status, score and coverage; SARIF and JUnit hold the
    framework's checks only, each result carrying its control ids."""
    from kwa.views.frameworks import run_report, tag_rows, write_report

    if fmt in ("table", "json", "yaml"):
        write_report(fmt, run, run_report(db, framework, run["run_id"])[1], out)
    elif fmt == "csv":
        report = run_report(db, framework, run["run_id"])[1].as_dict()
        rows = [
            {**c, "checks": " ".join(c["checks"]), "failing_checks": " ".join(c["failing_checks"])}
            for c in report["controls"]
        ]
        write_csv(FRAMEWORK_COLUMNS, rows, out)
    elif fmt == "sarif":
        rows = run_results(db, run["run_id"], ("failing", "warning", "error", "timeout"))
        write_sarif([(run, tag_rows(framework, rows))], out)
    elif fmt == "junit":
        write_junit(tag_rows(framework, run_results(db, run["run_id"])), out)
    elif fmt in REPORT_FORMATS:  # the framework's checks only, each result naming its controls
        write_run_reports(run, tag_rows(framework, run_results(db, run["run_id"])), fmt, out)


FRAMEWORK_COLUMNS = (
    "id",
    "title",
    "status",
    "partial",
    "checks",
    "failing",
    "warning",
    "exempted",
    "failing_checks",
    "reference",
)


# -- get ----------------------------------------------------------------------------------------


def cmd_get(db: Database, args: Options, out: TextIO) -> int:
    ident = args.id.strip()
    fmt = args.output
    framework = getattr(args, "framework", None)
    if ident.startswith("asm_"):
        if fmt in REPORT_FORMATS:
            raise UsageError(f"-o {fmt} renders a whole run: give a run id, not the result id {ident}")
        result = get_result(db, ident)
        item: dict[str, Any] = {**result, "run": run_brief(result["run"])}
        controls = None
        if framework is not None:
            from kwa.views.frameworks import result_controls

            controls = result_controls(framework, result)
            item["frameworks"] = {framework.name: [c["id"] for c in controls["controls"]]}
            item["controls"] = controls["controls"]
        if write_structured(fmt, "Assessment", {"item": item}, out):
            return ExitCode.OK
        table.result_detail(result, out)
        if controls is not None:
            from cli.formatters.frameworks import result_controls as print_controls

            print_controls(controls, out)
        return ExitCode.OK
    if framework is not None and fmt not in REPORT_FORMATS:
        from kwa.views.frameworks import run_report, write_report

        run, report = run_report(db, framework, ident)
        write_report(fmt, run, report, out)
        return ExitCode.OK
    detail = run_detail(db, ident)
    if fmt in REPORT_FORMATS:
        rows = run_results(db, detail["run"]["run_id"])
        if framework is not None:
            from kwa.views.frameworks import tag_rows

            rows = tag_rows(framework, rows)
        write_run_reports(detail["run"], rows, fmt, out)
        return ExitCode.OK
    if write_structured(fmt, "Run", run_payload(detail), out):
        return ExitCode.OK
    table.run_detail(detail, out)
    return ExitCode.OK


def write_run_reports(run: Mapping[str, Any], rows: list[dict[str, Any]], fmt: str, out: TextIO) -> None:
    """The run's policy reports on ``out``; a run without results says so on stderr (no report)."""
    if not write_reports(run, rows, fmt, out):
        print(f"run {run['run_id']} stored no results: no {fmt} objects written", file=sys.stderr)


def sorted_pillars(counts: Mapping[str, Any]) -> list[tuple[str, Any]]:
    return sorted(counts.items(), key=lambda kv: (PILLARS.index(kv[0]) if kv[0] in PILLARS else len(PILLARS), kv[0]))


def run_payload(detail: Mapping[str, Any]) -> dict[str, Any]:
    history = detail.get("history") or {}
    return {
        "run": detail["run"],
        "timings": detail["timings"],
        "scores": detail.get("scores"),
        "warning_indicator": detail["warning_indicator"],
        "warnings": detail["warnings"],
        "checks": {k: history.get(k) for k in ("checks_total", "checks_executed", "checks_errored", "checks_timed_out")}
        if history
        else None,
        "counts": {s: history.get(f"{s}_count", 0) for s in STATUSES} if history else None,
        "pillars": {p: ordered_counts(c) for p, c in sorted_pillars(history.get("pillar_counts") or {})}
        if history
        else None,
    }
