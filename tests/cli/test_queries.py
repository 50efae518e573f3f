"""storage.queries through the CLI and directly: scope, ordering, both paginations, hostile filters."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect

from storage.db import Database
from storage.queries import SEVERITIES, AssessmentQuery, QueryError, RunQuery, list_assessments, list_run_page
from tests.cli.builder import HOSTILE_NS, RUN_1, RUN_2, RUN_WARN


@pytest.fixture
def db(cli_db_url: str):
    database = Database(cli_db_url)
    yield database
    database.dispose()


def test_default_scope_is_the_latest_run(db: Database) -> None:
    page = list_assessments(db, AssessmentQuery())
    assert page.run["run_id"] == RUN_WARN  # the newest request of all clusters
    page = list_assessments(db, AssessmentQuery(cluster_id="prod-eu"))
    assert page.run["run_id"] == RUN_2 and page.total == 6


def test_filters_combine(db: Database) -> None:
    page = list_assessments(
        db, AssessmentQuery(run_id=RUN_2, status=["failing"], severity=["critical", "high"], pillar="security")
    )
    assert [(r["check_id"], r["status"]) for r in page.items] == [("SEC-001", "failing"), ("SEC-002", "failing")]
    assert page.total == 2
    page = list_assessments(
        db, AssessmentQuery(run_id=RUN_2, kind=["Deployment"], namespace=["shop"], check_id="REL-001")
    )
    assert [r["object_name"] for r in page.items] == ["web"]


def test_since_spans_runs_of_a_cluster(db: Database) -> None:
    from datetime import UTC, datetime

    page = list_assessments(db, AssessmentQuery(cluster_id="prod-eu", since=datetime(2026, 2, 10, tzinfo=UTC)))
    assert page.run is None and page.total is None
    assert {r["run_id"] for r in page.items} == {RUN_1, RUN_2}
    # run by run, oldest first; within a run, findings first (severity, then check id)
    assert [r["run_id"] for r in page.items] == sorted(r["run_id"] for r in page.items)
    for run_id in (RUN_1, RUN_2):
        ranks = [(SEVERITIES.index(r["severity"]), r["check_id"]) for r in page.items if r["run_id"] == run_id]
        assert ranks == sorted(ranks)
    page = list_assessments(db, AssessmentQuery(cluster_id="prod-eu", since=datetime(2026, 2, 11, tzinfo=UTC)))
    assert {r["run_id"] for r in page.items} == {RUN_2}


@pytest.mark.parametrize("sort", ["severity", "id"])
@pytest.mark.parametrize("size", [1, 2, 4])
def test_cursor_and_offset_walks_agree(db: Database, size: int, sort: str) -> None:
    everything = [
        r["id"]
        for r in list_assessments(db, AssessmentQuery(cluster_id="prod-eu", run_id=RUN_2, limit=0, sort=sort)).items
    ]
    by_cursor, cursor, pages = [], None, 0
    while True:
        page = list_assessments(db, AssessmentQuery(run_id=RUN_2, limit=size, cursor=cursor, sort=sort))
        by_cursor += [r["id"] for r in page.items]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    by_offset, offset = [], 0
    while True:
        page = list_assessments(db, AssessmentQuery(run_id=RUN_2, limit=size, offset=offset, sort=sort))
        if not page.items:
            break
        by_offset += [r["id"] for r in page.items]
        offset += size
    assert by_cursor == by_offset == everything
    if sort == "id":
        assert everything == sorted(everything)
    else:  # SEC-001 (critical), SEC-002 (high), REL-001 x2 (medium), COST-001 (low), OPS-001 (info)
        assert [i.split("_")[3] for i in everything] == ["sec001", "sec002", "rel001", "rel001", "cost001", "ops001"]
    assert pages == -(-len(everything) // size)  # no empty trailing page


def test_cursor_is_bound_to_its_filters(db: Database) -> None:
    page = list_assessments(db, AssessmentQuery(run_id=RUN_2, limit=2))
    assert page.next_cursor
    with pytest.raises(QueryError, match="other filters"):
        list_assessments(db, AssessmentQuery(run_id=RUN_2, limit=2, status=["failing"], cursor=page.next_cursor))
    for bad in ("nonsense", "eyJ2IjoxfQ", "%%%", page.next_cursor[:-3]):
        with pytest.raises(QueryError, match="cursor"):
            list_assessments(db, AssessmentQuery(run_id=RUN_2, limit=2, cursor=bad))


def test_runs_cursor_pages_newest_first(db: Database) -> None:
    seen, cursor = [], None
    while True:
        page = list_run_page(db, RunQuery(limit=1, cursor=cursor))
        seen += [r["run_id"] for r in page.items]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [r["run_id"] for r in list_run_page(db, RunQuery(limit=0)).items]
    assert seen[0] == RUN_WARN and seen[-1] == RUN_1
    assert [r["run_id"] for r in list_run_page(db, RunQuery(state=["failed", "partial"])).items] == [
        "run_20260211_100000_cccccc",
        RUN_2,
    ]
    assert [r["run_id"] for r in list_run_page(db, RunQuery(trigger="schedule")).items] == [RUN_WARN]


HOSTILE = ["'; DROP TABLE assessments; --", "%", "_", "' OR '1'='1", '"', "shop' --", "\\", "ns%"]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_filters_are_bound_parameters(kwa, db: Database, value: str) -> None:
    for flag in ("--namespace", "--check", "--kind", "--cluster"):
        code, out, err = kwa("query", "assessments", "list", "--run", RUN_2, flag, value, "-o", "json")
        if flag == "--cluster":  # the run belongs to prod-eu: a clear refusal, no SQL involved
            assert code == 2 and "belongs to cluster" in err
            continue
        assert code == 0, err
        assert json.loads(out)["items"] == []  # a literal that matches nothing, not a pattern or SQL
    code, _, err = kwa("runs", "list", "--cluster", value)
    assert code == 7 and "no runs recorded for cluster" in err and "Traceback" not in err
    assert {"runs", "assessments", "assessment_history"} <= set(inspect(db.engine).get_table_names())


def test_hostile_value_matches_itself_exactly(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "list", "--run", RUN_2, "--namespace", HOSTILE_NS, "-o", "json")
    assert code == 0
    assert [r["object_name"] for r in json.loads(out)["items"]] == ["worker"]


def test_unknown_enum_values_are_usage_errors(kwa) -> None:
    for flag, value, expected in (
        ("--status", "failed", "passing, failing"),
        ("--severity", "urgent", "critical, high"),
        ("--pillar", "securty", "security, reliability"),
    ):
        code, _, err = kwa("query", "assessments", "list", flag, value)
        assert code == 2 and expected in err and value in err
