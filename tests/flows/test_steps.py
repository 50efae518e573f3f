"""The parent flow's steps called as plain functions: no Prefect run context, no Prefect server.

Each test drives a run through the steps the flow calls (flows.steps) against kwa's database,
with a fake in place of Prefect's concurrency slots, and checks what the step recorded.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from checks.config import Config
from checks.registry import load_all
from checks.sources.resolve import SourceSpec
from flows import steps
from flows.states import CheckOutcome, CheckRun
from storage.db import Database, StorageUnavailable
from storage.runs import abort_run, get_history, get_run


def _job(manifests: Path) -> steps.Job:
    return steps.Job(
        Database(),
        SourceSpec("manifests", paths=[str(manifests)]),
        Config.load(None),
        load_all().select(None, ["SEC-001"]),
        run_timeout=600.0,
        flow_run_id=None,
    )


def _admitted(manifests: Path, cluster: str | None = None) -> steps.Job:
    job = _job(manifests)
    steps.admit(job, None, pillars=None, checks=["SEC-001"], cluster_id=cluster or f"steps-{uuid.uuid4().hex[:8]}",
                trigger="manual", config_path=None)
    return job


@pytest.fixture(autouse=True)
def own_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database of its own per test: these runs wait in the queue with this (live) process as
    their runner, and runs start in request order, so in the session's shared database one left
    waiting would hold up every run other tests start after it."""
    monkeypatch.setenv("KWA_DATABASE_URL", f"sqlite:///{tmp_path / 'kwa.db'}")


@pytest.fixture(autouse=True)
def published(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The summary artifacts are the one step that talks to Prefect's API: recorded here instead."""
    states: list[str] = []
    monkeypatch.setattr(steps, "publish_summary", lambda cluster, run, *rest: states.append(run["state"]))
    return states


class FakeHold(contextlib.ExitStack):
    lease_id = "lease-1"


def _no_slots(*args: Any, **kwargs: Any) -> None:
    return None  # what acquire_slot returns when told to stop while waiting


def _slots(*args: Any, **kwargs: Any) -> FakeHold:
    return FakeHold()


def test_admit_requests_a_queued_run_and_an_identical_request_returns_it(manifests: Path) -> None:
    job = _admitted(manifests, cluster="steps-dedup")
    run = get_run(job.db, job.run_id)
    assert run is not None and run["state"] == "queued" and run["scope"] == "single"
    assert job.cluster == "steps-dedup" and run["parameters"]["checks"] == ["SEC-001"]
    again = _job(manifests)
    with pytest.raises(steps.Stop) as stop:
        steps.admit(again, None, pillars=None, checks=["SEC-001"], cluster_id="steps-dedup", trigger="manual",
                    config_path=None)
    assert stop.value.result["duplicate_of"] == job.run_id
    abort_run(job.db, job.run_id, "test cleanup")


def test_a_run_aborted_while_queued_stops_before_it_waits(manifests: Path) -> None:
    job = _admitted(manifests)
    abort_run(job.db, job.run_id, "changed my mind")
    with pytest.raises(steps.Stop) as stop:
        steps.enter_queue(job)
    assert stop.value.result.is_cancelled() and "aborted before it started" in stop.value.result.message


def test_entering_the_queue_records_the_phase_and_the_runner(manifests: Path) -> None:
    job = _admitted(manifests)
    steps.enter_queue(job)
    run = get_run(job.db, job.run_id)
    assert run["phase"] == "waiting" and run["runner"].endswith(f":{os.getpid()}")
    abort_run(job.db, job.run_id, "test cleanup")


def test_a_run_told_to_stop_while_waiting_for_a_slot_ends_aborted(manifests: Path) -> None:
    job = _admitted(manifests)
    steps.enter_queue(job)
    abort_run(job.db, job.run_id, "kwa runs abort")  # what the slot wait sees as its stop reason
    assert steps.stop_reason(job) == "the run was aborted (kwa runs abort)"
    with pytest.raises(steps.Stop) as stop, steps.slot(job, acquire=_no_slots):
        pytest.fail("the body runs only with the slots held")
    assert stop.value.result is None  # recorded: the flow publishes it like any end
    assert get_run(job.db, job.run_id)["state"] == "aborted"


def test_an_older_waiting_run_for_the_same_cluster_goes_first_unless_its_process_died(manifests: Path) -> None:
    older = _admitted(manifests, cluster="steps-turn")
    steps.enter_queue(older)
    newer = _job(manifests)
    steps.admit(newer, None, pillars=None, checks=["SEC-001"], cluster_id="steps-turn", trigger="manual",
                config_path=None, force_new=True)
    steps.enter_queue(newer)
    assert steps.is_my_turn(older) and not steps.is_my_turn(newer)
    from sqlalchemy import update

    from storage.models import runs_table as R

    with newer.db.begin() as conn:  # the older run's process is gone: it no longer holds the queue
        conn.execute(update(R).where(R.c.run_id == older.run_id).values(runner=f"{os.uname().nodename}:999999999"))
    assert steps.is_my_turn(newer)
    for job in (older, newer):
        abort_run(job.db, job.run_id, "test cleanup")


def test_start_read_finish_and_publish_without_prefect(manifests: Path, published: list[str]) -> None:
    job = _admitted(manifests)
    steps.enter_queue(job)
    with steps.slot(job, acquire=_slots):
        steps.start(job)
        run = get_run(job.db, job.run_id)
        assert (run["state"], run["phase"], run["slot_lease"]) == ("running", "initializing", "lease-1")
        assert job.deadline is not None and job.deadline > job.started
        steps.read_snapshot(job)
        assert job.snapshot is not None and len(job.snapshot.objects) == 1
        job.check_runs = [CheckRun("SEC-001", CheckOutcome.EXECUTED, tally={"passing": 1})]
        steps.finish(job)
    assert get_run(job.db, job.run_id)["state"] == "completed"
    assert get_history(job.db, job.run_id)["checks_executed"] == 1
    state = steps.publish(job)
    assert state.is_completed() and state.data["run"]["run_id"] == job.run_id
    assert published == ["completed"]


def test_an_unreadable_source_fails_the_run(manifests: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(steps, "load", unreadable)
    job = _admitted(manifests)
    steps.enter_queue(job)
    with pytest.raises(steps.Stop), steps.slot(job, acquire=_slots):
        steps.start(job)
        steps.read_snapshot(job)
    run = get_run(job.db, job.run_id)
    assert run["state"] == "failed" and "disk on fire" in run["error"]
    assert job.snapshot is None
    state = steps.publish(job)
    assert state.is_failed() and state.message == run["error"]


def test_concluding_returns_what_a_stop_carries_or_failed_when_storage_refuses(manifests: Path) -> None:
    job = _job(manifests)
    with steps.concluding(job) as conclusion:
        raise steps.Stop({"duplicate_of": "run_x"})
    assert conclusion.value == {"duplicate_of": "run_x"}
    with steps.concluding(job) as conclusion:
        raise StorageUnavailable("database is locked")
    assert conclusion.value.is_failed() and conclusion.value.message == "storage unavailable: database is locked"
