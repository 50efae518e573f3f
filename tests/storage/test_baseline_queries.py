"""storage.findings for baselines, on SQLite and PostgreSQL: a run's findings, and the run "latest" means."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.db import Database
from storage.findings import FINDING_COLUMNS, baseline_run, run_findings
from storage.results import ResultWriter
from storage.runs import finish_run

from .helpers import check, new_run, row

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _run(db: Database, state: str, cluster_id: str = "shop", statuses: tuple[str, ...] = ("failing",)) -> str:
    rid = new_run(db, cluster_id=cluster_id)
    with ResultWriter(db, rid) as writer:
        rows = [row(s, i, field_path=f"spec.f{i}") for i, s in enumerate(statuses)]
        writer.add(check(), rows, AT, 0)
    finish_run(db, rid, state)
    return rid


def test_run_findings_are_every_failing_and_warning_result(db: Database) -> None:
    rid = _run(db, "completed", statuses=("failing", "passing", "warning", "error", "skipped", "failing"))
    got = run_findings(db, rid)
    assert [(r["status"], r["object_name"]) for r in got] == [("failing", "app-0"), ("warning", "app-2"),
                                                              ("failing", "app-5")]  # fmt: skip
    assert all(tuple(r) == FINDING_COLUMNS for r in got)
    assert got[0]["check_id"] == "SEC-001" and got[0]["severity"] == "high" and got[0]["field_path"] == "spec.f0"


def test_latest_is_the_last_completed_or_partial_run_of_the_cluster(db: Database) -> None:
    assert baseline_run(db, "shop") is None
    first = _run(db, "completed")
    partial = _run(db, "partial")
    _run(db, "failed")  # later, but its findings are incomplete
    _run(db, "completed", cluster_id="other")  # later, but another cluster
    new_run(db, cluster_id="shop")  # still running
    found = baseline_run(db, "shop")
    assert found is not None and found["run_id"] == partial and found["run_id"] != first
    assert baseline_run(db, "nowhere") is None
