"""The OpenAPI document is the contract: every answer of every endpoint validates against the
schema the document gives for its status, and docs/api.md is generated from the current one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.cli.builder import RUN_1, RUN_2, RUN_FAILED
from tests.service.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    return doc


def validate(spec: dict[str, Any], method: str, template: str, response: Any) -> None:
    """``response`` against the schema the document gives for its path, method and status."""
    op = spec["paths"][template][method]
    status = str(response.status_code)
    assert status in op["responses"], f"{method.upper()} {template}: status {status} is not in the contract"
    content = op["responses"][status].get("content") or {}
    media = response.headers["content-type"].split(";")[0]
    schema = (content.get("application/json") or {}).get("schema")
    if media not in ("application/json", "application/problem+json") or schema is None:
        return  # SARIF, JUnit, CSV: their own formats (tested in test_endpoints.py)
    registry = Registry().with_resource(
        "urn:kwa:openapi", Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    wrapped = {"$schema": "https://json-schema.org/draft/2020-12/schema", **_rebase(schema)}
    errors = sorted(Draft202012Validator(wrapped, registry=registry).iter_errors(response.json()), key=str)
    assert not errors, f"{method.upper()} {template} {status}: {errors[0].message} at {list(errors[0].path)}"


def _rebase(schema: Any) -> Any:
    """``#/components/…`` references pointed at the whole document."""
    if isinstance(schema, dict):
        return {k: (f"urn:kwa:openapi{v}" if k == "$ref" else _rebase(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


CASES = [
    ("get", "/healthz", "/healthz", {}),
    ("get", "/api/v1/clusters", "/api/v1/clusters", {}),
    ("get", "/api/v1/checks", "/api/v1/checks", {"pillar": "cost"}),
    ("get", "/api/v1/checks/{check_id}", "/api/v1/checks/SEC-001", {}),
    ("get", "/api/v1/checks/{check_id}", "/api/v1/checks/NOPE-1", {}),
    ("get", "/api/v1/runs", "/api/v1/runs", {"limit": 2}),
    ("get", "/api/v1/runs", "/api/v1/runs", {"state": "nope"}),
    ("get", "/api/v1/runs", "/api/v1/runs", {"since": "not a date"}),
    ("get", "/api/v1/clusters/{cluster}/runs", "/api/v1/clusters/prod-eu/runs", {"limit": 1}),
    ("get", "/api/v1/clusters/{cluster}/runs", "/api/v1/clusters/unknown/runs", {}),
    ("get", "/api/v1/runs/{run_id}", f"/api/v1/runs/{RUN_2}", {}),
    ("get", "/api/v1/runs/{run_id}", f"/api/v1/runs/{RUN_FAILED}", {"fail_on": "high"}),
    ("get", "/api/v1/runs/{run_id}", f"/api/v1/runs/{RUN_1}", {"min_score": "10"}),
    ("get", "/api/v1/runs/{run_id}", "/api/v1/runs/run_20200101_000000_abcdef", {}),
    ("get", "/api/v1/runs/{run_id}/results", f"/api/v1/runs/{RUN_2}/results", {"limit": 3}),
    ("get", "/api/v1/runs/{run_id}/results", f"/api/v1/runs/{RUN_2}/results", {"format": "sarif"}),
    ("get", "/api/v1/runs/{run_id}/results", f"/api/v1/runs/{RUN_2}/results", {"cursor": "junk"}),
    ("get", "/api/v1/runs/{run_id}/results", f"/api/v1/runs/{RUN_2}/results", {"framework": "nsa"}),
    ("get", "/api/v1/runs/{run_id}/results", f"/api/v1/runs/{RUN_2}/results", {"framework": "nist"}),
    ("get", "/api/v1/frameworks", "/api/v1/frameworks", {}),
    ("get", "/api/v1/runs/{run_id}/frameworks/{name}", f"/api/v1/runs/{RUN_2}/frameworks/nsa", {}),
    ("get", "/api/v1/runs/{run_id}/frameworks/{name}", f"/api/v1/runs/{RUN_2}/frameworks/nist", {}),
    ("get", "/api/v1/clusters/{cluster}/history", "/api/v1/clusters/prod-eu/history", {}),
    ("get", "/api/v1/runs/{run_a}/diff/{run_b}", f"/api/v1/runs/{RUN_1}/diff/{RUN_2}", {}),
    ("post", "/api/v1/runs/{run_id}/abort", f"/api/v1/runs/{RUN_2}/abort", {}),
    ("post", "/api/v1/runs/{run_id}/rerun", f"/api/v1/runs/{RUN_2}/rerun", {}),
    ("post", "/api/v1/clusters/{cluster}/runs", "/api/v1/clusters/prod-eu/runs", {"_body": {"checks": ["NOPE-1"]}}),
]


@pytest.mark.parametrize(("method", "template", "path", "params"), CASES)
def test_answers_follow_the_contract(
    client: TestClient,
    tokens: dict[str, str],
    spec: dict[str, Any],
    method: str,
    template: str,
    path: str,
    params: dict[str, Any],
) -> None:
    body = params.pop("_body", None)
    r = client.request(method.upper(), path, params=params, json=body, headers=bearer(tokens["admin"]))
    validate(spec, method, template, r)


def test_auth_errors_follow_the_contract(client: TestClient, tokens: dict[str, str], spec: dict[str, Any]) -> None:
    validate(spec, "get", "/api/v1/runs", client.get("/api/v1/runs"))
    validate(
        spec,
        "post",
        "/api/v1/runs/{run_id}/abort",
        client.post(f"/api/v1/runs/{RUN_2}/abort", headers=bearer(tokens["read"])),
    )


def test_every_operation_documents_its_errors(spec: dict[str, Any]) -> None:
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if path == "/healthz":
                continue
            assert {"401", "403", "422"} <= set(op["responses"]), f"{method.upper()} {path}"


def test_api_doc_is_current() -> None:
    done = subprocess.run([sys.executable, "scripts/api_docs.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_validation_catches_a_broken_answer(client: TestClient, tokens: dict[str, str], spec: dict) -> None:  # type: ignore[type-arg]
    """The check above has teeth: a run list whose run lacks its state fails it."""
    real = client.get("/api/v1/runs", headers=bearer(tokens["read"]))

    class Broken:
        status_code = 200
        headers = real.headers

        @staticmethod
        def json() -> Any:
            body = real.json()
            del body["items"][0]["state"]
            return body

    with pytest.raises(AssertionError, match="state"):
        validate(spec, "get", "/api/v1/runs", Broken())
