"""Findings first, on SQLite and PostgreSQL: list order, its cursor, summary's top failing checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.db import Database
from storage.findings import failing_results, top_failing_checks
from storage.queries import SEVERITIES, TOP_OBJECTS, AssessmentQuery, list_assessments, run_summary
from storage.results import ResultWriter
from storage.runs import finish_run

from .helpers import new_run, row

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# (check id, severity): written in this order, which is not the order a reader wants
CHECKS = [("OPS-001", "info"), ("COST-002", "low"), ("REL-007", "medium"), ("SEC-009", "critical"),
          ("SEC-002", "high"), ("PERF-001", "medium")]  # fmt: skip


def _meta(check_id: str, severity: str) -> dict:
    pillar = {"OPS": "operational-excellence", "COST": "cost", "REL": "reliability", "SEC": "security",
              "PERF": "performance"}[check_id.split("-")[0]]  # fmt: skip
    return {"id": check_id, "pillar": pillar, "name": f"check {check_id}", "severity": severity, "remediation": "fix"}


@pytest.fixture
def run_id(db: Database) -> str:
    rid = new_run(db)
    with ResultWriter(db, rid, batch_size=5) as writer:
        for n, (check_id, severity) in enumerate(CHECKS):
            rows = []
            # many failing objects for the low check, two for the critical one; cluster-scoped
            # objects (no namespace) and a check-level row (no object at all) among them
            count = {"COST-002": 9, "SEC-009": 2}.get(check_id, 3)
            for i in range(count):
                ns = None if i % 3 == 0 else f"ns-{(i * 7) % 5}"
                status = "failing" if i % 4 != 3 else "passing"
                rows.append(row(status, i, object_namespace=ns, source=f"k8s/{check_id}.yaml#{i}",
                                source_line=10 * i + 1, source_end_line=10 * i + 9, field_line=10 * i + 5))  # fmt: skip
            if check_id == "REL-007":
                rows.append(row("error", 99, object_kind=None, object_namespace=None, object_name=None))
            writer.add(_meta(check_id, severity), rows, AT, n)
    finish_run(db, rid, "completed")
    return rid


def _key(r: dict) -> tuple:
    return (SEVERITIES.index(r["severity"]), r["check_id"], r["object_kind"] or "", r["object_namespace"] or "",
            r["object_name"] or "", r["container"] or "", r["id"])  # fmt: skip


@pytest.mark.parametrize("size", [1, 3, 7])
def test_list_is_findings_first_and_pages_the_same_way_on_both_databases(db: Database, run_id: str, size: int) -> None:
    everything = list_assessments(db, AssessmentQuery(run_id=run_id, limit=0)).items
    assert everything == sorted(everything, key=_key)
    assert [r["severity"] for r in everything][:2] == ["critical", "critical"]
    walked, cursor = [], None
    while True:
        page = list_assessments(db, AssessmentQuery(run_id=run_id, limit=size, cursor=cursor))
        walked += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert [r["id"] for r in walked] == [r["id"] for r in everything]
    stored = list_assessments(db, AssessmentQuery(run_id=run_id, limit=0, sort="id")).items
    assert [r["id"] for r in stored] == sorted(r["id"] for r in everything)


def test_filtered_findings_are_ordered_too(db: Database, run_id: str) -> None:
    page = list_assessments(db, AssessmentQuery(run_id=run_id, status=["failing"], severity=["critical", "high"]))
    assert [r["check_id"] for r in page.items] == ["SEC-009"] * 2 + ["SEC-002"] * 3


def test_summary_ranks_the_most_severe_failing_checks_first_with_their_objects(db: Database, run_id: str) -> None:
    top = run_summary(db, run_id)["top_failing"]
    # COST-002 fails on the most objects, but critical and high come first
    assert [c["check_id"] for c in top] == ["SEC-009", "SEC-002", "PERF-001", "REL-007", "COST-002", "OPS-001"]
    assert top[4]["failing_objects"] == 7
    sec = top[0]
    assert len(sec["objects"]) == 2 and all(o["source"].startswith("k8s/SEC-009.yaml#") for o in sec["objects"])
    assert all(o["line"] % 10 == 5 for o in sec["objects"])  # the field's line, stored with the result
    assert len(top[4]["objects"]) == TOP_OBJECTS


def test_the_ui_findings_come_most_severe_first_with_everything_a_reader_needs(db: Database, run_id: str) -> None:
    rows = failing_results(db, run_id, per_check=2)
    assert [r["check_id"] for r in rows][:4] == ["SEC-009", "SEC-009", "SEC-002", "SEC-002"]
    cost = [r for r in rows if r["check_id"] == "COST-002"]
    assert len(cost) == 2 and cost[0]["check_failing"] == 7
    assert {"check_name", "remediation", "source", "source_line", "field_line", "pillar"} <= set(rows[0])
    assert [t[0] for t in top_failing_checks(db, run_id)][:2] == ["SEC-009", "SEC-002"]


@pytest.mark.parametrize("size", [2, 5])
def test_pages_across_runs_walk_run_by_run_the_same_by_cursor_and_by_offset(db: Database, size: int) -> None:
    first, second = new_run(db), new_run(db)
    for rid in (first, second):
        with ResultWriter(db, rid) as writer:
            for n, (check_id, severity) in enumerate(CHECKS):
                writer.add(_meta(check_id, severity), [row("failing", i) for i in range(n % 3 + 1)], AT, n)
    since = datetime(2000, 1, 1, tzinfo=UTC)
    everything = list_assessments(db, AssessmentQuery(cluster_id="c1", since=since, limit=0)).items
    mine = [r for r in everything if r["run_id"] in (first, second)]
    assert [r["run_id"] for r in mine] == sorted(r["run_id"] for r in mine)
    assert mine == sorted(mine, key=lambda r: (r["run_id"], *_key(r)))
    by_cursor, cursor = [], None
    while True:
        page = list_assessments(db, AssessmentQuery(cluster_id="c1", since=since, limit=size, cursor=cursor))
        by_cursor += page.items
        if (cursor := page.next_cursor) is None:
            break
    by_offset, offset = [], 0
    while items := list_assessments(db, AssessmentQuery(cluster_id="c1", since=since, limit=size, offset=offset)).items:
        by_offset += items
        offset += size
    assert [r["id"] for r in by_cursor] == [r["id"] for r in by_offset] == [r["id"] for r in everything]
