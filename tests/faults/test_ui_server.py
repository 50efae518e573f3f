"""Port 4200 is taken by someone else's Prefect: kwa's own server and its UI still show the user's runs.

Before: kwa started its server on a free port, but the server's ``GET /ui-settings`` still named
``http://127.0.0.1:4200/api``, so the printed UI showed the other server's runs and a 404 for the
user's. Here a foreign listener that looks like a Prefect server (healthy, with UI settings) holds
4200 while a user with a fresh home runs ``kwa run``.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.prefect_view import TWO_CRITICALS, flow_run_view

pytestmark = pytest.mark.prefect

FOREIGN_PORT = 4200
FOREIGN_API = f"http://127.0.0.1:{FOREIGN_PORT}/api"


class Foreign:
    """Another user's Prefect on 4200, as far as a browser or a careless client can tell."""

    def __init__(self) -> None:
        seen = self.paths = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the http.server API names it
                seen.append(self.path)
                body = {"/api/health": True, "/ui-settings": {"api_url": "http://127.0.0.1:4200/api"}}.get(self.path)
                data = json.dumps(body if body is not None else {"detail": "Not Found"}).encode()
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET  # the same answer for a POST: a flow run created here would show

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", FOREIGN_PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def port_4200_taken() -> Iterator[Foreign | None]:
    try:
        foreign = Foreign()
    except OSError:  # already taken by another process on this machine: the case under test all the same
        yield None
        return
    yield foreign
    foreign.close()


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def test_kwa_server_on_a_free_port_tells_its_ui_its_own_api(tmp_path: Path, port_4200_taken: Foreign | None) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text(TWO_CRITICALS)
    kwa = Kwa(tmp_path / "user")  # no PREFECT_API_URL: kwa starts its own server, as on a fresh machine
    if port_4200_taken is not None:
        # Worse than a fresh machine: kwa's own server once ran on 4200 and died, and the other
        # Prefect took the port. A health check alone would adopt it; kwa must see it is not its own.
        recorded = kwa.home / ".local/share/kwa/prefect-server/server.json"
        recorded.parent.mkdir(parents=True)
        recorded.write_text(json.dumps({"pid": 999_999_999, "port": FOREIGN_PORT, "url": FOREIGN_API}))
    try:
        out = kwa("run", "--manifests", str(manifest), "--check", "SEC-001,SEC-013", timeout=300)
        state = json.loads((kwa.home / ".local/share/kwa/prefect-server/server.json").read_text())
        ui = f"http://127.0.0.1:{state['port']}"
        # What the UI does on load: ask /ui-settings where its API is, then read the run from there.
        settings = _get(f"{ui}/ui-settings")
        run = out.run()
        view = flow_run_view(str(settings["api_url"]), run["prefect_flow_run_id"], tasks_expected=2)
    finally:
        stopped = kwa("server", "stop")
    assert_no_traceback(out.out, out.err, stopped.out, stopped.err)
    assert out.code == 0, out.text
    assert run["state"] == "completed"
    assert {r["check_id"] for r in out.results() if r["status"] == "failing"} == {"SEC-001", "SEC-013"}

    port = int(state["port"])
    assert port != FOREIGN_PORT
    assert settings["api_url"] == f"{ui}/api"  # its own API, not the one on 4200
    assert f"Started a local Prefect server at {ui} " in out.err
    match = re.search(r"Prefect UI: (\S+)", out.out)
    assert match and match.group(1) == f"{ui}/runs/flow-run/{run['prefect_flow_run_id']}"
    assert "warning" not in out.err
    # The UI finds the user's run there, with what it found.
    assert view.id == run["prefect_flow_run_id"] and view.state.name == "Completed"
    assert (view.tasks["SEC-001"].name, view.tasks["SEC-013"].name) == ("Failing", "Failing")
    if port_4200_taken is not None:  # nothing of the run went to the other server
        # (kwa asks it only whether it is alive and whose home it serves)
        assert port_4200_taken.paths and set(port_4200_taken.paths) <= {"/api/health", "/api/admin/settings"}
