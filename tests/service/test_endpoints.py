"""What the read endpoints answer: the CLI's documents, pagination, formats, filters; and bad
input (malformed, oversized, injection) as 4xx problem details, never a 500."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from tests.cli.builder import HOSTILE_MESSAGE, HOSTILE_NS, RUN_1, RUN_2, RUN_FAILED, RUN_WARN, all_run_ids
from tests.service.conftest import bearer


@pytest.fixture(scope="module")
def get(client: TestClient, tokens: dict[str, str]):  # type: ignore[no-untyped-def]
    def call(path: str, **kw):  # type: ignore[no-untyped-def]
        headers = {**bearer(tokens["read"]), **kw.pop("headers", {})}
        return client.get(path, headers=headers, **kw)

    return call


def test_runs_offset_pages_cover_every_run_once(get) -> None:  # type: ignore[no-untyped-def]
    seen, offset = [], 0
    while offset is not None:
        body = get("/api/v1/runs", params={"limit": 1, "offset": offset}).json()
        assert body["kind"] == "RunList" and body["pagination"]["total"] == len(list(all_run_ids()))
        seen += [r["run_id"] for r in body["items"]]
        offset = body["pagination"]["next_offset"]
    assert sorted(seen) == sorted(all_run_ids()) and len(seen) == len(set(seen))


def test_cluster_runs_cursor_pages(get) -> None:  # type: ignore[no-untyped-def]
    first = get("/api/v1/clusters/prod-eu/runs", params={"limit": 1}).json()
    assert [r["run_id"] for r in first["items"]] == [RUN_2]
    cursor = first["pagination"]["next_cursor"]
    second = get("/api/v1/clusters/prod-eu/runs", params={"limit": 1, "cursor": cursor}).json()
    assert [r["run_id"] for r in second["items"]] == [RUN_1]
    assert second["pagination"]["next_cursor"] is None
    # a cursor replayed with other filters is refused, as by the CLI
    r = get("/api/v1/clusters/prod-eu/runs", params={"limit": 1, "cursor": cursor, "state": "failed"})
    assert r.status_code == 400 and "other filters" in r.json()["detail"]


def test_runs_filters(get) -> None:  # type: ignore[no-untyped-def]
    failed = get("/api/v1/runs", params={"state": "failed"}).json()["items"]
    assert [r["run_id"] for r in failed] == [RUN_FAILED]
    two = get("/api/v1/runs", params=[("state", "failed"), ("state", "partial")]).json()["items"]
    assert {r["run_id"] for r in two} == {RUN_FAILED, RUN_2}
    assert get("/api/v1/runs", params={"since": "2026-02-11T10:30:00Z"}).json()["pagination"]["total"] == 1
    assert get("/api/v1/clusters/nowhere/runs").status_code == 404


def test_run_detail_has_phases_counts_and_links(get) -> None:  # type: ignore[no-untyped-def]
    body = get(f"/api/v1/runs/{RUN_2}").json()
    assert body["kind"] == "Run" and body["run"]["run_id"] == RUN_2
    assert body["phases"][0]["phase"] == "queued" and body["phases"][-1]["phase"] == "partial"
    assert body["counts"]["failing"] >= 1 and "security" in body["pillars"]
    assert body["prefect"].keys() >= {"flow_run_id", "url"}
    assert isinstance(body["exemption_audit"], list)
    assert "gate" not in body


def test_run_detail_judges_a_gate(get) -> None:  # type: ignore[no-untyped-def]
    body = get(f"/api/v1/runs/{RUN_2}", params={"fail_on": "critical", "min_coverage": "0"}).json()
    assert body["gate"]["outcome"] == "rejected"
    assert any(v["rule"] == "fail-on" for v in body["gate"]["violations"])
    lenient = get(f"/api/v1/runs/{RUN_1}", params={"min_score": "0", "min_coverage": "0"}).json()
    assert lenient["gate"]["outcome"] == "passed"
    bad = get(f"/api/v1/runs/{RUN_2}", params={"min_score": "200"})
    assert bad.status_code == 400 and "0 to 100" in bad.json()["detail"]


def test_results_are_the_cli_list_with_its_filters_and_cursor(get) -> None:  # type: ignore[no-untyped-def]
    everything = get(f"/api/v1/runs/{RUN_2}/results", params={"limit": 1000}).json()["items"]
    paged, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = get(f"/api/v1/runs/{RUN_2}/results", params=params)
        body = r.json()
        paged += body["items"]
        cursor = body["pagination"]["next_cursor"]
        if not cursor:
            break
        assert 'rel="next"' in r.headers["link"]
    assert [i["id"] for i in paged] == [i["id"] for i in everything]
    failing = get(f"/api/v1/runs/{RUN_2}/results", params={"status": "failing", "severity": "critical"}).json()
    assert failing["items"] and all(i["status"] == "failing" and i["severity"] == "critical" for i in failing["items"])


@pytest.mark.parametrize(
    ("how", "kind"),
    [
        ({"params": {"format": "sarif"}}, "sarif"),
        ({"headers": {"Accept": "application/sarif+json"}}, "sarif"),
        ({"params": {"format": "junit"}}, "junit"),
        ({"headers": {"Accept": "application/xml"}}, "junit"),
        ({"params": {"format": "csv"}}, "csv"),
        ({"headers": {"Accept": "text/csv"}}, "csv"),
        ({"headers": {"Accept": "*/*"}}, "json"),
    ],
)
def test_result_formats(get, how: dict, kind: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    r = get(f"/api/v1/runs/{RUN_2}/results", **how)
    assert r.status_code == 200
    if kind == "sarif":
        doc = r.json()
        assert doc["version"] == "2.1.0" and doc["runs"][0]["results"]
    elif kind == "junit":
        root = ET.fromstring(r.content)
        assert root.tag == "testsuites" and int(root.get("failures")) >= 1
    elif kind == "csv":
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert rows and {row["run_id"] for row in rows} == {RUN_2}
    else:
        assert r.json()["kind"] == "AssessmentList"


def test_unoffered_format_is_406(get) -> None:  # type: ignore[no-untyped-def]
    assert get(f"/api/v1/runs/{RUN_2}/results", headers={"Accept": "text/html"}).status_code == 406
    assert get("/api/v1/runs", params={"format": "sarif"}).status_code == 422  # not in this endpoint's enum
    assert get(f"/api/v1/runs/{RUN_1}/diff/{RUN_2}", headers={"Accept": "application/sarif+json"}).status_code == 406


def test_history_and_diff(get) -> None:  # type: ignore[no-untyped-def]
    history = get("/api/v1/clusters/prod-eu/history").json()
    assert [i["run_id"] for i in history["items"]] == [RUN_1, RUN_2]
    rows = list(csv.DictReader(io.StringIO(get("/api/v1/clusters/prod-eu/history", params={"format": "csv"}).text)))
    assert [r["run_id"] for r in rows] == [RUN_1, RUN_2]
    diff = get(f"/api/v1/runs/{RUN_1}/diff/{RUN_2}").json()
    assert diff["kind"] == "AssessmentDiff" and diff["run_a"]["run_id"] == RUN_1
    assert diff["new_failures"] or diff["fixed"] or diff["changed"]
    # another cluster's run is not like with like unless asked
    assert get(f"/api/v1/runs/{RUN_1}/diff/{RUN_WARN}").status_code == 409


def test_hostile_text_travels_as_data(get) -> None:  # type: ignore[no-untyped-def]
    items = get(f"/api/v1/runs/{RUN_2}/results", params={"namespace": HOSTILE_NS, "limit": 100}).json()["items"]
    assert any(i["message"] == HOSTILE_MESSAGE for i in items)
    text = get(f"/api/v1/runs/{RUN_2}/results", params={"namespace": HOSTILE_NS, "format": "csv"}).text
    assert "'=HYPERLINK" in text or "=HYPERLINK" not in text.split(",")[0]  # formula cells neutralised by the CLI's CSV


INJECTIONS = ["' OR 1=1 --", "'; DROP TABLE runs; --", "%", "_", "\\", '"', "run_x' UNION SELECT 1"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_filters_matches_nothing(get, value: str) -> None:  # type: ignore[no-untyped-def]
    r = get(f"/api/v1/runs/{RUN_2}/results", params={"namespace": value, "check": value, "kind": value})
    assert r.status_code == 200 and r.json()["items"] == []
    assert get("/api/v1/runs", params={"cluster": "prod-eu"}).json()["pagination"]["total"] == 2  # tables intact


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/api/v1/runs", {"limit": 0}, 422),
        ("/api/v1/runs", {"limit": 10_001}, 422),
        ("/api/v1/runs", {"limit": "ten"}, 422),
        ("/api/v1/runs", {"offset": -1}, 422),
        ("/api/v1/runs", {"offset": "9" * 40}, 422),
        ("/api/v1/runs", {"state": "deleted"}, 422),
        ("/api/v1/runs", {"trigger": "cron"}, 422),
        ("/api/v1/runs", {"since": "yesterday"}, 400),
        ("/api/v1/runs", {"since": "9999-01-01"}, 400),
        ("/api/v1/runs", {"since": "x" * 65}, 422),
        ("/api/v1/clusters/prod-eu/runs", {"cursor": "not-a-cursor"}, 400),
        ("/api/v1/clusters/prod-eu/runs", {"cursor": "A" * 3000}, 422),
        (f"/api/v1/runs/{RUN_2}/results", {"severity": "urgent"}, 422),
        (f"/api/v1/runs/{RUN_2}/results", {"pillar": "speed"}, 422),
        (f"/api/v1/runs/{RUN_2}/results", {"sort": "name"}, 422),
        (f"/api/v1/runs/{RUN_2}/results", {"namespace": "x" * 300}, 422),
        (f"/api/v1/runs/{RUN_2}/results", {"check": "\x00"}, 422),
        (f"/api/v1/runs/{RUN_2}/results", {"offset": 5, "cursor": "abc"}, 400),
        ("/api/v1/runs/not-a-run-id", {}, 422),
        ("/api/v1/runs/run_" + "9" * 200, {}, 422),
        ("/api/v1/clusters/prod-eu/history", {"scope": "pillar:nope"}, 400),
        ("/api/v1/clusters/prod-eu/history", {"limit": 0}, 422),
    ],
)
def test_bad_input_is_a_4xx_problem(get, path: str, params: dict, status: int) -> None:  # type: ignore[no-untyped-def,type-arg]
    r = get(path, params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("urn:kwa:problem:")
    assert "Traceback" not in r.text and 'File "' not in r.text


def test_oversized_requests(client: TestClient, tokens: dict[str, str]) -> None:
    headers = bearer(tokens["run"])
    r = client.get("/api/v1/runs?" + "state=queued&" * 1000, headers=headers)
    assert r.status_code == 414 and r.headers["content-type"] == "application/problem+json"
    big = json.dumps({"checks": ["SEC-001"] * 20_000})
    r = client.post(
        "/api/v1/clusters/prod-eu/runs", headers={**headers, "Content-Type": "application/json"}, content=big
    )
    assert r.status_code == 413 and r.json()["type"] == "urn:kwa:problem:too-large"

    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(100):
            yield b" " * 1024

    r = client.post(
        "/api/v1/clusters/prod-eu/runs", headers={**headers, "Content-Type": "application/json"}, content=chunks()
    )
    assert r.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"pillars": "security"}',
        b'{"pillars": ["speed"]}',
        b'{"checks": ["NOPE-999"]}',
        b'{"check_timeout": -1}',
        b'{"check_timeout": 1e9}',
        b'{"run_timeout": "soon"}',
        b'{"source": {"kind": "manifests", "paths": ["/etc/passwd"]}}',
        b'{"source": {"kind": "live", "context": "a b; rm -rf /"}}',
        b'{"gate": {"fail_on": "urgent"}}',
        b'{"gate": {"min_score": ["200"]}}',
        b'{"unknown_field": 1}',
    ],
)
def test_bad_run_requests_are_refused_before_anything_is_stored(
    client: TestClient,
    tokens: dict[str, str],
    service_db,
    body: bytes,  # type: ignore[no-untyped-def]
) -> None:
    from storage.runs import list_runs

    before = list_runs(service_db, limit=100)
    r = client.post(
        "/api/v1/clusters/prod-eu/runs",
        headers={**bearer(tokens["run"]), "Content-Type": "application/json"},
        content=body,
    )
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert list_runs(service_db, limit=100) == before


def test_an_unexpected_error_is_a_generic_500(client: TestClient, tokens: dict[str, str], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("internal detail /secret/path")

    monkeypatch.setattr("storage.queries.list_run_page", boom)
    r = client.get("/api/v1/runs", headers=bearer(tokens["read"]))
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert "secret" not in r.text and "Traceback" not in r.text


@pytest.mark.parametrize(
    "cluster", ["gke_project_zone_name", "arn:aws:eks:eu-west-1:1:cluster/prod", "repo:dir with space"]
)
def test_any_printable_cluster_id_can_be_read(get, cluster: str) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    r = get(f"/api/v1/clusters/{quote(cluster, safe='')}/runs")
    assert r.status_code == 404 and cluster in r.json()["detail"]  # looked up, not refused as malformed


@pytest.mark.parametrize("cluster", ["with space", "-leading-dash", "tab%09in", "x" * 254])
def test_a_run_is_requested_only_for_a_plain_cluster_id(
    client: TestClient, tokens: dict[str, str], cluster: str
) -> None:
    r = client.post(f"/api/v1/clusters/{cluster}/runs", headers=bearer(tokens["run"]), json={})
    assert r.status_code == 422 and "cluster" in r.json()["detail"]


def test_unknown_routes_and_methods_are_problems(client: TestClient, tokens: dict[str, str]) -> None:
    missing = client.get("/api/v1/nothing-here", headers=bearer(tokens["read"]))
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    wrong = client.delete(f"/api/v1/runs/{RUN_2}", headers=bearer(tokens["admin"]))
    assert wrong.status_code == 405 and wrong.json()["type"] == "urn:kwa:problem:method-not-allowed"


def test_clusters_carry_their_latest_finished_scores(get) -> None:  # type: ignore[no-untyped-def]
    items = {c["cluster_id"]: c for c in get("/api/v1/clusters").json()["items"]}
    assert set(items) == {"prod-eu", "staging"}
    prod = items["prod-eu"]
    assert prod["run_id"] == RUN_2 and prod["latest_finished"]["run_id"] == RUN_2
    assert prod["latest_finished"]["scores"]["overall"]["score"] is not None
    assert prod["latest_finished"]["counts"]["failing"] >= 1


def test_checks_and_where_one_fails(get) -> None:  # type: ignore[no-untyped-def]
    checks = get("/api/v1/checks", params={"pillar": "security"}).json()["items"]
    assert checks and all(c["pillar"] == "security" for c in checks) and all(c["remediation"] for c in checks)
    body = get("/api/v1/checks/sec-001").json()
    assert body["check"]["id"] == "SEC-001" and body["check"]["remediation"]
    prod = next(c for c in body["clusters"] if c["cluster_id"] == "prod-eu")
    assert prod["run_id"] == RUN_2 and prod["affected"] == len(prod["items"]) >= 1
    assert {i["check_id"] for i in prod["items"]} == {"SEC-001"}
    assert all(i["status"] in ("failing", "warning", "error", "timeout") for i in prod["items"])
    assert get("/api/v1/checks/NOPE-1").status_code == 404
    assert get("/api/v1/checks/x;drop").status_code == 422


def test_nothing_served_needs_the_network(client: TestClient) -> None:
    """No Swagger or ReDoc page (their scripts come from a CDN); the document itself is served."""
    assert client.get("/api/v1/docs").status_code == 404 and client.get("/redoc").status_code == 404
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "kwa run service"


@pytest.mark.parametrize(
    ("path", "params", "named", "takes"),
    [
        ("/api/v1/runs", {"cursor": "abc"}, "'cursor'", "offset"),  # offset-paged: a cursor was ignored
        (f"/api/v1/runs/{RUN_2}/results", {"sever1ty": "high"}, "'sever1ty'", "severity"),
        ("/api/v1/clusters", {"x": 1}, "'x'", "takes: no query parameters"),
    ],
)
def test_an_unknown_query_parameter_is_refused_naming_it(get, path: str, params: dict, named: str, takes: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Ignored, a client following ``?cursor=`` on /runs got its first page for ever, and a
    misspelt filter answered everything."""
    r = get(path, params=params)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert f"unknown query parameter {named}" in detail and takes in detail, detail


def test_an_unknown_query_parameter_is_never_echoed_as_a_credential(get) -> None:  # type: ignore[no-untyped-def]
    secret = "ghp_" + "a1B2" * 9  # a token pasted into the URL by mistake
    r = get("/api/v1/runs", params={secret: "1"})
    assert r.status_code == 400 and secret not in r.text and "unknown query parameter (not shown" in r.text
