"""Live API faults end to end: the real ``kwa run`` against a misbehaving API double.

Each test asserts the exit code, the run as stored, the results kept, what the user reads, and
that no traceback and no credential reached them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from tests.faults.harness import Kwa, Outcome, assert_absent, assert_no_traceback, sqlite_dump
from tests.sources.fault_double import ApiDouble, Hang, Oversized, Raw, Reset, Status, Trickle
from tests.sources.k8s_double import TOKEN, make_pod, write_kubeconfig

pytestmark = pytest.mark.prefect

OBJECTS = {
    "Pod": [make_pod("shop", "web-1", owner="web-abc"), make_pod("shop", "web-2", owner="web-abc")],
    "Deployment": [
        {
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        }
    ],
    "Namespace": [{"metadata": {"name": "shop"}}],
}
CHECKS = "SEC-001,SEC-021,REL-004,OPS-001"


@pytest.fixture
def double() -> Iterator[ApiDouble]:
    with ApiDouble({kind: list(items) for kind, items in OBJECTS.items()}) as api:
        yield api


def run_live(kwa: Kwa, url: str, *args: str, token: str = TOKEN, timeout: float = 180) -> Outcome:
    kubeconfig = write_kubeconfig(kwa.tmp / "kubeconfig", {"double": url}, token=token)
    return kwa("run", "--kubeconfig", kubeconfig, "--context", "double", *args, timeout=timeout)


def assert_clean(got: Outcome, *markers: str) -> None:
    assert_no_traceback(got.out, got.err)
    assert_absent([TOKEN, *markers], got.out, got.err, sqlite_dump(got.db_path))


def test_a_forbidden_kind_errors_its_checks_and_the_run_is_partial(kwa: Kwa, double: ApiDouble) -> None:
    double.always("Deployment", Status(403, "Forbidden", "deployments.apps is forbidden", echo=True))

    got = run_live(kwa, double.url, "--check", CHECKS)

    assert got.code == 3, got.text
    run = got.run()
    assert run["state"] == "partial"
    rows = got.results()
    sec001 = [r for r in rows if r["check_id"] == "SEC-001"]
    assert [r["status"] for r in sec001] == ["error"]
    assert "Deployment: forbidden: apps/deployments (HTTP 403)" in sec001[0]["message"]
    assert {r["status"] for r in rows if r["check_id"] == "SEC-021"} <= {"passing", "failing", "warning", "skipped"}
    assert "not listed Deployment: forbidden: apps/deployments (HTTP 403)" in got.out
    assert_clean(got)


def test_every_list_forbidden_fails_the_run(kwa: Kwa, double: ApiDouble) -> None:
    double.always("*", Status(403, "Forbidden", echo=True))

    got = run_live(kwa, double.url, "--check", CHECKS)

    assert got.code == 4, got.text
    run = got.run()
    assert run["state"] == "failed"
    message = (
        "the credentials could not list any of the 39 resources kwa reads (403 Forbidden on all): "
        "check the ClusterRole in deploy/kubernetes/assessor-rbac.yaml"
    )
    assert message in run["error"] and message in got.out
    assert got.results() == []
    assert_clean(got)


def test_many_faulty_kinds_each_stay_with_their_kind(kwa: Kwa, double: ApiDouble) -> None:
    """One run, a different fault on each of several kinds: each is reported on its own, the rest is assessed."""
    double.always("Deployment", Hang())  # cut at the 10 s request timeout
    double.always("Job", Status(500, "InternalError", echo=True))
    double.always("ConfigMap", Raw(200, b'{"kind": "ConfigMapList", "items": [{"meta'))
    double.always("Service", Reset())
    double.always("CronJob", Oversized(70 * 1024 * 1024))  # past the 64 MiB default, then smaller pages
    double.fault("Namespace", Status(429, "TooManyRequests", headers={"Retry-After": "1"}))

    got = run_live(kwa, double.url, "--check", CHECKS)

    assert got.code == 3, got.text
    assert got.run()["state"] == "partial"
    unavailable = {
        # The body echoed the token as its reason: not a StatusReason word, so the standard phrase is shown.
        "Job": "error: batch/jobs (HTTP 500 Internal Server Error)",
        "ConfigMap": "error: core/configmaps (invalid JSON response)",
        "CronJob": "too large: batch/cronjobs (a page of 5 exceeded the 64 MiB response limit)",
    }
    for kind, why in unavailable.items():
        assert f"not listed {kind}: {why}" in got.out, got.out
    assert "not listed Deployment: timeout: apps/deployments (no response within 10s)" in got.out or (
        "not listed Deployment: skipped: apps/deployments" in got.out
    )
    assert "not listed Service: unreachable: core/services (connection broken: " in got.out
    assert "Namespace" not in got.out.split("not listed", 1)[-1]  # throttled once, then listed
    assert len(double.requests_for("Namespace")) == 2
    ops = [r for r in got.results() if r["check_id"] == "SEC-001"]
    assert ops and all(r["status"] == "error" for r in ops)
    assert_clean(got)


def test_a_trickling_api_server_is_cut_by_the_run_timeout(kwa: Kwa, double: ApiDouble) -> None:
    """The issue's hang: bodies arriving one byte every 2 s held `kwa run` past 600 s."""
    double.always("*", Trickle(interval=2.0))
    started = time.monotonic()

    got = run_live(kwa, double.url, "--check", CHECKS, "--run-timeout", "30", timeout=120)

    elapsed = time.monotonic() - started
    assert got.code == 4, got.text
    run = got.run()
    assert run["state"] == "failed"
    # The run (from its start to its end as stored) keeps to its timeout; the command as a whole adds
    # starting Python and the Prefect flow run (5 s idle, 15+ s on a loaded machine).
    duration = (datetime.fromisoformat(run["completed_at"]) - datetime.fromisoformat(run["started_at"])).total_seconds()
    print(f"kwa run ended after {elapsed:.1f}s; the run took {duration:.1f}s")
    assert duration < 30 + 3, duration
    assert elapsed < 70, got.text
    assert "did not finish before the deadline" in run["error"], run["error"]
    assert "still being read (response body still arriving when the deadline passed)" in run["error"]
    assert "did not finish before the deadline" in got.out
    assert got.results() == []
    assert_clean(got)


