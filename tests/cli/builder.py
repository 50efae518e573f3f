"""A small deterministic database, built through storage's public API only.

Two clusters: ``prod-eu`` has two runs a day apart (scores recorded — the second one partial, with
a grade capped by coverage and an incomplete pillar — results from manifests so SARIF has file
locations, changes between them for ``diff``); ``staging`` has a
failed run and a completed run that carries warnings (seed 002's indicator). One result carries
hostile text: quotes, ``%``, ``'; DROP TABLE``, a leading ``=`` (CSV formula), a newline.
The clock of storage.runs is frozen so every timestamp is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import storage.runs as runs_module
from storage.db import Database
from storage.grades import verdict
from storage.results import ResultWriter
from storage.runs import create_run, fail_run, finish_run, start_run
from storage.scores import SCORES_VERSION

RUN_1 = "run_20260210_090000_aaaaaa"
RUN_2 = "run_20260211_090000_bbbbbb"
RUN_FAILED = "run_20260211_100000_cccccc"
RUN_WARN = "run_20260211_110000_dddddd"
MANIFEST = "tests/cli/data/app.yaml"
HOSTILE_NS = "it's"
HOSTILE_MESSAGE = '=HYPERLINK("x") 100% \'; DROP TABLE assessments; --\nsecond line'

CHECKS = {
    "SEC-001": {"pillar": "security", "name": "Privileged container", "severity": "critical"},
    "SEC-002": {"pillar": "security", "name": "Image uses latest tag", "severity": "high"},
    "REL-001": {"pillar": "reliability", "name": "Single replica", "severity": "medium"},
    "COST-001": {"pillar": "cost", "name": "Orphaned ConfigMap", "severity": "low"},
    "OPS-001": {"pillar": "operational-excellence", "name": "Missing owner label", "severity": "info"},
}


# Where each object of app.yaml is, as the manifest reader records it (1-based first and last
# content lines and first column; tests/sources_manifests/test_positions.py checks the reader
# agrees), and the line and column of the two fields the findings below point at.
POSITIONS = {
    f"{MANIFEST}#0": (2, 5, 1),
    f"{MANIFEST}#1": (7, 24, 1),
    f"{MANIFEST}#2#0": (29, 33, 3),
    f"{MANIFEST}#2#1": (34, 38, 3),
}
PRIVILEGED = ("spec.template.spec.containers[0].securityContext.privileged", 24, 13)
IMAGE = ("spec.template.spec.containers[0].image", 22, 11)


def check(check_id: str) -> dict[str, Any]:
    meta = CHECKS[check_id]
    return {"id": check_id, **meta, "remediation": f"Remediate {check_id}."}


def row(status: str, kind: str | None, ns: str | None, name: str | None, **extra: Any) -> dict[str, Any]:
    base = {
        "status": status,
        "object_kind": kind,
        "object_namespace": ns,
        "object_name": name,
        "container": None,
        "message": f"{kind}/{name}: {status}" if kind else status,
        "reason": None,
        "source": "api",
        "details": None,
        "remediation": None,
    }
    base.update(extra)
    if base["source"] in POSITIONS:
        base["source_line"], base["source_end_line"], base["source_column"] = POSITIONS[base["source"]]
    field = base.pop("field", None)
    if field is not None:
        base["field_path"], base["field_line"], base["field_column"] = field
    return base


class FrozenClock:
    """Replaces storage.runs._now: each call moves one second on from ``start``."""

    def __init__(self) -> None:
        self.now = datetime(2026, 2, 10, 9, 0, 1, tzinfo=UTC)

    def set(self, value: datetime) -> None:
        self.now = value

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _results(db: Database, run_id: str, at: datetime, groups: list[tuple[str, list[dict[str, Any]]]]) -> None:
    with ResultWriter(db, run_id, batch_size=7) as writer:
        for i, (check_id, rows) in enumerate(groups):
            writer.add(check(check_id), rows, at + timedelta(seconds=i), 12 + i)


def _scores(
    overall: float,
    pillars: dict[str, float | None],
    coverage: dict[str, float] | None = None,
    not_evaluated: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Scores in the stored shape (illustrative numbers), each scope judged by the real coverage rule
    (``storage.grades.verdict``): coverage per scope defaults to 100."""
    cov = coverage or {}

    def scope(score: float | None, name: str) -> dict[str, Any]:
        return {**verdict(score, cov.get(name, 100.0)), "coverage": cov.get(name, 100.0)}

    judged = {p: scope(s, p) for p, s in pillars.items()}
    applicable = len(CHECKS)
    evaluated = applicable * cov.get("overall", 100.0) / 100
    return {
        "version": SCORES_VERSION,
        "overall": scope(overall, "overall") | {"checks_applicable": applicable, "checks_evaluated": evaluated},
        "pillars": judged,
        "pillar_order": list(judged),
        "incomplete_pillars": [p for p, e in judged.items() if e["incomplete"]],
        "not_evaluated": not_evaluated or [],
    }


