"""Every endpoint × every scope: 401 without (or with a bad) token, 403 below the endpoint's
scope, 2xx at or above it (the control endpoints' 2xx need Prefect: tests/service/test_control.py)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from storage.db import Database
from storage.tokens import create_token, revoke_token
from tests.cli.builder import RUN_1, RUN_2
from tests.service.conftest import SCOPES, bearer

READS = [
    "/api/v1/clusters",
    "/api/v1/checks",
    "/api/v1/checks/SEC-001",
    "/api/v1/runs",
    "/api/v1/clusters/prod-eu/runs",
    f"/api/v1/runs/{RUN_2}",
    f"/api/v1/runs/{RUN_2}/results",
    "/api/v1/clusters/prod-eu/history",
    f"/api/v1/runs/{RUN_1}/diff/{RUN_2}",
]
CONTROLS = [
    "/api/v1/clusters/prod-eu/runs",
    f"/api/v1/runs/{RUN_2}/abort",
    f"/api/v1/runs/{RUN_2}/rerun",
    f"/api/v1/runs/{RUN_2}/resume",
]
ENDPOINTS = [("GET", p, "read") for p in READS] + [("POST", p, "run") for p in CONTROLS]


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    # A POST body no run can be made of: past the token, the endpoint refuses it (422) before
    # anything is stored or handed to Prefect.
    return client.request(method, path, headers=headers or {}, json={"pillars": ["nope"]} if method == "POST" else None)


@pytest.mark.parametrize(("method", "path", "needed"), ENDPOINTS)
def test_no_token_is_401_with_a_challenge(client: TestClient, method: str, path: str, needed: str) -> None:
    r = _call(client, method, path)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["type"] == "urn:kwa:problem:unauthorized"


@pytest.mark.parametrize(("method", "path", "needed"), ENDPOINTS)
@pytest.mark.parametrize("header", ["Bearer kwa_000000000000_" + "A" * 43, "Basic dXNlcjpwYXNz", "Bearer", "x" * 600])
def test_unknown_or_malformed_token_is_401(
    client: TestClient, method: str, path: str, needed: str, header: str
) -> None:
    assert _call(client, method, path, {"Authorization": header}).status_code == 401


@pytest.mark.parametrize(("method", "path", "needed"), ENDPOINTS)
@pytest.mark.parametrize("scope", SCOPES)
def test_scope_decides(
    client: TestClient, tokens: dict[str, str], method: str, path: str, needed: str, scope: str
) -> None:
    r = _call(client, method, path, bearer(tokens[scope]))
    if SCOPES.index(scope) < SCOPES.index(needed):
        assert r.status_code == 403, r.text
        assert f"scope {needed}" in r.json()["detail"]
        assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    elif method == "GET":
        assert r.status_code == 200, r.text
    elif path.endswith("/runs"):
        assert r.status_code == 422, r.text  # let in, and the body judged
    else:
        assert r.status_code == 409, r.text  # let in; RUN_2 has ended and predates rerun parameters


def test_a_read_token_cannot_start_or_abort(client: TestClient, tokens: dict[str, str], service_db: Database) -> None:
    from storage.runs import get_run, list_runs

    before, runs = get_run(service_db, RUN_2), list_runs(service_db, limit=100)
    assert client.post("/api/v1/clusters/prod-eu/runs", headers=bearer(tokens["read"]), json={}).status_code == 403
    assert client.post(f"/api/v1/runs/{RUN_2}/abort", headers=bearer(tokens["read"])).status_code == 403
    assert get_run(service_db, RUN_2) == before
    assert list_runs(service_db, limit=100) == runs


def test_revoked_token_is_refused(client: TestClient, service_db: Database) -> None:
    row, token = create_token(service_db, "admin", "short-lived")
    assert client.get("/api/v1/runs", headers=bearer(token)).status_code == 200
    revoke_token(service_db, row["token_id"])
    r = client.get("/api/v1/runs", headers=bearer(token))
    assert r.status_code == 401
    assert "revoked" in r.json()["detail"]


def test_a_token_with_a_wrong_secret_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    token = tokens["admin"]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/api/v1/runs", headers=bearer(forged)).status_code == 401


def test_healthz_needs_no_token(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_no_auth_app_lets_everyone_in(service_db: Database) -> None:
    from kwa.service.app import create_app

    with TestClient(create_app(service_db, auth=False)) as open_client:
        assert open_client.get("/api/v1/runs").status_code == 200
