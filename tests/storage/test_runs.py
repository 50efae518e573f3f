from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from storage.db import Database
from storage.models import history_table, runs_table
from storage.results import ResultWriter
from storage.runs import (
    TERMINAL,
    InvalidTransition,
    RunNotFound,
    RunState,
    abort_run,
    create_run,
    fail_run,
    finish_run,
    get_history,
    get_run,
    is_terminal,
    list_runs,
    new_run_id,
    start_run,
)

from .helpers import check, new_run, row

S = RunState


def test_new_run_id_shape() -> None:
    rid = new_run_id(datetime(2026, 2, 16, 10, 30, 45, tzinfo=UTC))
    assert re.fullmatch(r"run_20260216_103045_[0-9a-f]{6}", rid)
    assert re.fullmatch(r"run_\d{8}_\d{6}_[0-9a-f]{6}", new_run_id())
    assert len({new_run_id() for _ in range(200)}) == 200


def test_terminal_set() -> None:
    assert {s.value for s in TERMINAL} == {"completed", "partial", "failed", "aborted"}
    assert is_terminal("failed") and not is_terminal(S.RUNNING)
    assert S.ABORTED.is_terminal and not S.QUEUED.is_terminal


def test_create_get_and_list(db: Database) -> None:
    requested = datetime(2026, 2, 16, 10, 30, 45, 123456, tzinfo=UTC)
    run = create_run(
        db,
        scope="pillar",
        pillars=["security"],
        check_ids=["SEC-001", "SEC-002"],
        cluster_id="prod",
        source="context prod-eu",
        trigger="schedule",
        requested_at=requested,
        config_hash="abc123",
    )
    assert run["run_id"].startswith("run_20260216_103045_")
    stored = get_run(db, run["run_id"])
    assert stored == run
    assert stored["state"] == "queued"
    assert stored["pillars"] == ["security"] and stored["check_ids"] == ["SEC-001", "SEC-002"]
    assert stored["requested_at"] == requested and stored["requested_at"].tzinfo is not None
    assert stored["summary"] is None and stored["rerun_of"] is None and stored["resume_of"] is None

    later = create_run(
        db,
        scope="single",
        pillars=[],
        check_ids=["SEC-001"],
        cluster_id="prod",
        source="s",
        trigger="ci",
        run_id="custom-run",
        requested_at=requested + timedelta(minutes=5),
        rerun_of=run["run_id"],
    )
    other = create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="dev", source="s", trigger="deployment")
    assert get_run(db, "custom-run")["rerun_of"] == run["run_id"]
    assert [r["run_id"] for r in list_runs(db, cluster_id="prod")] == ["custom-run", run["run_id"]]
    assert [r["run_id"] for r in list_runs(db, cluster_id="prod", limit=1, offset=1)] == [run["run_id"]]
    assert {r["run_id"] for r in list_runs(db, state="queued")} == {run["run_id"], later["run_id"], other["run_id"]}
    assert list_runs(db, state=["running"]) == []
    assert [r["run_id"] for r in list_runs(db, since=requested + timedelta(minutes=1), cluster_id="prod")] == [
        "custom-run"
    ]
    assert get_run(db, "nope") is None


def test_create_validates(db: Database) -> None:
    base = dict(pillars=[], check_ids=[], cluster_id="c", source="s")
    with pytest.raises(ValueError, match="scope"):
        create_run(db, scope="everything", trigger="manual", **base)
    with pytest.raises(ValueError, match="trigger"):
        create_run(db, scope="full", trigger="cron", **base)
    create_run(db, scope="full", trigger="manual", run_id="dup", **base)
    with pytest.raises(ValueError, match="dup"):
        create_run(db, scope="full", trigger="manual", run_id="dup", **base)


def test_start_sets_started_at_and_flow_run(db: Database) -> None:
    rid = new_run(db, start=False)
    run = start_run(db, rid, prefect_flow_run_id="0b1c")
    assert run["state"] == "running" and run["prefect_flow_run_id"] == "0b1c"
    assert run["started_at"] is not None and run["started_at"] >= run["requested_at"]
    assert get_run(db, rid) == run


# -- the transition matrix ----------------------------------------------------------------------------


def _bring_to(db: Database, state: RunState) -> str:
    rid = new_run(db, start=False)
    if state is S.QUEUED:
        return rid
    if state in (S.FAILED, S.ABORTED) and len(rid) % 2:  # reach these from queued half the time
        (fail_run if state is S.FAILED else abort_run)(db, rid, "setup")
        return rid
    start_run(db, rid)
    if state is not S.RUNNING:
        finish_run(db, rid, state)
    return rid


