"""A run requested over HTTP is executed by a real process worker of the deployment's pool:
the service only queues it and hands it to Prefect; the worker's flow run executes exactly that
run (its id, its trigger ``api``) and the service then reads its phases and results."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kwa.service.app import create_app
from storage.db import Database
from storage.tokens import create_token
from tests.deploy import stack
from tests.service.conftest import bearer

pytestmark = [pytest.mark.deploy, pytest.mark.prefect]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deployed(
    prefect_api: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str, stack.Worker]]:
    pool = f"kwa-api-{uuid.uuid4().hex[:6]}"
    asyncio.run(stack.ensure_process_pool(pool))
    from flows.assessment import assessment

    assessment.from_source(str(REPO), "flows/assessment.py:assessment").deploy(
        name=f"api-{pool}", work_pool_name=pool, print_next_steps=False
    )
    worker = stack.start_worker(pool, tmp_path_factory.mktemp("api-worker") / "worker.log")
    db = Database()  # the session's database: the worker's flow runs inherit KWA_DATABASE_URL
    _, token = create_token(db, "run", "worker test")
    mp = pytest.MonkeyPatch()
    mp.setenv("KWA_API_DEPLOYMENT", f"kwa-assessment/api-{pool}")
    try:
        worker.wait_started()
        with TestClient(create_app(db), raise_server_exceptions=False) as client:
            yield client, token, worker
    finally:
        mp.undo()
        worker.stop()
        db.dispose()


def _until_ended(client: TestClient, token: str, run_id: str, worker: stack.Worker, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/runs/{run_id}", headers=bearer(token)).json()
        if body["run"]["state"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, f"run {run_id} still {body['run']['state']}:\n{worker.log_tail()}"
        time.sleep(1)


def test_a_worker_executes_the_run_the_api_queued(deployed: tuple[TestClient, str, stack.Worker]) -> None:
    client, token, worker = deployed
    r = client.post(
        "/api/v1/clusters/api-worker-demo/runs",
        json={"source": {"kind": "demo"}, "checks": ["SEC-001", "REL-001"], "gate": {"fail_on": "critical"}},
        headers=bearer(token),
    )
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert accepted["prefect"]["workers_online"] >= 1 and accepted["note"] is None
    run_id = accepted["run"]["run_id"]
    body = _until_ended(client, token, run_id, worker)
    assert body["run"]["state"] == "completed", body["run"].get("error")
    assert body["run"]["trigger"] == "api" and body["run"]["cluster_id"] == "api-worker-demo"
    assert body["prefect"]["flow_run_id"] == accepted["prefect"]["flow_run_id"]
    assert [p["phase"] for p in body["phases"]] == ["queued", "waiting", "initializing", "running", "completed"]
    assert body["counts"]["failing"] + body["counts"]["passing"] > 0
    assert body["gate"]["outcome"] in ("passed", "rejected")
    results = client.get(f"/api/v1/runs/{run_id}/results", headers=bearer(token)).json()
    assert {i["check_id"] for i in results["items"]} <= {"SEC-001", "REL-001"} and results["items"]