def test_an_api_server_that_is_down(kwa: Kwa) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    got = run_live(kwa, f"http://127.0.0.1:{port}", "--check", CHECKS)

    assert got.code == 4, got.text
    run = got.run()
    assert run["state"] == "failed"
    assert f"cannot reach the Kubernetes API server at http://127.0.0.1:{port}: " in run["error"]
    assert "Connection refused" in run["error"] and "Connection refused" in " ".join(got.out.split())
    assert_clean(got)


def test_credentials_rejected(kwa: Kwa, double: ApiDouble) -> None:
    double.always("/version", Status(401, "Unauthorized", echo=True))

    got = run_live(kwa, double.url, "--check", CHECKS)

    assert got.code == 4, got.text
    assert (
        f"the Kubernetes API server at {double.url} rejected the credentials (HTTP 401 Unauthorized)"
        in (got.run()["error"])
    )
    assert double.requests_for("Pod") == []
    assert_clean(got)


def test_a_token_with_a_line_break_fails_by_name(kwa: Kwa, double: ApiDouble) -> None:
    """The issue's leak: `token: |` with CR/LF inside made the HTTP client quote the token."""
    token = "LineBreakTokenPartOne\r\nLineBreakTokenPartTwo\n"

    got = run_live(kwa, double.url, "--check", CHECKS, token=token)

    assert got.code == 4, got.text
    run = got.run()
    assert run["state"] == "failed"
    expected = (
        f"kubeconfig {kwa.tmp / 'kubeconfig'}, context double: the token of user 'tester' (field token) "
        "contains a line break inside the value, so it cannot be sent in an HTTP header"
    )
    assert expected in run["error"]
    assert "the token of user 'tester' (field token) contains a line break" in " ".join(got.out.split())
    assert double.requests == []
    assert_clean(got, "LineBreakTokenPartOne", "LineBreakTokenPartTwo")