def build(db: Database, monkeypatch: Any) -> None:
    clock = FrozenClock()
    monkeypatch.setattr(runs_module, "_now", clock)
    web = f"{MANIFEST}#1"
    common = {"scope": "full", "pillars": [], "source": f"manifests: {MANIFEST}", "trigger": "ci"}

    day1 = datetime(2026, 2, 10, 9, 0, 0, tzinfo=UTC)
    create_run(db, run_id=RUN_1, cluster_id="prod-eu", check_ids=list(CHECKS), requested_at=day1, **common)
    start_run(db, RUN_1)
    _results(
        db,
        RUN_1,
        day1 + timedelta(seconds=5),
        [
            (
                "SEC-001",
                [
                    row(
                        "failing",
                        "Deployment",
                        "shop",
                        "web",
                        container="web",
                        source=web,
                        message="container web is privileged",
                        field=PRIVILEGED,
                    )
                ],
            ),
            ("SEC-002", [row("passing", "Deployment", "shop", "web", container="web", source=web)]),
            (
                "REL-001",
                [
                    row("failing", "Deployment", "shop", "web", source=web, message="1 replica"),
                    row("failing", "Deployment", "shop", "api", message="1 replica"),
                ],
            ),
            (
                "COST-001",
                [
                    row(
                        "warning",
                        "ConfigMap",
                        "shop",
                        "web-config",
                        source=f"{MANIFEST}#2#1",
                        message="not referenced by any pod",
                    )
                ],
            ),
            ("OPS-001", [row("passing", "Namespace", None, "shop", source=f"{MANIFEST}#0")]),
        ],
    )
    finish_run(
        db, RUN_1, "completed",
        history={"duration_ms": 4200, "scores": _scores(61.5, {"security": 50.0, "reliability": 40.0,
                                                                "cost": 75.0, "operational-excellence": 100.0})},
        summary={"objects": 4, "problems": [], "unavailable": {}, "checks_not_executed": {}},
    )  # fmt: skip

    day2 = datetime(2026, 2, 11, 9, 0, 0, tzinfo=UTC)
    clock.set(day2)
    create_run(db, run_id=RUN_2, cluster_id="prod-eu", check_ids=list(CHECKS), requested_at=day2, **common)
    start_run(db, RUN_2)
    _results(
        db,
        RUN_2,
        day2 + timedelta(seconds=5),
        [
            (
                "SEC-001",
                [
                    row(
                        "failing",
                        "Deployment",
                        "shop",
                        "web",
                        container="web",
                        source=web,
                        message="container web is privileged",
                        field=PRIVILEGED,
                    )
                ],
            ),
            (
                "SEC-002",
                [
                    row(
                        "failing",
                        "Deployment",
                        "shop",
                        "web",
                        container="web",
                        source=web,
                        message="image nginx:latest uses the latest tag",
                        field=IMAGE,
                        details={"image": "nginx:latest"},
                    )
                ],
            ),
            (
                "REL-001",
                [
                    row("passing", "Deployment", "shop", "web", source=web),
                    row("failing", "Deployment", HOSTILE_NS, "worker", message=HOSTILE_MESSAGE),
                ],
            ),
            (
                "COST-001",
                [
                    row(
                        "skipped",
                        "ConfigMap",
                        "shop",
                        "web-config",
                        source=f"{MANIFEST}#2#1",
                        reason="requires-live",
                        message=None,
                    )
                ],
            ),
            ("OPS-001", [row("error", None, None, None, message="OPS-001 raised KeyError: 'labels'")]),
        ],
    )
    finish_run(
        db, RUN_2, "partial", error=None,
        history={"duration_ms": 3900, "scores": _scores(
            55.0, {"security": 30.0, "reliability": 70.0, "cost": 100.0, "operational-excellence": None},
            coverage={"overall": 72.0, "cost": 60.0, "operational-excellence": 0.0},
            not_evaluated=[
                {"check_id": "COST-001", "pillar": "cost", "severity": "low", "why": "partial",
                 "message": "2 of 5 results are error/timeout, e.g. ConfigMap/shop/web-config: timeout",
                 "applicable": True, "evaluated": 0.6},
                {"check_id": "OPS-001", "pillar": "operational-excellence", "severity": "info", "why": "error",
                 "message": "OPS-001 raised KeyError: 'labels'", "applicable": True, "evaluated": 0.0},
            ])},
        summary={"objects": 5, "problems": [], "unavailable": {},
                 "checks_not_executed": {"OPS-001": {"outcome": "errored", "message": "KeyError: 'labels'"}}},
    )  # fmt: skip

    clock.set(datetime(2026, 2, 11, 10, 0, 0, tzinfo=UTC))
    create_run(
        db, run_id=RUN_FAILED, cluster_id="staging", scope="pillar", pillars=["security"],
        check_ids=["SEC-001", "SEC-002"], source="api", trigger="manual",
        requested_at=datetime(2026, 2, 11, 10, 0, 0, tzinfo=UTC),
    )  # fmt: skip
    start_run(db, RUN_FAILED)
    fail_run(db, RUN_FAILED, "snapshot unreadable: cluster unreachable (connection refused)")

    clock.set(datetime(2026, 2, 11, 11, 0, 0, tzinfo=UTC))
    create_run(
        db, run_id=RUN_WARN, cluster_id="staging", scope="single", pillars=[], check_ids=["SEC-002"],
        source="api", trigger="schedule", requested_at=datetime(2026, 2, 11, 11, 0, 0, tzinfo=UTC),
    )  # fmt: skip
    start_run(db, RUN_WARN)
    _results(db, RUN_WARN, datetime(2026, 2, 11, 11, 0, 3, tzinfo=UTC),
             [("SEC-002", [row("passing", "Deployment", "shop", "web", container="web")])])  # fmt: skip
    finish_run(
        db, RUN_WARN, "completed", history={"duration_ms": 800},
        summary={"objects": 1, "problems": ["dump.yaml (document 3): not a Kubernetes object: missing kind"],
                 "unavailable": {"PodDisruptionBudget": "403 Forbidden"}, "checks_not_executed": {}},
    )  # fmt: skip


def all_run_ids() -> Iterator[str]:
    yield from (RUN_1, RUN_2, RUN_FAILED, RUN_WARN)


def seeded(path: Path) -> Database:
    """A new SQLite database at ``path`` holding :func:`build`'s runs (the caller disposes of it)."""
    import pytest

    db = Database(f"sqlite:///{path}")
    with pytest.MonkeyPatch.context() as mp:
        build(db, mp)
    return db


def in_process(url: str, monkeypatch: Any, capsys: Any):  # type: ignore[no-untyped-def]
    """``run(*argv) -> (exit code, stdout, stderr)``: kwa in this process against the database at
    ``url``, from the repo root, with a fixed SARIF tool version (for the golden files)."""
    import io

    from kwa.app import call as main

    monkeypatch.setenv("KWA_DATABASE_URL", url)
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setattr("cli.formatters.sarif.tool_version", lambda: "0.0.0-test")

    def run(*argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        capsys.readouterr()
        code = main(list(argv), out=out)
        err = capsys.readouterr().err
        return code, out.getvalue(), err

    return run
