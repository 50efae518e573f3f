"""SIGINT, SIGTERM and SIGKILL sent to ``kwa run`` mid-run: the stored state, the exit code and the
Prefect state agree, finished checks keep their results, the concurrency slots come back."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.harness import Kwa, assert_no_traceback

pytestmark = pytest.mark.prefect

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""
# SEC-921 sleeps (it is still running when the signal comes); SEC-922 and SEC-001 finish at once.
SLOW = {"KWA_CHECK_MODULES": "tests.faults.slow_checks", "KWA_TEST_CHECK_SECONDS": "60"}
CHECKS = "SEC-921,SEC-922,SEC-001"
BOTH_QUICK_DONE = "SELECT count(DISTINCT check_id) = 2 FROM assessments"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(MANIFEST)
    return path


def prefect_view(flow_run_id: str, cluster_id: str) -> tuple[object, int]:
    """The flow run's state and the cluster's occupied concurrency slots, from the Prefect API."""
    from prefect.client.orchestration import get_client

    from flows.slots import limit_names

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(flow_run_id).state
        slots = client.read_global_concurrency_limit_by_name(limit_names(cluster_id)[0]).active_slots
    return state, slots


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_run_aborts_it_and_keeps_finished_checks(kwa: Kwa, manifest: Path, sig: signal.Signals) -> None:
    cluster = f"signal-{sig.name.lower()}"
    proc = kwa.start("run", "--manifests", str(manifest), "--check", CHECKS, "--cluster-id", cluster, **SLOW)
    kwa.wait_for(BOTH_QUICK_DONE, proc=proc)
    sent = time.monotonic()
    os.kill(proc.pid, sig)
    out = kwa.finish(proc, timeout=60)
    took = time.monotonic() - sent

    assert out.code == 5, out.text  # aborted
    run = out.run()
    assert (run["state"], run["error"]) == ("aborted", f"interrupted by {sig.name}")
    assert {r["check_id"] for r in out.results()} == {"SEC-922", "SEC-001"}  # SEC-921 never finished
    assert f"{sig.name} received: stopping the run" in out.err
    assert "state aborted" in out.out and f"interrupted by {sig.name}" in out.out
    assert_no_traceback(out.out, out.err)
    state, slots = prefect_view(run["prefect_flow_run_id"], cluster)
    assert state.is_cancelled() and state.message == f"interrupted by {sig.name}"
    assert slots == 0
    assert took < 20, f"the orderly stop took {took:.1f}s"


def test_sigkill_leaves_the_run_to_the_reaper(kwa: Kwa, manifest: Path) -> None:
    """kill -9: nothing in the process can run. ``kwa runs reap`` ends the run from this host's
    evidence even while Prefect is unreachable, and reconciles the flow run (and gives the slots
    back) on a later reap, once the API answers."""
    import socket

    cluster = "signal-sigkill"
    proc = kwa.start("run", "--manifests", str(manifest), "--check", CHECKS, "--cluster-id", cluster, **SLOW)
    kwa.wait_for(BOTH_QUICK_DONE, proc=proc)
    os.killpg(proc.pid, signal.SIGKILL)  # kwa and its check workers, as an OOM kill of the pod would
    killed = kwa.finish(proc, timeout=30)
    assert killed.code == -signal.SIGKILL
    assert killed.run()["state"] == "running"  # nothing could run: the reaper's job

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    blind = kwa("runs", "reap", PREFECT_API_URL=dead)
    assert blind.code == 0, blind.text
    assert "the Prefect API is not answering: reaping from this host's evidence only" in blind.err
    run = blind.run()
    assert run["state"] == "failed" and run["error"] == "runner lost: the process executing the run is gone"
    assert run["prefect_sync"] == "pending"
    assert_no_traceback(blind.out, blind.err)

    reaped = kwa("runs", "reap")
    assert reaped.code == 0, reaped.text
    assert f"Prefect flow run {run['prefect_flow_run_id']}: Running -> Crashed" in reaped.out
    run = reaped.run()
    assert run["state"] == "failed" and run["prefect_sync"] is None
    assert {r["check_id"] for r in reaped.results()} == {"SEC-922", "SEC-001"}
    assert_no_traceback(reaped.out, reaped.err)
    state, slots = prefect_view(run["prefect_flow_run_id"], cluster)
    assert state.is_crashed() and "runner lost" in state.message
    assert slots == 0  # released by the reaper, not left to the lease's expiry


def big_list(path: Path, items: int = 1_000_000) -> Path:
    """A ``kind: List`` JSON dump large enough to be read item by item, and to take a while."""
    item = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-%d","namespace":"ns-%d"},"data":{"k":"v"}}'
    body = ",".join(item % (i, i % 50) for i in range(items))
    path.write_text('{"apiVersion":"v1","kind":"List","items":[' + body + "]}")
    return path


@pytest.mark.parametrize("command", ["lint", "run"])
def test_a_signal_while_a_large_input_is_read_stops_the_reading(kwa: Kwa, tmp_path: Path, command: str) -> None:
    """Reading a million objects takes over ten seconds; SIGTERM meanwhile ends the command within about
    one, recorded as aborted, instead of after everything was read."""
    dump = big_list(tmp_path / "dump.json")
    if command == "lint":
        proc = kwa.start("lint", str(dump), "--fail-on", "none")
        time.sleep(2.5)  # started, and reading
    else:
        proc = kwa.start("run", "--manifests", str(dump), "--cluster-id", "signal-reading")
        kwa.wait_for("SELECT count(*) = 1 FROM runs WHERE state = 'running'", proc=proc)
        time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out = kwa.finish(proc, timeout=120)
    took = time.monotonic() - sent
    assert out.code == 5, out.text
    assert_no_traceback(out.out, out.err)
    if command == "lint":
        assert "kwa lint: aborted: interrupted by SIGTERM while reading the input; nothing was assessed" in out.err
    else:
        run = out.run()
        assert (run["state"], run["error"]) == ("aborted", "interrupted by SIGTERM")
        assert not out.results()
    assert took < 8, f"the stop took {took:.1f}s"
