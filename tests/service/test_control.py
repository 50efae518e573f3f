"""Requesting and controlling runs over HTTP against a real Prefect server (tests/conftest.py):
a requested run is a queued kwa run and a Scheduled deployment run of kwa-assessment; with no
worker it stays queued and the answer says so; dedup, abort, rerun, resume; Prefect refusing."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kwa.service.app import create_app
from storage.db import Database
from storage.runs import get_run
from storage.tokens import create_token
from tests.service.conftest import bearer

POOL = "kwa-api-test-pool"
# A deployment of its own: the session's Prefect server is shared with tests that deploy
# prefect.yaml's kwa-assessment/custom on the real pool.
DEPLOYMENT = f"api-{uuid.uuid4().hex[:8]}"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "checks"


def _deploy() -> None:
    """kwa-assessment/custom in a process pool no worker polls."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        with contextlib.suppress(ObjectAlreadyExists):
            client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
        flow_id = client.create_flow_from_name("kwa-assessment")
        client.create_deployment(
            flow_id=flow_id, name=DEPLOYMENT, work_pool_name=POOL, entrypoint="flows/assessment.py:assessment"
        )


def _flow_run(flow_run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


@pytest.fixture(scope="module")
def control(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Database, str]]:
    _deploy()
    env = pytest.MonkeyPatch()
    env.setenv("KWA_API_DEPLOYMENT", f"kwa-assessment/{DEPLOYMENT}")
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('control') / 'kwa.db'}")
    _, token = create_token(db, "run", "control tests")
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        yield client, db, token
    env.undo()
    db.dispose()


def _request(client: TestClient, token: str, cluster: str, **body: Any) -> Any:
    body.setdefault("source", {"kind": "demo"})
    body.setdefault("checks", ["SEC-001"])
    return client.post(f"/api/v1/clusters/{cluster}/runs", json=body, headers=bearer(token))


def test_a_requested_run_waits_queued_without_a_worker(control: tuple[TestClient, Database, str]) -> None:
    client, db, token = control
    r = _request(client, token, "api-queued")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["created"] is True and body["kind"] == "RunRequest"
    run = body["run"]
    assert run["state"] == "queued" and run["trigger"] == "api" and run["cluster_id"] == "api-queued"
    assert r.headers["location"] == f"/api/v1/runs/{run['run_id']}"
    prefect = body["prefect"]
    assert prefect["deployment"] == f"kwa-assessment/{DEPLOYMENT}" and prefect["work_pool"] == POOL
    assert prefect["workers_online"] == 0
    assert "no worker is polling work pool" in body["note"] and POOL in body["note"]
    flow_run = _flow_run(prefect["flow_run_id"])
    assert flow_run.parameters["run_id"] == run["run_id"] and flow_run.parameters["trigger"] == "api"
    assert flow_run.state.is_scheduled()
    time.sleep(1.0)
    stored = get_run(db, run["run_id"])
    assert stored["state"] == "queued" and stored["prefect_flow_run_id"] == prefect["flow_run_id"]
    detail = client.get(f"/api/v1/runs/{run['run_id']}", headers=bearer(token)).json()
    assert detail["prefect"]["flow_run_id"] == prefect["flow_run_id"]
    assert [p["phase"] for p in detail["phases"]] == ["queued"]


def test_an_identical_request_gets_the_same_run(control: tuple[TestClient, Database, str]) -> None:
    client, _, token = control
    first = _request(client, token, "api-dedup").json()
    again = _request(client, token, "api-dedup")
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["run"]["run_id"] == first["run"]["run_id"]
    forced = _request(client, token, "api-dedup", force_new=True)
    assert forced.status_code == 202 and forced.json()["run"]["run_id"] != first["run"]["run_id"]