OPERATIONS: dict[str, tuple[RunState, Callable[[Database, str], object]]] = {
    "start_run": (S.RUNNING, lambda db, rid: start_run(db, rid)),
    "finish_run(queued)": (S.QUEUED, lambda db, rid: finish_run(db, rid, "queued")),
    "finish_run(running)": (S.RUNNING, lambda db, rid: finish_run(db, rid, "running")),
    "finish_run(completed)": (S.COMPLETED, lambda db, rid: finish_run(db, rid, "completed")),
    "finish_run(partial)": (S.PARTIAL, lambda db, rid: finish_run(db, rid, S.PARTIAL)),
    "finish_run(failed)": (S.FAILED, lambda db, rid: finish_run(db, rid, "failed", error="boom")),
    "finish_run(aborted)": (S.ABORTED, lambda db, rid: finish_run(db, rid, "aborted")),
    "fail_run": (S.FAILED, lambda db, rid: fail_run(db, rid, "boom")),
    "abort_run": (S.ABORTED, lambda db, rid: abort_run(db, rid, "cancelled")),
}
ALLOWED = {
    (S.QUEUED, "start_run"),
    (S.QUEUED, "fail_run"),
    (S.QUEUED, "abort_run"),
    (S.RUNNING, "finish_run(completed)"),
    (S.RUNNING, "finish_run(partial)"),
    (S.RUNNING, "finish_run(failed)"),
    (S.RUNNING, "finish_run(aborted)"),
    (S.RUNNING, "fail_run"),
    (S.RUNNING, "abort_run"),
}


@pytest.mark.parametrize("start", list(S), ids=lambda s: s.value)
def test_transition_matrix(db: Database, start: RunState) -> None:
    for name, (target, operation) in OPERATIONS.items():
        rid = _bring_to(db, start)
        before = get_run(db, rid)
        history_before = get_history(db, rid)
        if (start, name) in ALLOWED:
            after = operation(db, rid)
            assert after["state"] == target.value, name
            assert get_run(db, rid)["state"] == target.value
            if target in TERMINAL:
                assert after["completed_at"] is not None
                hist = get_history(db, rid)
                assert hist is not None and hist["state"] == target.value
        else:
            with pytest.raises(InvalidTransition) as err:
                operation(db, rid)
            assert err.value.run_id == rid
            assert err.value.current == start.value
            assert err.value.requested == target.value
            message = str(err.value)
            assert rid in message and start.value in message and target.value in message, message
            assert get_run(db, rid) == before, f"{name} changed a {start.value} run"
            assert get_history(db, rid) == history_before


def test_terminal_runs_never_change(db: Database) -> None:
    for state in TERMINAL:
        rid = _bring_to(db, state)
        frozen = get_run(db, rid)
        for _name, (_target, operation) in OPERATIONS.items():
            with pytest.raises(InvalidTransition, match="terminal"):
                operation(db, rid)
        assert get_run(db, rid) == frozen


def test_missing_run(db: Database) -> None:
    for _name, (_target, operation) in OPERATIONS.items():
        with pytest.raises(RunNotFound, match="ghost"):
            operation(db, "ghost")


def test_invalid_state_name(db: Database) -> None:
    rid = new_run(db)
    with pytest.raises(ValueError, match="state"):
        finish_run(db, rid, "done")


def test_guard_is_in_the_update_not_in_python(db: Database) -> None:
    """Two finishers racing: exactly one wins, the other gets InvalidTransition."""
    rid = new_run(db)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def finisher(state: str) -> None:
        barrier.wait()
        try:
            finish_run(db, rid, state)
            outcomes.append("won")
        except InvalidTransition:
            outcomes.append("lost")

    threads = [threading.Thread(target=finisher, args=(s,)) for s in ("completed", "partial", "failed", "aborted")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]
    with db.read() as conn:
        assert conn.execute(select(history_table.c.run_id).where(history_table.c.run_id == rid)).all() == [(rid,)]


# -- history ------------------------------------------------------------------------------------------