def test_a_token_ending_in_a_newline_works(kwa: Kwa, double: ApiDouble) -> None:
    got = run_live(kwa, double.url, "--check", CHECKS, token=f"{TOKEN}\n")

    assert got.code == 0, got.text
    assert got.run()["state"] == "completed"
    assert {r.headers.get("authorization") for r in double.requests} == {f"Bearer {TOKEN}"}
    assert_clean(got)


def test_one_listable_kind_is_an_assessment(kwa: Kwa, double: ApiDouble) -> None:
    """Not NothingListable: what could be read is assessed (OPS-001 needs no listed kind)."""
    double.always("*", Status(403, "Forbidden"))
    double.always("Namespace", Raw(200, b'{"kind": "NamespaceList", "items": [{"metadata": {"name": "a"}}]}'))

    got = run_live(kwa, double.url, "--check", "SEC-001,OPS-001")

    assert got.code == 3, got.text
    assert got.run()["state"] == "partial" and got.run()["error"] is None
    assert {r["check_id"]: r["status"] for r in got.results() if r["check_id"] == "SEC-001"} == {"SEC-001": "error"}
    assert "not listed Pod: forbidden: core/pods (HTTP 403)" in got.out
    assert_clean(got)


def test_the_run_keeps_and_shows_what_it_cost_the_api_server(kwa: Kwa, double: ApiDouble) -> None:
    import json

    got = run_live(kwa, double.url, "--check", CHECKS)

    assert got.code == 0, got.text
    sent = len(double.requests)  # /version and every list call, one answer each
    summary = json.loads(got.run()["summary"])
    stats = summary["api_server"]
    assert stats["requests"] == sent and stats["retries"] == 0
    assert stats["bytes_wire"] == stats["bytes_read"] == double.bytes_sent
    assert stats["pages"] == sum(1 for r in double.requests if r.path != "/version" and r.path in double.paths)
    # The double is a 1.29 API server: consistent pages, no watch cache asked for.
    assert stats["watch_cache"] == "not used: API server 1.29.4 (before 1.33)"
    assert all("resourceVersion" not in r.params for r in double.requests)
    assert 1 <= stats["max_concurrency"] <= 4
    assert f"API server: {sent} requests, " in got.out
    run_id = got.run()["run_id"]
    detail = json.loads(kwa("query", "assessments", "get", run_id, "-o", "json").out)
    assert detail["run"]["summary"]["api_server"] == stats
    assert f"{sent} requests, " in kwa("query", "assessments", "get", run_id).out
    assert_clean(got)


def test_a_whole_list_not_in_time_is_read_in_pages_and_the_report_says_so(kwa: Kwa, double: ApiDouble) -> None:
    """An API server claiming 1.33 (so kwa asks for whole lists from the watch cache) whose Pods'
    whole answer does not start within kwa's 10 s read timeout, as a proxy that buffers answers
    would: the Pods are listed again in pages and the run completes, saying what happened."""
    import json

    double.version = {"major": "1", "minor": "33", "gitVersion": "v1.33.2"}
    double.cache_whole = True
    double.fault("Pod", Hang(seconds=12))

    got = run_live(kwa, double.url, "--check", CHECKS)

    assert got.code == 0, got.text
    assert got.run()["state"] == "completed"
    stats = json.loads(got.run()["summary"])["api_server"]
    assert stats["cache_timeouts"] == stats["paged_after_cache"] == ["Pod"]
    pods = [r.params for r in double.requests_for("Pod")]
    assert pods[0]["resourceVersion"] == "0" and "resourceVersion" not in pods[1]
    assert "watch cache timed out (Pod): plain pages from then on" in got.out
    assert "not listed" not in got.out
    assert_clean(got)
