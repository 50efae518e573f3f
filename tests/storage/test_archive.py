"""Archived runs (storage.archive): every column survives the round trip, and every per-run query
answers about an archived run exactly what it answered before the run was archived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from storage.archive import archive_run, compact, ensure_hot, hot_runs
from storage.db import Database
from storage.diff import diff_runs
from storage.findings import failing_results, top_failing_checks
from storage.gates import gate_findings
from storage.history import cluster_history
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.models import contents_table as C
from storage.query_model import AssessmentQuery, QueryError
from storage.result_listing import get_result, list_assessments, run_results
from storage.results import ResultWriter
from storage.retention import delete_run, prune_runs
from storage.runs import finish_run, get_history
from storage.summary import run_summary

from .helpers import check, new_run, row

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def _write(db: Database, run_id: str, flip: int, extra: bool = False) -> None:
    """Two checks × 40 objects; object ``flip`` fails SEC-001, a few rows carry every optional column."""
    with ResultWriter(db, run_id, batch_size=17) as w:
        rows = [
            row(
                "failing" if i == flip else "passing",
                i,
                details={"i": i, "nested": {"b": [1, 2.5, None], "a": "é"}} if i % 7 == 0 else None,
                source="deploy/app.yaml" if i % 5 == 0 else "live",
                source_line=i + 1 if i % 5 == 0 else None,
                source_end_line=i + 9 if i % 5 == 0 else None,
                field_path="spec.template.spec.containers[0]" if i % 5 == 0 else None,
                field_line=i + 4 if i % 5 == 0 else None,
                source_column=1 + i % 3 if i % 5 == 0 else None,
                field_column=5 + i % 4 if i % 5 == 0 else None,
                reason="because" if i % 3 == 0 else None,
                container=None if i % 4 == 0 else "app",
                object_namespace=None if i == 39 else "default",
            )
            for i in range(40)
        ]
        w.add(check("SEC-001"), rows, T0, 12)
        w.add(
            check("REL-001", "reliability", None),
            [row("warning" if i < 3 else "passing", i) for i in range(40)],
            T0 + timedelta(seconds=1),
            None,
        )
        if extra:
            w.add(check("REL-001", "reliability"), [row("error", 99, message="boom")], T0 + timedelta(seconds=2), 5)


def _run(db: Database, flip: int, **kw: Any) -> str:
    run_id = new_run(db, **kw)
    _write(db, run_id, flip, extra=flip == 2)
    finish_run(db, run_id, "completed")
    return run_id


def _rows(db: Database, run_id: str) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(A).where(A.c.run_id == run_id).order_by(A.c.id))]


def _hot(db: Database, run_id: str) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(A).where(A.c.run_id == run_id)).scalar_one()


def test_round_trip_keeps_every_column(db: Database) -> None:
    run_id = _run(db, 2)
    before = _rows(db, run_id)
    assert len(before) == 81
    assert archive_run(db, run_id) == 81
    assert _hot(db, run_id) == 0
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(C)).scalar_one() == 81  # all distinct
    with db.begin() as conn:
        assert ensure_hot(conn, run_id) is True
    assert _rows(db, run_id) == before
    # Archived again: the archive row is kept, only the rows go; and they come back once more.
    assert archive_run(db, run_id) == 81
    with db.read() as conn:
        assert ensure_hot(conn, run_id) is True
        assert conn.execute(select(func.count()).select_from(A).where(A.c.run_id == run_id)).scalar_one() == 81
    assert _rows(db, run_id) == before


def test_contents_are_shared_between_runs(db: Database) -> None:
    a, b = _run(db, 1), _run(db, 5)
    archive_run(db, a)
    archive_run(db, b)
    with db.read() as conn:
        # 80 rows each; b differs from a in two SEC-001 rows (object 1 passes again, object 5 fails)
        assert conn.execute(select(func.count()).select_from(C)).scalar_one() == 82
        assert conn.execute(select(func.sum(AR.c.results))).scalar_one() == 160


def _everything(db: Database, old: str, new: str) -> dict[str, Any]:
    page = list_assessments(db, AssessmentQuery(run_id=old, limit=25))
    stored = list_assessments(db, AssessmentQuery(run_id=old, limit=25, sort="id"))
    failing = list_assessments(db, AssessmentQuery(run_id=old, status=("failing",), limit=10))
    summary = run_summary(db, old)
    return {
        "diff": diff_runs(db, old, new),
        "diff_reverse": diff_runs(db, new, old),
        "page": (page.items, page.total, page.next_cursor),
        "stored": (stored.items, stored.total),
        "failing": failing.items,
        "summary": summary,
        "get": get_result(db, page.items[3]["id"]),
        "all": run_results(db, old),
        "failing_results": failing_results(db, old),
        "top": top_failing_checks(db, old),
        "gate": gate_findings(db, old, "low"),
        "history": cluster_history(db, "c1"),
        "row": get_history(db, old),
    }


@pytest.mark.parametrize("query", ["diff", "summary", "list", "get", "gate", "findings", "all"])
def test_archived_run_answers_as_before(db: Database, query: str) -> None:
    old, new = _run(db, 1), _run(db, 5)
    before = _everything(db, old, new)
    archive_run(db, old)
    assert _hot(db, old) == 0
    # Each kind of query on its own restores the run and answers the same.
    first = {
        "diff": lambda: diff_runs(db, old, new),
        "summary": lambda: run_summary(db, old),
        "list": lambda: list_assessments(db, AssessmentQuery(run_id=old, limit=25)).items,
        "get": lambda: get_result(db, before["page"][0][3]["id"]),
        "gate": lambda: gate_findings(db, old, "low"),
        "findings": lambda: failing_results(db, old),
        "all": lambda: run_results(db, old),
    }[query]()
    expected = {
        "diff": before["diff"],
        "summary": before["summary"],
        "list": before["page"][0],
        "get": before["get"],
        "gate": before["gate"],
        "findings": before["failing_results"],
        "all": before["all"],
    }[query]
    assert first == expected
    assert _hot(db, old) == 80
    assert _everything(db, old, new) == before


def test_history_and_coverage_do_not_need_the_rows(db: Database) -> None:
    runs = [_run(db, i) for i in range(4)]
    history = cluster_history(db, "c1")
    rows = [get_history(db, r) for r in runs]
    archived = compact(db, keep=1)
    assert archived == runs[:3]
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(A)).scalar_one() == 80  # the newest run only
    assert cluster_history(db, "c1") == history
    assert [get_history(db, r) for r in runs] == rows


def test_compact_keeps_the_newest_of_each_scope(db: Database) -> None:
    full = [_run(db, i) for i in range(3)]
    sec = [_run(db, i, scope="pillar", pillars=["security"], check_ids=["SEC-001"]) for i in range(3)]
    assert compact(db, keep=2) == [full[0], sec[0]]
    assert compact(db, keep=2) == []  # nothing more to do
    assert compact(db, keep=0) == []  # 0: compaction off
    assert _hot(db, full[0]) == 0 and _hot(db, full[1]) > 0 and _hot(db, sec[2]) > 0


def test_a_restored_run_stays_hot_for_a_while(db: Database) -> None:
    runs = [_run(db, i) for i in range(3)]
    compact(db, keep=1)
    run_summary(db, runs[0])  # restored
    assert compact(db, keep=1) == []
    assert _hot(db, runs[0]) > 0
    assert compact(db, keep=1, now=datetime.now(UTC) + timedelta(hours=2)) == [runs[0]]
    assert _hot(db, runs[0]) == 0


def test_unfinished_runs_are_never_archived(db: Database) -> None:
    running = new_run(db)
    _write(db, running, 0)
    assert archive_run(db, running) == 0
    assert _hot(db, running) == 80


def test_deleting_and_pruning_archived_runs(db: Database) -> None:
    runs = [_run(db, i) for i in range(3)]
    compact(db, keep=1)
    delete_run(db, runs[0])
    with db.read() as conn:
        assert conn.execute(select(AR.c.run_id)).scalars().all() == [runs[1]]
    assert set(prune_runs(db, timedelta(0), now=datetime.now(UTC) + timedelta(days=3))) == set(runs[1:])
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(AR)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(C)).scalar_one() == 0


def test_hot_runs_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KWA_HOT_RUNS", raising=False)
    assert hot_runs() == 14
    monkeypatch.setenv("KWA_HOT_RUNS", "3")
    assert hot_runs() == 3
    monkeypatch.setenv("KWA_HOT_RUNS", "off")
    assert hot_runs() == 0
    monkeypatch.setenv("KWA_HOT_RUNS", "junk")
    assert hot_runs() == 14


def test_a_since_range_restores_archived_runs_but_not_a_year_of_them(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [_run(db, i) for i in range(4)]
    since = datetime.now(UTC) - timedelta(days=1)
    everything = list_assessments(db, AssessmentQuery(since=since, limit=0)).items
    compact(db, keep=1)
    assert list_assessments(db, AssessmentQuery(since=since, limit=0)).items == everything
    compact(db, keep=1, now=datetime.now(UTC) + timedelta(hours=2))
    monkeypatch.setattr("storage.result_listing.MAX_RESTORE", 2)
    with pytest.raises(QueryError, match="--since reaches 3 runs whose results are archived"):
        list_assessments(db, AssessmentQuery(since=since))
    assert all(_hot(db, r) == 0 for r in runs[:3])