def test_history_counts(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001", "SEC-002", "REL-001", "REL-002"])
    with ResultWriter(db, rid, batch_size=3) as w:
        w.add(check("SEC-001"), [row("passing", i) for i in range(5)] + [row("failing", 9)], datetime.now(UTC), 10)
        w.add(check("SEC-002"), [row("error"), row("skipped", 1, reason="not-applicable")], datetime.now(UTC), 5)
        w.add(check("REL-001", "reliability"), [row("warning"), row("timeout", 1)], datetime.now(UTC), 30000)
    run = finish_run(
        db,
        rid,
        "partial",
        history={"checks_total": 4, "checks_executed": 2, "checks_errored": 1, "checks_timed_out": 1},
        summary={"score": 80},
    )
    assert run["summary"] == {"score": 80}
    hist = get_history(db, rid)
    assert hist["state"] == "partial" and hist["cluster_id"] == "c1"
    assert hist["finished_at"] == run["completed_at"]
    assert hist["total"] == 10
    assert (
        hist["passing_count"],
        hist["failing_count"],
        hist["warning_count"],
        hist["skipped_count"],
        hist["error_count"],
        hist["timeout_count"],
    ) == (5, 1, 1, 1, 1, 1)
    assert hist["pillar_counts"] == {
        "security": {"passing": 5, "failing": 1, "error": 1, "skipped": 1},
        "reliability": {"warning": 1, "timeout": 1},
    }
    assert (hist["checks_total"], hist["checks_executed"], hist["checks_errored"], hist["checks_timed_out"]) == (
        4,
        2,
        1,
        1,
    )
    assert hist["duration_ms"] >= 0 and hist["scores"]["overall"]["score"] == 76.9


def test_history_derives_missing_check_numbers(db: Database) -> None:
    rid = new_run(db, check_ids=["SEC-001", "SEC-002", "REL-001", "REL-002"])
    with ResultWriter(db, rid) as w:
        w.add(check("SEC-001"), [row("passing"), row("error", 1)], datetime.now(UTC), 1)
        w.add(check("REL-001", "reliability"), [row("timeout")], datetime.now(UTC), 1)
    finish_run(db, rid, "completed", history={"duration_ms": 1234, "scores": {"security": 50.0}})
    hist = get_history(db, rid)
    assert hist["duration_ms"] == 1234 and hist["scores"] == {"security": 50.0}
    assert (hist["checks_total"], hist["checks_executed"], hist["checks_errored"], hist["checks_timed_out"]) == (
        4,
        2,
        1,
        1,
    )


def test_fail_and_abort_write_history_too(db: Database) -> None:
    queued = new_run(db, start=False)
    fail_run(db, queued, "cluster unreachable")
    hist = get_history(db, queued)
    assert hist["state"] == "failed" and hist["total"] == 0 and hist["pillar_counts"] == {}
    assert get_run(db, queued)["error"] == "cluster unreachable"

    running = new_run(db)
    with ResultWriter(db, running) as w:
        w.add(check(), [row("failing")], datetime.now(UTC), 1)
    abort_run(db, running, "cancelled from Prefect")
    assert get_history(db, running)["failing_count"] == 1
    assert get_run(db, running)["error"] == "cancelled from Prefect"


def test_history_is_in_the_same_transaction(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """If writing history fails, the state change is rolled back too."""
    from storage import runs as runs_module

    rid = new_run(db)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("history insert failed")

    monkeypatch.setattr(runs_module, "_write_history", broken)
    with pytest.raises(RuntimeError):
        finish_run(db, rid, "completed")
    assert get_run(db, rid)["state"] == "running"
    assert get_run(db, rid)["completed_at"] is None


def test_state_column_is_authoritative(db: Database) -> None:
    """A state changed behind our back (another process) is what the guard sees."""
    rid = new_run(db)
    with db.begin() as conn:
        conn.execute(update(runs_table).where(runs_table.c.run_id == rid).values(state="completed"))
    with pytest.raises(InvalidTransition, match="completed"):
        finish_run(db, rid, "partial")


# -- Prefect reconciliation marks and slot leases --------------------------------------------------------


def test_prefect_sync_marks_terminal_runs_until_reconciled(db: Database) -> None:
    from storage.prefect_sync import prefect_sync_pending, set_prefect_sync

    done = new_run(db)
    finish_run(db, done, "completed")
    active = new_run(db, cluster_id="c2")
    set_prefect_sync(db, done, True)
    set_prefect_sync(db, active, True)  # an active run is not reconciled: it has no end yet
    assert [r["run_id"] for r in prefect_sync_pending(db)] == [done]
    assert get_run(db, done)["state"] == "completed"  # the mark never touches kwa's state
    set_prefect_sync(db, done, False)
    assert prefect_sync_pending(db) == []


def test_a_run_records_the_lease_of_its_slots(db: Database) -> None:
    from storage.phases import set_phase

    run = new_run(db)
    assert set_phase(db, run, "initializing", slot_lease="0b7c-lease")
    stored = get_run(db, run)
    assert (stored["phase"], stored["slot_lease"]) == ("initializing", "0b7c-lease")
    with pytest.raises(ValueError, match="cannot set state"):
        set_phase(db, run, "running", state="completed")
