"""storage.run_facts: per cluster the newest run, runs by state and the newest finished run of
each state — what ``kwa metrics`` reports per cluster — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

import storage.runs as runs_module
from storage.db import Database
from storage.run_facts import cluster_facts
from storage.runs import abort_run, fail_run, finish_run
from tests.cli.builder import FrozenClock
from tests.storage.helpers import new_run


def test_no_runs_is_no_clusters(db: Database) -> None:
    assert cluster_facts(db) == []


def test_facts_per_cluster(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock()
    monkeypatch.setattr(runs_module, "_now", clock)
    ok = new_run(db, cluster_id="a")
    finish_run(db, ok, "completed", history={"duration_ms": 1500})
    part = new_run(db, cluster_id="a")
    finish_run(db, part, "partial")
    failed = new_run(db, cluster_id="a")
    fail_run(db, failed, "cluster unreachable")
    queued = new_run(db, cluster_id="a", start=False)
    only_aborted = new_run(db, cluster_id="b")
    abort_run(db, only_aborted, "stopped")

    facts = {f.cluster_id: f for f in cluster_facts(db)}
    assert list(facts) == ["a", "b"]
    a = facts["a"]
    assert (a.latest_run_id, a.latest_state) == (queued, "queued")
    assert a.runs_by_state == {"queued": 1, "running": 0, "completed": 1, "partial": 1, "failed": 1, "aborted": 0}
    assert a.last_finished is not None and a.last_finished.run_id == failed
    assert a.last_success is not None and a.last_success.run_id == ok
    assert a.last_success.duration_ms == 1500
    assert a.scored is not None and a.scored.run_id == part  # newest completed or partial
    assert a.finished_by_state["partial"].finished_at > a.last_success.finished_at
    b = facts["b"]
    assert b.latest_state == "aborted" and b.scored is None and b.last_success is None
    assert b.last_finished is not None and b.last_finished.run_id == only_aborted

    [only] = cluster_facts(db, "b")
    assert only.cluster_id == "b" and only.runs_by_state["aborted"] == 1
    assert cluster_facts(db, "nope") == []


def test_the_newest_of_a_state_wins_whatever_the_order_of_ids(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FrozenClock()
    monkeypatch.setattr(runs_module, "_now", clock)
    first = new_run(db, cluster_id="c", run_id="run_zzzz")
    finish_run(db, first, "completed")
    clock.set(clock.now + timedelta(hours=1))
    second = new_run(db, cluster_id="c", run_id="run_aaaa")
    finish_run(db, second, "completed")
    [facts] = cluster_facts(db)
    assert facts.last_success is not None and facts.last_success.run_id == second
    assert facts.latest_run_id == second and facts.runs_by_state["completed"] == 2
