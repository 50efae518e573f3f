"""A live run a worker executes publishes its Policy Reports when ``$KWA_PUBLISH_REPORTS`` is set
(flows/reports_publish.py), through ``kwa runs publish RUN_ID`` in a child process; ``kwa run``'s
own runs and manifest runs are left alone; ``kwa runs publish`` says what it did."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from bench.apidouble import ApiDouble, write_kubeconfig
from checks.sources.resolve import SourceSpec
from flows.reports_publish import command, publish_after_run
from tests.kwa.test_publish_reports import POD, _stored


def test_the_child_command_carries_the_runs_credentials() -> None:
    spec = SourceSpec("live", kubeconfig="/etc/kube/config", context="prod")
    assert command("run_1", spec)[-6:] == ["publish", "run_1", "--kubeconfig", "/etc/kube/config", "--context", "prod"]


@pytest.mark.parametrize(
    ("env", "trigger", "kind"),
    [
        (None, "schedule", "live"),
        ("1", "manual", "live"),
        ("1", "ci", "live"),
        ("1", "api", "manifests"),
        ("0", "api", "live"),
    ],
)
def test_only_a_workers_live_run_with_the_switch_on_publishes(
    monkeypatch: pytest.MonkeyPatch, env: str | None, trigger: str, kind: str
) -> None:
    if env is None:
        monkeypatch.delenv("KWA_PUBLISH_REPORTS", raising=False)
    else:
        monkeypatch.setenv("KWA_PUBLISH_REPORTS", env)
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("nothing should be started"))
    assert publish_after_run(object(), "run_1", SourceSpec(kind), trigger, logging.getLogger("kwa.test")) is False


@pytest.mark.prefect
def test_the_flow_of_an_api_run_publishes_after_it_ends(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    cluster = f"reports-{time.time_ns()}"
    dump = tmp_path / "cluster.json"
    dump.write_text(json.dumps({"kind": "List", "items": [POD]}))
    monkeypatch.setenv("KWA_PUBLISH_REPORTS", "1")
    with ApiDouble(str(dump), reports={}) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
        state = assessment(source={"kind": "live", "kubeconfig": kubeconfig}, checks=["SEC-001"],
                           cluster_id=cluster, trigger="api", return_state=True)  # fmt: skip
        stored = _stored(server)
    run = (summary_of_state(state) or {})["run"]
    assert run["state"] == "completed" and run["trigger"] == "api"
    names = {(o["kind"], o["metadata"]["name"]) for o in stored}
    assert names == {("PolicyReport", "kwa-shop"), ("Report", "kwa-shop")}
    assert all(o["metadata"]["labels"]["kwa.io/cluster"] == cluster for o in stored)


@pytest.mark.prefect
def test_kwa_runs_publish_of_a_stored_run_and_of_no_run(prefect_api: str, tmp_path: Path) -> None:
    from tests.faults.harness import Kwa

    kwa = Kwa(tmp_path, prefect_api)
    dump = tmp_path / "cluster.json"
    dump.write_text(json.dumps({"kind": "List", "items": [POD]}))
    with ApiDouble(str(dump), reports={}) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
        ran = kwa("run", "--kubeconfig", kubeconfig, "--check", "SEC-001", "-o", "json")
        assert ran.code == 0, ran.text
        assert _stored(server) == []  # not asked to publish
        run_id = ran.run()["run_id"]
        got = kwa("runs", "publish", run_id, "--kubeconfig", kubeconfig)
        stored = _stored(server)
    assert got.code == 0, got.text
    assert "published 1 openreports.io/v1alpha1 report(s)" in got.err
    assert {o["metadata"]["name"] for o in stored} == {"kwa-shop"}
    missing = kwa("runs", "publish", "run_20200101_000000_ffffff", "--kubeconfig", kubeconfig)
    assert missing.code == 7 and "Traceback" not in missing.err
