"""A run a worker executes pushes its cluster's metrics when ``$KWA_PUSHGATEWAY`` is set
(flows/metrics_push.py): through ``kwa metrics --push -`` in a child process, the URL on stdin;
``kwa run``'s own runs are left to it; a dead gateway is one warning without the credentials."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest

from flows.metrics_push import push_after_run
from storage.db import Database
from tests.cli import builder
from tests.flows.conftest import GOOD
from tests.metrics.helpers import parse, value
from tests.metrics.test_export import Receiver


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return builder.seeded(tmp_path_factory.mktemp("push") / "kwa.db")


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_workers_run_pushes_its_cluster(
    seeded: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver()
    monkeypatch.setenv("KWA_PUSHGATEWAY", f"http://127.0.0.1:{receiver.port}")
    try:
        with caplog.at_level(logging.INFO):
            assert push_after_run(seeded, "prod-eu", "schedule", logging.getLogger("kwa.test")) is True
    finally:
        receiver.close()
    assert [(r["method"], r["path"]) for r in receiver.requests] == [("PUT", "/metrics/job/kwa/cluster/prod-eu")]
    samples = parse(receiver.requests[0]["body"])
    assert value(samples, "kwa_last_run_state", cluster="prod-eu", state="partial") == 1.0
    assert "metrics of cluster prod-eu pushed" in caplog.text


@pytest.mark.parametrize("trigger", ["manual", "ci"])
def test_runs_kwa_run_ends_are_left_to_it(seeded: Database, monkeypatch: pytest.MonkeyPatch, trigger: str) -> None:
    receiver = Receiver()
    monkeypatch.setenv("KWA_PUSHGATEWAY", f"http://127.0.0.1:{receiver.port}")
    try:
        assert push_after_run(seeded, "prod-eu", trigger, logging.getLogger("kwa.test")) is False
    finally:
        receiver.close()
    assert receiver.requests == []


def test_no_pushgateway_no_push(seeded: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KWA_PUSHGATEWAY", raising=False)
    assert push_after_run(seeded, "prod-eu", "schedule", logging.getLogger("kwa.test")) is False


def test_a_dead_gateway_is_one_warning_without_the_credentials(
    seeded: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KWA_PUSHGATEWAY", f"http://ops:pa55-word-77@127.0.0.1:{_dead_port()}")
    with caplog.at_level(logging.INFO):
        assert push_after_run(seeded, "prod-eu", "api", logging.getLogger("kwa.test")) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "metrics not pushed to the Pushgateway" in warnings[0].getMessage()
    assert "127.0.0.1" in caplog.text and "pa55-word-77" not in caplog.text


@pytest.mark.prefect
def test_the_flow_of_an_api_run_pushes_after_it_ends(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    cluster = f"push-{time.time_ns()}"
    path = tmp_path / "app.yaml"
    path.write_text(GOOD)
    receiver = Receiver()
    monkeypatch.setenv("KWA_PUSHGATEWAY", f"http://127.0.0.1:{receiver.port}")
    try:
        state = assessment(source={"kind": "manifests", "paths": [str(path)]}, checks=["SEC-001"],
                           cluster_id=cluster, trigger="api", return_state=True)  # fmt: skip
    finally:
        receiver.close()
    run = (summary_of_state(state) or {})["run"]
    assert run["state"] == "completed" and run["trigger"] == "api"
    assert [(r["method"], r["path"]) for r in receiver.requests] == [("PUT", f"/metrics/job/kwa/cluster/{cluster}")]
    samples = parse(receiver.requests[0]["body"])
    assert value(samples, "kwa_last_run_state", cluster=cluster, state="completed") == 1.0
