"""Lifecycle of deployment runs executed by a real process worker: abort and a SIGKILLed worker."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Database
from storage.runs import get_run, list_runs
from tests.deploy import stack
from tests.run_rows import statuses_by_check

pytestmark = [pytest.mark.deploy, pytest.mark.prefect]
REPO = Path(__file__).resolve().parents[2]
FIXTURE = str(REPO / "tests/deploy/fixtures/workloads.yaml")


@pytest.fixture(scope="module")
def lifecycle_stack(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A private pool, a deployment of kwa-assessment on it, and a worker that loads the test checks."""
    pool = f"kwa-lifecycle-{uuid.uuid4().hex[:6]}"
    asyncio.run(stack.ensure_process_pool(pool))
    from flows.assessment import assessment

    deployment_id = assessment.from_source(str(REPO), "flows/assessment.py:assessment").deploy(
        name=f"lifecycle-{pool}", work_pool_name=pool, print_next_steps=False
    )
    old = {k: os.environ.get(k) for k in ("KWA_CHECK_MODULES", "PYTHONPATH")}
    os.environ["KWA_CHECK_MODULES"] = "tests.deploy.slow_checks"
    os.environ["PYTHONPATH"] = str(REPO)
    log_dir = tmp_path_factory.mktemp("lifecycle-worker")
    workers: list[stack.Worker] = []

    def new_worker() -> stack.Worker:
        worker = stack.start_worker(pool, log_dir / f"worker-{len(workers)}.log", name=f"w{len(workers)}")
        worker.wait_started()
        workers.append(worker)
        return worker

    try:
        yield {"deployment": f"kwa-assessment/lifecycle-{pool}", "new_worker": new_worker, "id": deployment_id}
    finally:
        for w in workers:
            w.stop()
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _start(deployment: str, cluster: str, checks: list[str]) -> str:
    from prefect.deployments import run_deployment

    flow_run = run_deployment(
        name=deployment,
        parameters={
            "source": {"kind": "manifests", "paths": [FIXTURE]},
            "checks": checks,
            "cluster_id": cluster,
            "check_timeout": 120,
        },
        timeout=0,
    )
    return str(flow_run.id)


def _kwa_run(cluster: str, timeout: float = 90) -> dict:
    db = Database()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list_runs(db, cluster_id=cluster)
        if runs:
            return runs[0]
        time.sleep(0.3)
    raise AssertionError(f"no kwa run for {cluster} within {timeout}s")


def _until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_aborting_a_deployment_run_keeps_finished_results(lifecycle_stack: dict) -> None:
    from flows import control

    worker = lifecycle_stack["new_worker"]()
    cluster = f"abort-{uuid.uuid4().hex[:6]}"
    flow_run_id = _start(lifecycle_stack["deployment"], cluster, ["SEC-912", "SEC-911"])
    run = _kwa_run(cluster)
    _until(lambda: "SEC-912" in statuses_by_check(run["run_id"]), 90, f"SEC-912's results\n{worker.log_tail()}")
    control.abort(Database(), run["run_id"])
    flow_run = asyncio.run(stack.wait_for_flow_run(flow_run_id, worker, timeout=60))
    assert flow_run.state.type.value in ("CANCELLED", "CRASHED"), flow_run.state
    final = get_run(Database(), run["run_id"])
    assert final["state"] == "aborted"
    assert statuses_by_check(run["run_id"]) == {"SEC-912": ["passing", "passing"]}  # the slow check left nothing


def test_cancel_from_prefect_ends_the_run_aborted(lifecycle_stack: dict) -> None:
    """The UI's Cancel button: the flow run goes Cancelling in Prefect, the worker stops it."""
    from flows.control import cancel_flow_run

    worker = lifecycle_stack["new_worker"]()
    cluster = f"cancel-{uuid.uuid4().hex[:6]}"
    flow_run_id = _start(lifecycle_stack["deployment"], cluster, ["SEC-912", "SEC-911"])
    run = _kwa_run(cluster)
    _until(lambda: "SEC-912" in statuses_by_check(run["run_id"]), 90, f"SEC-912's results\n{worker.log_tail()}")
    cancel_flow_run(flow_run_id)
    asyncio.run(stack.wait_for_flow_run(flow_run_id, worker, timeout=60))
    _until(lambda: get_run(Database(), run["run_id"])["state"] == "aborted", 30, "the run to be aborted")
    assert "SEC-911" not in statuses_by_check(run["run_id"])


def test_sigkilled_worker_leaves_a_run_the_reaper_fails(lifecycle_stack: dict) -> None:
    from flows import control

    worker = lifecycle_stack["new_worker"]()
    cluster = f"sigkill-{uuid.uuid4().hex[:6]}"
    _start(lifecycle_stack["deployment"], cluster, ["SEC-911"])
    run = _kwa_run(cluster)
    db = Database()
    _until(lambda: (get_run(db, run["run_id"]) or {}).get("phase") == "running", 90, "the run to start")
    runner = get_run(db, run["run_id"])["runner"]
    # The machine-loss case: the worker and the flow process it started die without a word.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(runner.rsplit(":", 1)[1]), signal.SIGKILL)
    worker.proc.wait(timeout=10)
    time.sleep(0.5)
    assert get_run(db, run["run_id"])["state"] == "running"  # nothing recorded the death
    reaped = dict(control.reap(db))
    assert run["run_id"] in reaped
    final = get_run(db, run["run_id"])
    assert final["state"] == "failed" and "runner lost" in final["error"]
