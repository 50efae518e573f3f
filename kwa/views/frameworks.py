"""``--framework NAME`` on ``kwa query assessments summary|list|get``: a run read as a framework's
controls (rules: docs/frameworks.md), and results tagged with the controls they speak to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from cli.errors import UsageError
from cli.formatters.common import run_brief
from cli.formatters.frameworks import framework_report
from cli.formatters.structured import write_json, write_yaml
from cli.formatters.table import run_line
from kwa.frameworks import Framework, FrameworkError, FrameworkReport, UnknownFrameworkError, assess, load
from kwa.frameworks.runs import run_outcomes
from storage.db import Database


def framework_option(name: str | None) -> Framework | None:
    """The framework ``--framework`` names (None without it); a bad name is exit 2 listing the valid ones."""
    if name is None:
        return None
    try:
        return load(name)
    except UnknownFrameworkError as exc:
        raise UsageError(str(exc)) from None
    except FrameworkError as exc:  # a shipped file kwa cannot read: say which, and where
        raise UsageError(f"framework {name!r} cannot be used: {exc}") from None


def prepare(args: Any) -> None:
    """Check ``--framework`` before the database is opened (``read(_prepare=…)``)."""
    args.framework = framework_option(getattr(args, "framework", None))


def run_report(
    db: Database, framework: Framework, run_id: str | None, cluster_id: str | None = None
) -> tuple[dict[str, Any], FrameworkReport]:
    run, outcomes = run_outcomes(db, run_id, cluster_id)
    return run, assess(framework, outcomes)


def report_payload(run: Mapping[str, Any], report: FrameworkReport) -> dict[str, Any]:
    return {"run": run_brief(run), **report.as_dict()}


def write_report(fmt: str, run: Mapping[str, Any], report: FrameworkReport, out: TextIO) -> None:
    if fmt == "json":
        write_json("FrameworkStatus", report_payload(run, report), out)
    elif fmt == "yaml":
        write_yaml("FrameworkStatus", report_payload(run, report), out)
    else:
        framework_report(report.as_dict(), out, run_line(run))


def tag_rows(framework: Framework, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the framework's checks, each with ``controls`` (its control ids) and ``frameworks``
    (``{name: ids}``, what SARIF and JUnit carry); rows of other checks are left out."""
    by_check = framework.controls_by_check()
    out = []
    for row in rows:
        ids = by_check.get(row["check_id"])
        if ids:
            out.append({**row, "controls": list(ids), "frameworks": {framework.name: list(ids)}})
    return out


def checks_filter(framework: Framework, asked: list[str]) -> list[str]:
    """``--check`` narrowed to the framework's checks (all of them without ``--check``)."""
    mapped = framework.check_ids()
    if not asked:
        return mapped
    wanted = {a.strip().upper() for a in asked}
    kept = [c for c in mapped if c.upper() in wanted]
    if not kept:
        raise UsageError(
            f"none of --check {', '.join(asked)} is mapped by framework {framework.name} "
            f"(its checks: {', '.join(sorted(mapped))})"
        )
    return kept


def result_controls(framework: Framework, result: Mapping[str, Any]) -> dict[str, Any]:
    """What one result speaks to in the framework: its controls, with titles and references."""
    ids = set(framework.controls_by_check().get(result["check_id"], []))
    return {
        "framework": framework.name,
        "controls": [
            {"id": c.id, "title": c.title, "reference": c.reference, "mapping": c.mapping}
            for c in framework.controls
            if c.id in ids
        ],
    }
