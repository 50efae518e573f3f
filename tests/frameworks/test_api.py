"""The API's framework view: the catalogue, a run's control-by-control status, results filtered
and tagged by ``?framework=``; the same numbers as the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kwa.frameworks import load
from kwa.service.app import create_app
from storage.db import Database
from tests.frameworks.conftest import RESULTS, RUN


@pytest.fixture
def api(fw_db: Database) -> Iterator[TestClient]:
    with TestClient(create_app(fw_db, auth=False), raise_server_exceptions=False) as c:
        yield c


def test_framework_catalogue(api: TestClient) -> None:
    r = api.get("/api/v1/frameworks")
    assert r.status_code == 200
    items = {f["name"]: f for f in r.json()["items"]}
    assert {"nsa", "cis"} <= set(items)
    assert items["nsa"]["controls"] == len(load("nsa").controls)


def test_run_framework_status_matches_the_cli(api: TestClient, kwa) -> None:
    r = api.get(f"/api/v1/runs/{RUN}/frameworks/nsa")
    assert r.status_code == 200
    doc = r.json()
    assert doc["kind"] == "FrameworkStatus" and doc["framework"]["name"] == "nsa"
    code, out, _ = kwa("query", "assessments", "summary", "--run", RUN, "--framework", "nsa", "-o", "json")
    assert code == 0
    cli = json.loads(out)
    assert (doc["score"], doc["coverage"], doc["counts"]) == (cli["score"], cli["coverage"], cli["counts"])
    assert {c["id"]: c["status"] for c in doc["controls"]}["NSA-POD-5"] == "failed"


def test_unknown_framework_names_the_valid_ones(api: TestClient) -> None:
    r = api.get(f"/api/v1/runs/{RUN}/frameworks/nist")
    assert r.status_code == 404
    assert "unknown framework 'nist'; valid names:" in r.json()["detail"] and "nsa" in r.json()["detail"]
    r = api.get(f"/api/v1/runs/{RUN}/results", params={"framework": "nist"})
    assert r.status_code == 400 and "nsa" in r.json()["detail"]
    assert api.get(f"/api/v1/runs/{RUN}/frameworks/NSA!").status_code == 422


def test_results_filtered_and_tagged(api: TestClient) -> None:
    r = api.get(f"/api/v1/runs/{RUN}/results", params={"framework": "cis", "limit": 500})
    assert r.status_code == 200
    doc = r.json()
    by_check = load("cis").controls_by_check()
    assert doc["framework"] == "cis"
    assert {i["check_id"] for i in doc["items"]} == {c for c in RESULTS if c in by_check}
    for item in doc["items"]:
        assert item["controls"] == by_check[item["check_id"]]
    r = api.get(f"/api/v1/runs/{RUN}/results", params={"framework": "cis", "check": "SEC-013"})
    assert r.status_code == 200 and r.json()["items"] == []  # not a CIS check


def test_results_sarif_and_junit_carry_control_ids(api: TestClient) -> None:
    r = api.get(f"/api/v1/runs/{RUN}/results", params={"framework": "nsa", "format": "sarif", "limit": 500})
    assert r.status_code == 200
    rules = {x["id"]: x for x in r.json()["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["SEC-001"]["properties"]["frameworks"] == {"nsa": ["NSA-POD-5"]}
    r = api.get(f"/api/v1/runs/{RUN}/results", params={"framework": "nsa", "format": "junit", "limit": 500})
    root = ET.fromstring(r.text)
    values = {p.get("value") for p in root.iter("property") if p.get("name") == "framework.nsa"}
    assert "NSA-POD-5" in values