def test_abort_then_rerun_and_resume(control: tuple[TestClient, Database, str]) -> None:
    client, db, token = control
    first = _request(client, token, "api-control", checks=["SEC-001", "REL-001"]).json()
    run_id = first["run"]["run_id"]
    r = client.post(f"/api/v1/runs/{run_id}/abort", headers=bearer(token))
    assert r.status_code == 200 and r.json()["run"]["state"] == "aborted"
    assert get_run(db, run_id)["state"] == "aborted"
    state = _flow_run(first["prefect"]["flow_run_id"]).state
    assert state.is_cancelling() or state.is_cancelled()
    again = client.post(f"/api/v1/runs/{run_id}/abort", headers=bearer(token))
    assert again.status_code == 409 and "already ended" in again.json()["detail"]

    rerun = client.post(f"/api/v1/runs/{run_id}/rerun", headers=bearer(token))
    assert rerun.status_code == 202, rerun.text
    new = rerun.json()["run"]
    assert new["rerun_of"] == run_id and new["state"] == "queued" and new["trigger"] == "api"
    assert sorted(new["check_ids"]) == ["REL-001", "SEC-001"]
    assert _flow_run(rerun.json()["prefect"]["flow_run_id"]).parameters["run_id"] == new["run_id"]

    resume = client.post(f"/api/v1/runs/{run_id}/resume", headers=bearer(token))
    assert resume.status_code == 202, resume.text
    assert resume.json()["run"]["resume_of"] == run_id
    # an active run can be neither rerun nor resumed
    busy = client.post(f"/api/v1/runs/{new['run_id']}/rerun", headers=bearer(token))
    assert busy.status_code == 409 and "still queued" in busy.json()["detail"]
    assert client.post("/api/v1/runs/run_20200101_000000_abcdef/abort", headers=bearer(token)).status_code == 404


def test_a_rerun_loads_the_runs_own_cel_checks_again(control: tuple[TestClient, Database, str]) -> None:
    """A run recorded with a folder of CEL checks (``kwa run --checks-dir``) reruns over the API
    with them; when the folder no longer loads, the answer is a 409 naming the cause."""
    from sqlalchemy import update

    from storage.models import Run

    client, db, token = control
    first = _request(client, token, "api-cel").json()
    run_id = first["run"]["run_id"]
    assert client.post(f"/api/v1/runs/{run_id}/abort", headers=bearer(token)).status_code == 200
    params = {**get_run(db, run_id)["parameters"], "checks": ["CUS-001"], "checks_dirs": [str(EXAMPLES)]}
    with db.engine.begin() as conn:
        conn.execute(update(Run).where(Run.run_id == run_id).values(parameters=params))
    from checks.registry import REGISTRY

    registered = [c.id for c in REGISTRY.all()]
    rerun = client.post(f"/api/v1/runs/{run_id}/rerun", headers=bearer(token))
    assert rerun.status_code == 202, rerun.text
    assert rerun.json()["run"]["check_ids"] == ["CUS-001"]
    # loaded to select from, then forgotten: the serving process keeps no check of one run's folder
    assert [c.id for c in REGISTRY.all()] == registered

    gone = {**params, "checks_dirs": [str(EXAMPLES / "no-such-folder")]}
    with db.engine.begin() as conn:
        conn.execute(update(Run).where(Run.run_id == run_id).values(parameters=gone))
    refused = client.post(f"/api/v1/runs/{run_id}/rerun", headers=bearer(token))
    assert refused.status_code == 409 and "CEL checks no longer load" in refused.json()["detail"]


def test_a_run_prefect_cannot_take_is_failed_with_the_reason(
    control: tuple[TestClient, Database, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, db, token = control
    monkeypatch.setenv("KWA_API_DEPLOYMENT", "kwa-assessment/not-deployed")
    r = _request(client, token, "api-nowhere")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    run_id = r.json()["run_id"]
    stored = get_run(db, run_id)
    assert stored["state"] == "failed" and "not handed to Prefect" in stored["error"]
    # what to do about it, not Prefect's bare "ObjectNotFound: None"
    assert "has no deployment kwa-assessment/not-deployed; create the deployments of prefect.yaml" in stored["error"]
    assert "ObjectNotFound" not in r.json()["detail"]
    # it holds no dedup key: the next identical request is a new run
    monkeypatch.setenv("KWA_API_DEPLOYMENT", f"kwa-assessment/{DEPLOYMENT}")
    assert _request(client, token, "api-nowhere").status_code == 202


def test_the_gate_asked_with_the_run_is_pending_until_it_ends(control: tuple[TestClient, Database, str]) -> None:
    client, _, token = control
    body = _request(client, token, "api-gated", gate={"fail_on": "high"}).json()
    detail = client.get(f"/api/v1/runs/{body['run']['run_id']}", headers=bearer(token)).json()
    assert detail["gate"]["outcome"] == "pending" and detail["gate"]["fail_on"] == "high"


def test_an_admin_token_may_request_too(control: tuple[TestClient, Database, str], tmp_path: Path) -> None:
    client, db, _ = control
    _, admin = create_token(db, "admin")
    assert _request(client, admin, "api-admin").status_code == 202


def test_the_default_deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    from kwa.service.handoff import deployment_name

    monkeypatch.delenv("KWA_API_DEPLOYMENT", raising=False)
    assert deployment_name() == "kwa-assessment/custom"  # prefect.yaml's any-scope deployment
