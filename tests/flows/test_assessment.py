"""End to end through the real Prefect engine and a real Prefect server: every run-state mapping."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.run_rows import statuses_by_check

pytestmark = pytest.mark.prefect


# kwa's run state -> the (type, name) of the flow run's final Prefect state that mirrors it.
MIRRORED = {
    "completed": ("COMPLETED", "Completed"),
    "partial": ("COMPLETED", "Partial"),
    "failed": ("FAILED", "Failed"),
    "aborted": ("CANCELLED", "Cancelled"),
}


def _run(prefect_api, manifests: Path, checks: list[str], **kw):  # type: ignore[no-untyped-def]
    """Run the flow; its summary, after checking that its Prefect state mirrors kwa's run state."""
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    state = assessment(
        source={"kind": "manifests", "paths": [str(manifests)]},
        checks=checks,
        cluster_id="test",
        return_state=True,
        **kw,
    )
    summary = summary_of_state(state)
    assert summary is not None, state
    assert (state.type.value, state.name) == MIRRORED[summary["run"]["state"]], (state, summary["run"]["state"])
    if summary["run"]["state"] in ("failed", "aborted"):
        assert state.message == summary["run"]["error"]
    return summary


def test_completed_run_persists_results(prefect_api, manifests) -> None:
    summary = _run(prefect_api, manifests, ["SEC-001"])
    run = summary["run"]
    assert run["state"] == "completed"
    assert run["scope"] == "single"
    assert statuses_by_check(run["run_id"]) == {"SEC-001": ["passing"]}


@pytest.mark.parametrize("bad", ["SEC-901", "SEC-902", "SEC-904"])
def test_hard_timeout_makes_the_run_partial_and_quick(prefect_api, manifests, bad_checks, bad) -> None:
    started = time.monotonic()
    summary = _run(prefect_api, manifests, [bad, "SEC-905"], check_timeout=1.0)
    elapsed = time.monotonic() - started
    assert summary["run"]["state"] == "partial"
    assert statuses_by_check(summary["run"]["run_id"]) == {bad: ["timeout"], "SEC-905": ["passing"]}
    # The hanging check is cut at its 1 s timeout, not waited for: 2.4 s for the whole run on an idle
    # machine (timeout + 2 s is the target). The bound here leaves room for two test workers sharing
    # two cores (4.2 s seen) while still far below a check that never returns.
    assert elapsed < 1.0 + 9.0, f"run took {elapsed:.2f}s"


def test_raising_check_is_an_error_with_its_message(prefect_api, manifests, bad_checks) -> None:
    summary = _run(prefect_api, manifests, ["SEC-903", "SEC-905"])
    assert summary["run"]["state"] == "partial"
    from sqlalchemy import text

    from storage.db import Database

    with Database().engine.connect() as conn:
        message = conn.execute(
            text("SELECT message FROM assessments WHERE run_id = :r AND check_id = 'SEC-903'"),
            {"r": summary["run"]["run_id"]},
        ).scalar_one()
    assert "the check's own bug" in message


def test_every_check_erroring_fails_the_run(prefect_api, manifests, bad_checks) -> None:
    summary = _run(prefect_api, manifests, ["SEC-903", "SEC-901"], check_timeout=0.5)
    assert summary["run"]["state"] == "failed"
    assert "every check errored or timed out" in summary["run"]["error"]


def test_run_level_timeout_fails_the_run(prefect_api, manifests, bad_checks) -> None:
    started = time.monotonic()
    summary = _run(prefect_api, manifests, ["SEC-901", "SEC-905"], check_timeout=30, run_timeout=1.5)
    assert summary["run"]["state"] == "failed"
    assert "run-level timeout" in summary["run"]["error"]
    # Cut by the run's 1.5 s, not the checks' 30 s; the margin absorbs a loaded CI machine
    # (parallel test workers): ~2 s quiet, up to ~7 s seen under load.
    assert time.monotonic() - started < 1.5 + 13.5


def test_unreadable_source_fails_the_run(prefect_api, tmp_path) -> None:
    summary = _run(prefect_api, tmp_path / "missing.yaml", ["SEC-001"])
    assert summary["run"]["state"] == "failed"
    assert "snapshot unreadable" in summary["run"]["error"]


def test_a_failed_run_raises_when_the_flow_is_called_directly(prefect_api, tmp_path) -> None:
    """Called as a plain function, the flow raises for a failed run; the summary travels with it."""
    from flows.assessment import assessment
    from flows.ending import RunEnded

    with pytest.raises(RunEnded, match="snapshot unreadable") as caught:
        assessment(source={"kind": "manifests", "paths": [str(tmp_path / "missing.yaml")]}, checks=["SEC-001"])
    assert caught.value.summary["run"]["state"] == "failed"


def test_the_flow_runs_when_the_caller_already_runs_an_event_loop(prefect_api, manifests) -> None:
    """A notebook or an async application calling the (sync) flow: the pillars still run."""
    import asyncio

    async def caller() -> dict:
        return _run(prefect_api, manifests, ["SEC-001"])

    summary = asyncio.run(caller())
    assert summary["run"]["state"] == "completed"
    assert statuses_by_check(summary["run"]["run_id"])["SEC-001"]
