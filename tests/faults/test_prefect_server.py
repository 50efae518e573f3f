"""The Prefect server dies mid-run, or is not there when a run starts.

kwa's results do not depend on Prefect: the run goes on, ends in its real state with every result
kept and one warning, and its flow run is reconciled once the API is back (``kwa runs reap``). A
Prefect API that does not answer when a run starts is a clear error within seconds (exit 4,
nothing stored).
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.test_process_signals import MANIFEST

pytestmark = pytest.mark.prefect


class OwnServer:
    """A Prefect server of this test's own, in its own home (this test kills it: not the session's)."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.home = home
        self._monkeypatch = monkeypatch
        self.url = ""

    def start(self) -> str:
        from flows.server import start_local_server

        with self._monkeypatch.context() as m:
            m.setenv("KWA_HOME", str(self.home))
            self.url = str(start_local_server(port=0).url)
        return self.url

    def kill(self) -> None:
        state = json.loads((self.home / "prefect-server" / "server.json").read_text())
        os.killpg(int(state["pid"]), signal.SIGKILL)  # no orderly shutdown: a crash

    def stop(self) -> None:
        from flows.server import stop_local_server

        with self._monkeypatch.context() as m:
            m.setenv("KWA_HOME", str(self.home))
            stop_local_server()

    def flow_run_state(self, flow_run_id: str) -> dict:
        with urllib.request.urlopen(f"{self.url}/flow_runs/{flow_run_id}", timeout=10) as resp:
            return json.loads(resp.read())["state"]


@pytest.fixture
def own_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    server = OwnServer(tmp_path / "own-prefect", monkeypatch)
    server.start()
    yield server
    server.stop()


def test_the_prefect_server_killed_mid_run(tmp_path: Path, own_server: OwnServer) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST)
    kwa = Kwa(tmp_path / "user", own_server.url)
    env = {"KWA_CHECK_MODULES": "tests.faults.slow_checks", "KWA_TEST_CHECK_SECONDS": "4"}
    proc = kwa.start("run", "--manifests", str(manifest), "--check", "SEC-921,SEC-922,SEC-001", **env)
    kwa.wait_for("SELECT phase = 'running' FROM runs", proc=proc)
    time.sleep(0.5)
    own_server.kill()
    killed_at = time.monotonic()
    out = kwa.finish(proc, timeout=120)
    after_kill = time.monotonic() - killed_at

    assert out.code == 0, out.text  # completed: every check executed, Prefect or not
    run = out.run()
    assert run["state"] == "completed" and run["error"] is None
    assert {r["check_id"] for r in out.results()} == {"SEC-921", "SEC-922", "SEC-001"}
    assert out.err.count("warning: the Prefect API at") == 1, out.err
    assert "kwa goes on without it" in out.err and "Error logging to API" not in out.err
    assert_no_traceback(out.out, out.err)
    assert run["prefect_sync"] == "pending"  # the flow run still says Running
    # The check's own 4 s, the 5 s grace and the machine's load; before: ~150 s, no result kept.
    assert after_kill < 45, f"the run took {after_kill:.1f}s to end after the server died"

    own_server.start()  # the API comes back (on another port: the reaper is told where)
    reaped = kwa("runs", "reap", PREFECT_API_URL=own_server.url)
    assert reaped.code == 0, reaped.text
    assert f"Prefect flow run {run['prefect_flow_run_id']}: Running -> Completed" in reaped.out
    assert reaped.run()["prefect_sync"] is None and reaped.run()["state"] == "completed"
    assert own_server.flow_run_state(run["prefect_flow_run_id"])["type"] == "COMPLETED"
    assert_no_traceback(reaped.out, reaped.err)


def test_a_dead_prefect_api_at_start_is_a_clear_error(kwa: Kwa) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/api"
    started = time.monotonic()
    out = kwa("run", "--demo", PREFECT_API_URL=dead)
    took = time.monotonic() - started
    assert out.code == 4, out.text
    assert f"error: the Prefect API at {dead} (from PREFECT_API_URL) is not answering; no run was started" in out.err
    assert out.runs() == []  # nothing stored
    assert_no_traceback(out.out, out.err)
    assert took < 60, f"{took:.1f}s"  # the 10 s health patience plus starting Python on a loaded machine


@pytest.mark.parametrize(
    ("health", "said"),
    [
        # PREFECT_API_URL without its /api, or some other web server: it answers, so "not
        # answering" would send the user looking for a dead server
        (False, "answers HTTP 404 to {url}/health: that is not a Prefect API (its URL ends in /api"),
        # a web server with a /health of its own passes the health probe; a Prefect API also names
        # its version (before: "RuntimeError: Failed to reach API" once a run row was made)
        (
            True,
            "answers {url}/health but gives HTTP 404 without a version at /admin/version, as a Prefect API "
            "would: that is not a Prefect API",
        ),
    ],
)
def test_a_url_that_answers_but_is_no_prefect_api_is_named_as_such(kwa: Kwa, health: bool, said: str) -> None:
    import http.server
    import threading

    class NotPrefect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not (health and self.path == "/health"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotPrefect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        out = kwa("run", "--demo", PREFECT_API_URL=url)
    finally:
        server.shutdown()
    assert out.code == 4, out.text
    assert f"error: the Prefect API at {url} (from PREFECT_API_URL) {said.format(url=url)}" in out.err
    assert out.runs() == []
    assert_no_traceback(out.out, out.err)


def test_a_local_prefect_server_that_cannot_start_is_a_clear_error(kwa_offline: Kwa) -> None:
    # kwa starts its own server when no API is configured; this one cannot open its database.
    out = kwa_offline("run", "--demo", PREFECT_SERVER_DATABASE_CONNECTION_URL="sqlite+aiosqlite:////proc/kwa-nope/p.db")
    assert out.code == 4, out.text
    assert "error: cannot start a local Prefect server: Prefect server exited with code" in out.err
    assert "unable to open database file" in out.err
    assert out.runs() == []
    assert_no_traceback(out.out, out.err)


@pytest.mark.parametrize("value", ["abc", "99999", "-1", "²", "42.0"])
def test_a_port_that_is_not_a_port_is_named_not_a_traceback(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.server import PrefectServerError, _preferred_port

    monkeypatch.setenv("KWA_PREFECT_PORT", value)
    with pytest.raises(PrefectServerError, match="KWA_PREFECT_PORT must be a TCP port number from 0 to 65535"):
        _preferred_port()
    for fine, port in (("4321", 4321), ("0", 0), (" ", 4200)):
        monkeypatch.setenv("KWA_PREFECT_PORT", fine)
        assert _preferred_port() == port
