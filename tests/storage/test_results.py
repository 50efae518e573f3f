from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import assessments_table as A
from storage.results import ResultWriter, RunNotWritable, check_slug, result_id_prefix
from storage.runs import RunNotFound, create_run, finish_run, start_run

from .helpers import check, new_run, row

ID = re.compile(r"asm_(\d{8})_(\d{6})_([a-z0-9]+)_([0-9a-f]{6})([0-9a-f]{6,})")


def _rows(db: Database, run_id: str) -> list[dict]:
    with db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(select(A).where(A.c.run_id == run_id).order_by(A.c.id))]


def _count(db: Database, run_id: str) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(A).where(A.c.run_id == run_id)).scalar_one()


def test_id_format() -> None:
    assert result_id_prefix("run_20260216_103045_a7f3b9") == ("asm_20260216_103045_", "a7f3b9")
    stamp, runhex = result_id_prefix("my-run", datetime(2026, 1, 2, 3, 4, 5))
    assert stamp == "asm_20260102_030405_" and re.fullmatch(r"[0-9a-f]{6}", runhex)
    assert check_slug("SEC-001") == "sec001"
    assert check_slug("acme.io/Weird Check_7") == "acmeioweirdcheck7"


def test_batched_writes_ids_and_columns(db: Database) -> None:
    rid = create_run(
        db,
        scope="full",
        pillars=[],
        check_ids=[],
        cluster_id="c",
        source="s",
        trigger="manual",
        run_id="run_20260216_103045_a7f3b9",
    )["run_id"]
    start_run(db, rid)
    at = datetime(2026, 2, 16, 10, 31, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    writer = ResultWriter(db, rid, batch_size=4)
    writer.add(check("SEC-001"), [row("passing", i) for i in range(3)], at, 42)
    assert writer.pending == 3 and writer.written == 0 and _count(db, rid) == 0  # below the batch size
    writer.add(check("SEC-002"), [row("failing", i) for i in range(6)], at, 7)
    assert writer.written == 8 and writer.pending == 1 and _count(db, rid) == 8  # two full batches streamed
    writer.flush()
    assert writer.written == 9 and writer.pending == 0

    rows = _rows(db, rid)
    assert len(rows) == 9
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == 9
    assert ids[0] == "asm_20260216_103045_sec001_a7f3b9000000"
    for r in rows:
        m = ID.fullmatch(r["id"])
        assert m, r["id"]
        assert m.group(3) == r["check_id"].replace("-", "").lower()
        assert m.group(4) == "a7f3b9"
    first = rows[0]
    assert first["run_id"] == rid and first["pillar"] == "security" and first["check_id"] == "SEC-001"
    assert first["check_name"] == "Containers run as non-root" and first["severity"] == "high"
    assert first["status"] == "passing" and first["object_kind"] == "Deployment"
    assert first["object_namespace"] == "default" and first["object_name"] == "app-0" and first["container"] == "app"
    assert first["source"] == "live" and first["message"] == "object 0 is passing"
    assert first["assessed_at"] == at and first["assessed_at"].tzinfo is not None
    assert first["duration_ms"] == 42


def test_details_round_trip_and_remediation_default(db: Database) -> None:
    rid = new_run(db)
    details = {"path": "spec.containers[0]", "values": [1, 2.5, None, True], "nested": {"ü": "snow ☃"}}
    with ResultWriter(db, rid) as w:
        w.add(
            check("SEC-001", remediation="check-level fix"),
            [
                row("failing", 0, details=details),
                row("failing", 1, remediation="row-level fix"),
                row("skipped", 2, reason="exempt:ticket-42", details=["a", "b"]),
                {"status": "error", "message": "only the required key"},
            ],
            datetime.now(UTC),
            None,
        )
    by_name = {r["object_name"]: r for r in _rows(db, rid)}
    assert by_name["app-0"]["details"] == details
    assert by_name["app-0"]["remediation"] == "check-level fix"
    assert by_name["app-1"]["remediation"] == "row-level fix"
    assert by_name["app-1"]["details"] is None
    assert by_name["app-2"]["details"] == ["a", "b"] and by_name["app-2"]["reason"] == "exempt:ticket-42"
    bare = by_name[None]
    assert bare["status"] == "error" and bare["object_kind"] is None and bare["remediation"] == "check-level fix"
    assert bare["duration_ms"] is None
    with db.read() as conn:  # None is SQL NULL, not JSON 'null'
        assert conn.execute(select(func.count()).select_from(A).where(A.c.details.is_(None))).scalar_one() == 2


def test_many_rows_and_unique_ids(db: Database) -> None:
    rid = new_run(db)
    with ResultWriter(db, rid, batch_size=1000) as w:
        for c in range(5):
            w.add(check(f"SEC-{c:03d}"), [row("passing", i) for i in range(2345)], datetime.now(UTC), 1)
    assert w.written == 5 * 2345
    with db.read() as conn:
        assert conn.execute(select(func.count(func.distinct(A.c.id))).where(A.c.run_id == rid)).scalar_one() == 11725


def test_threads_share_one_writer(db: Database) -> None:
    rid = new_run(db)
    writer = ResultWriter(db, rid, batch_size=250)

    def worker(n: int) -> None:
        for k in range(20):
            writer.add(check(f"SEC-{n:03d}"), [row("passing", i) for i in range(37)], datetime.now(UTC), k)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert writer.written == 6 * 20 * 37 == _count(db, rid)
    with pytest.raises(RuntimeError, match="closed"):
        writer.add(check(), [row()], datetime.now(UTC), 1)


def test_second_writer_continues_the_sequence(db: Database) -> None:
    rid = new_run(db)
    with ResultWriter(db, rid) as w:
        w.add(check(), [row("passing", i) for i in range(3)], datetime.now(UTC), 1)
    with ResultWriter(db, rid) as w:
        w.add(check(), [row("passing", i) for i in range(3)], datetime.now(UTC), 1)
    assert len({r["id"] for r in _rows(db, rid)}) == 6


def test_sequence_grows_past_six_hex_digits() -> None:
    assert f"{0xFFFFFF + 1:06x}" == "1000000"  # the format never truncates: ids stay unique past 16.7M rows


def test_context_manager_flushes_on_error(db: Database) -> None:
    rid = new_run(db)
    with pytest.raises(KeyError), ResultWriter(db, rid) as w:
        w.add(check(), [row("passing")], datetime.now(UTC), 1)
        raise KeyError("runner blew up")
    assert _count(db, rid) == 1


def test_no_results_for_finished_or_missing_runs(db: Database) -> None:
    with pytest.raises(RunNotFound):
        ResultWriter(db, "ghost")
    rid = new_run(db)
    w = ResultWriter(db, rid)
    w.add(check(), [row("passing")], datetime.now(UTC), 1)
    finish_run(db, rid, "completed")
    with pytest.raises(RunNotWritable, match="completed"):
        w.flush()
    assert w.pending == 1  # kept, not silently dropped
    assert _count(db, rid) == 0
    assert w.add(check(), [], datetime.now(UTC), 1) == 0


def test_background_writer_writes_every_submission_and_drains(db: Database) -> None:
    from storage.results import BackgroundWriter, row_values

    rid = new_run(db)
    writer = BackgroundWriter(ResultWriter(db, rid, batch_size=50))
    for i in range(20):  # faster than the thread writes: later submissions share transactions
        writer.submit(check(f"SEC-{i:03d}"), [row_values(row("passing", j)) for j in range(7)], datetime.now(UTC), i)
    assert writer.drain(timeout=30) == 140
    assert _count(db, rid) == 140
    by_check = {r["check_id"]: r for r in _rows(db, rid)}
    assert by_check["SEC-019"]["duration_ms"] == 19 and by_check["SEC-019"]["status"] == "passing"
    writer.close(timeout=5)


def test_background_writer_hands_over_the_first_error_and_drops_the_rest(db: Database) -> None:
    from storage.results import BackgroundWriter, row_values

    rid = new_run(db)
    seen: list[BaseException] = []
    writer = BackgroundWriter(ResultWriter(db, rid), on_error=seen.append)
    writer.submit(check("SEC-001"), [row_values(row("passing"))], datetime.now(UTC), 1)
    writer.drain(timeout=30)
    finish_run(db, rid, "aborted", error="aborted by a test")
    writer.submit(check("SEC-002"), [row_values(row("failing"))], datetime.now(UTC), 1)
    writer.submit(check("SEC-003"), [row_values(row("failing"))], datetime.now(UTC), 1)
    with pytest.raises(RunNotWritable, match="aborted"):
        writer.drain(timeout=30)
    assert len(seen) == 1 and isinstance(seen[0], RunNotWritable)
    assert _count(db, rid) == 1  # the finished check's row stays; nothing after the abort
    writer.close(timeout=5)  # does not hang on the dropped submissions


def test_background_writer_holds_submitters_back_while_its_backlog_is_full(db: Database) -> None:
    """Rows arriving faster than the database takes them wait (bounded memory), and all are written."""
    import threading

    from storage.results import BackgroundWriter, row_values

    rid = new_run(db)
    inner = ResultWriter(db, rid)
    gate = threading.Event()
    real_add_json = inner.add_json

    def slow_add_json(items):  # type: ignore[no-untyped-def]
        gate.wait(10)  # the database is "slow" until the test opens the gate
        return real_add_json(items)

    inner.add_json = slow_add_json  # type: ignore[method-assign]
    writer = BackgroundWriter(inner, max_backlog_bytes=1, backlog_wait=10)
    writer.submit(check("SEC-001"), [row_values(row("passing"))], datetime.now(UTC), 1)  # under the bound
    done = threading.Event()

    def second() -> None:
        writer.submit(check("SEC-002"), [row_values(row("failing"))], datetime.now(UTC), 1)
        done.set()

    threading.Thread(target=second, daemon=True).start()
    assert not done.wait(0.5)  # held back: the first submission is not written yet
    gate.set()
    assert done.wait(10)
    assert writer.drain(timeout=30) == 2
    assert writer.waited_s > 0.3
    writer.close(timeout=5)


def test_background_writer_never_holds_back_forever(db: Database) -> None:
    from storage.results import BackgroundWriter, row_values

    rid = new_run(db)
    inner = ResultWriter(db, rid)
    real_add_json = inner.add_json
    inner.add_json = lambda items: (__import__("time").sleep(1.5), real_add_json(items))[1]  # type: ignore[method-assign]
    writer = BackgroundWriter(inner, max_backlog_bytes=1, backlog_wait=0.2)
    writer.submit(check("SEC-001"), [row_values(row("passing"))], datetime.now(UTC), 1)
    writer.submit(check("SEC-002"), [row_values(row("passing"))], datetime.now(UTC), 1)  # waits 0.2 s, then goes
    assert 0.15 < writer.waited_s < 1.4
    assert writer.drain(timeout=30) == 2
    writer.close(timeout=5)


def test_rows_written_from_json_equal_rows_written_as_tuples(db: Database) -> None:
    from storage.results import row_values, rows_json

    at = datetime(2026, 2, 16, 10, 31, tzinfo=UTC)
    rows = [
        {"status": "failing", "object_kind": "Pod", "object_namespace": "shop", "object_name": "web-1",
         "container": "main", "message": "runs as root — ünïcode ✓", "details": {"uid": 0, "list": [1, None]}},
        {"status": "passing", "object_kind": "Pod", "object_name": "web-2", "remediation": "own remediation"},
        {"status": "skipped", "reason": "exempt:config", "source": "annotation", "details": "text"},
    ]
    as_tuples, as_json = new_run(db), new_run(db)
    with ResultWriter(db, as_tuples) as w:
        w.add(check("SEC-001"), rows, at, 9)
    w2 = ResultWriter(db, as_json)
    values = [row_values(r) for r in rows]
    assert w2.add_json([(check("SEC-001"), rows_json(values), len(values), at, 9)]) == 3
    assert w2.written == 3

    def comparable(run_id: str) -> list[dict]:
        return [{k: v for k, v in r.items() if k not in ("id", "run_id")} for r in _rows(db, run_id)]

    assert comparable(as_tuples) == comparable(as_json)
    assert [r["id"][-6:] for r in _rows(db, as_json)] == ["000000", "000001", "000002"]
