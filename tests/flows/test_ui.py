"""The link to a run's page in the Prefect UI (flows.ui): given only when that UI shows the run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows import ui


class FakePrefect:
    """A loopback HTTP server answering ``/ui-settings`` (and ``/api/health``) like a Prefect server."""

    def __init__(self, settings: dict | None, status: int = 200) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the http.server API names it
                fake.paths.append(self.path)
                if self.path == "/ui-settings" and fake.settings is not None:
                    body, code = json.dumps(fake.settings).encode(), fake.status
                elif self.path == "/api/health":
                    body, code = b"true", 200
                else:
                    body, code = b'{"detail": "Not Found"}', 404
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.settings, self.status, self.paths = settings, status, []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api = f"{self.base}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakePrefect]:
    server = FakePrefect({"api_url": "placeholder"})
    yield server
    server.close()


def test_same_api_ignores_loopback_spelling_and_trailing_slashes() -> None:
    assert ui.same_api("http://localhost:4200/api/", "http://127.0.0.1:4200/api")
    assert not ui.same_api("http://127.0.0.1:4200/api", "http://127.0.0.1:4201/api")
    assert not ui.same_api("http://127.0.0.1:4200/api", "https://127.0.0.1:4200/api")
    assert ui.same_api("/api", "https://prefect.example.com/api")  # a UI behind a proxy: relative
    assert ui.same_api("https://prefect.example.com/api", "https://prefect.example.com:443/api")
    assert not ui.same_api(None, "http://127.0.0.1:4200/api")


def test_a_ui_that_calls_this_api_gets_the_link(fake: FakePrefect, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.settings = {"api_url": fake.api.replace("127.0.0.1", "localhost")}
    monkeypatch.setenv("PREFECT_API_URL", fake.api)
    monkeypatch.delenv("PREFECT_UI_URL", raising=False)
    from flows.server import use_api

    use_api(fake.api)
    try:
        assert ui.run_page("1234-abcd") == f"{fake.base}/runs/flow-run/1234-abcd"
    finally:
        use_api(None)
    assert fake.paths == ["/ui-settings"]  # one request: nothing else is asked


def test_a_ui_that_calls_another_api_gets_no_link_but_a_warning(
    fake: FakePrefect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug this guards against: a UI whose /ui-settings names 4200 while the server listens elsewhere."""
    fake.settings = {"api_url": "http://127.0.0.1:4200/api"}
    monkeypatch.setenv("PREFECT_API_URL", fake.api)
    heard: list[str] = []
    from flows.server import use_api

    use_api(fake.api)
    try:
        assert ui.run_page("1234-abcd", warn=heard.append) is None
    finally:
        use_api(None)
    assert len(heard) == 1
    assert f"the Prefect UI at {fake.base} calls the API at http://127.0.0.1:4200/api, not {fake.api}" in heard[0]
    assert "PREFECT_UI_API_URL" in heard[0]  # not kwa's own server: it says how to configure that one


def test_no_link_without_a_ui_or_without_a_flow_run(fake: FakePrefect, monkeypatch: pytest.MonkeyPatch) -> None:
    fake.settings = None  # PREFECT_SERVER_UI_ENABLED=false: /ui-settings is a 404
    monkeypatch.setenv("PREFECT_API_URL", fake.api)
    from flows.server import use_api

    use_api(fake.api)
    try:
        assert ui.run_page("1234-abcd") is None
        assert ui.run_page(None) is None
    finally:
        use_api(None)
    assert ui.check_ui("http://127.0.0.1:9", "http://127.0.0.1:9/api", timeout=0.5).serves_ui is False  # nothing there


def test_a_ui_behind_authentication_is_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakePrefect({"detail": "Unauthorized"}, status=401)
    try:
        verdict = ui.check_ui(server.base, server.api)
    finally:
        server.close()
    assert verdict.serves_ui and verdict.problem is None
