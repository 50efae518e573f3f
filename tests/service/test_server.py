"""End to end: ``kwa serve``'s application under a real uvicorn server on a loopback port, a
token created with ``kwa tokens create``, and no token in any log line; the ``kwa serve`` and
``kwa tokens`` commands themselves."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from kwa.app import call
from kwa.commands.serve import is_loopback, uvicorn_config
from kwa.service.app import create_app
from storage.db import Database
from storage.tokens import TOKEN_SHAPE
from tests.cli import builder
from tests.cli.builder import RUN_2

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    db = builder.seeded(tmp_path / "kwa.db")
    monkeypatch.setenv("KWA_DATABASE_URL", str(db.url.render_as_string(hide_password=False)))
    yield db
    db.dispose()


def _create(scope: str, capsys: pytest.CaptureFixture[str], name: str = "e2e") -> str:
    capsys.readouterr()
    assert call(["tokens", "create", "--scope", scope, "--name", name]) == 0
    out = capsys.readouterr()
    token = out.out.rstrip("\n").splitlines()[-1]
    assert TOKEN_SHAPE.fullmatch(token), out.out
    assert "shown once" in out.err and token not in out.err
    return token


@pytest.fixture
def server(database: Database) -> Iterator[str]:
    port = _free_port()
    srv = uvicorn.Server(uvicorn_config(create_app(database), "127.0.0.1", port))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_end_to_end_over_a_socket_and_no_token_in_the_log(
    database: Database, server: str, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from redaction import install

    token = _create("read", capsys)
    install()  # as every kwa command does before anything runs (kwa.app.main)
    caplog.set_level(logging.DEBUG)
    with httpx.Client(base_url=server, timeout=30) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        assert http.get("/api/v1/runs").status_code == 401
        ok = http.get("/api/v1/runs", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and ok.json()["pagination"]["total"] == 4
        run = http.get(f"/api/v1/runs/{RUN_2}", headers={"Authorization": f"Bearer {token}"}).json()
        assert run["run"]["run_id"] == RUN_2
        assert http.post(f"/api/v1/runs/{RUN_2}/abort", headers={"Authorization": f"Bearer {token}"}).status_code == 403
        # a token where it does not belong: in the query string, in a path, a wrong one in the header
        http.get("/api/v1/runs", params={"token": token})
        http.get(f"/api/v1/runs/{token}")
        http.get("/api/v1/runs", headers={"Authorization": f"Bearer {token[:-2]}xx"})
    secret = token.split("_", 2)[2]
    # the service's log: everything but the test's own HTTP client (httpx, httpcore)
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records if not r.name.startswith("http"))
    assert "GET /api/v1/runs 200" in logged  # the access log is there ...
    assert token.split("_")[1] in logged  # ... naming the token by its public id
    assert secret not in logged and secret[:-2] not in logged  # never the secret


def test_tokens_list_and_revoke(database: Database, capsys: pytest.CaptureFixture[str]) -> None:
    token = _create("run", capsys, name="ci pipeline")
    token_id = token.split("_")[1]
    assert call(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert token_id in listing and "ci pipeline" in listing and token.split("_", 2)[2] not in listing
    assert call(["tokens", "revoke", token_id]) == 0
    assert "revoked" in capsys.readouterr().out
    assert call(["tokens", "list", "-o", "json"]) == 0
    assert '"revoked_at": null' not in capsys.readouterr().out
    assert call(["tokens", "revoke", "nope"]) == 7
    assert call(["tokens", "create", "--scope", "root"]) == 2


LOOPBACK = [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("[::1]", True), ("localhost", True)]
ELSEWHERE = [("0.0.0.0", False), ("192.168.1.5", False), ("::", False), ("example.com", False)]


@pytest.mark.parametrize(("host", "loopback"), LOOPBACK + ELSEWHERE)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_no_auth_is_refused_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["serve", "--host", "0.0.0.0", "--no-auth"]) == 2
    assert "--no-auth is refused on 0.0.0.0" in capsys.readouterr().err


def test_the_redaction_layer_masks_a_token_wherever_it_is_logged(
    database: Database, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Should anything log a token (uvicorn's access log, a library's debug line), kwa's redaction
    layer, installed by every ``kwa`` command, keeps its id and masks its secret."""
    from redaction import install

    token = _create("admin", capsys)
    install()
    caplog.set_level(logging.INFO)
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /api/v1/runs?token=%s HTTP/1.1" 200', token)
    logging.getLogger("kwa.service").warning("Authorization: Bearer %s", token)
    logging.getLogger("kwa.service").warning("a request sent %s in its path", token)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert token.split("_", 2)[2] not in logged
    assert f"kwa_{token.split('_')[1]}_***" in logged


@pytest.mark.prefect
def test_kwa_serve_as_a_process(database: Database, prefect_api: str, tmp_path: Path) -> None:
    """``python -m kwa serve`` itself: starts, answers on loopback, refuses without a token,
    stops on SIGTERM; what it printed and logged holds no token."""
    import os
    import signal
    import subprocess
    import sys

    from storage.tokens import create_token

    _, token = create_token(database, "read", "process test")
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "PREFECT_API_URL": prefect_api}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kwa", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/runs").status_code == 401
        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/runs", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["pagination"]["total"] == 4
        httpx.get(f"http://127.0.0.1:{port}/api/v1/runs/{token}")  # a token pasted into a path
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    printed = log.read_text()
    assert f"kwa serve on http://127.0.0.1:{port}" in printed and "bearer tokens required" in printed
    assert "kwa.service: GET /api/v1/runs 200" in printed  # the access log, naming the token by id
    assert f"kwa_{token.split('_')[1]}_***" in printed  # the pasted token, masked
    assert token.split("_", 2)[2] not in printed


def test_tokens_create_as_a_process_prints_a_usable_token(database: Database, tmp_path: Path) -> None:
    """``python -m kwa tokens create`` with stdout to a pipe (a script capturing it): the token on
    the last line is whole, not masked by the redacting stream under the closed-pipe guard."""
    import os
    import subprocess
    import sys

    from storage.tokens import verify_token

    made = subprocess.run(
        [sys.executable, "-m", "kwa", "tokens", "create", "--scope", "run", "--name", "piped"],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.rstrip("\n").splitlines()[-1]
    assert TOKEN_SHAPE.fullmatch(token), made.stdout
    assert verify_token(database, token)["scope"] == "run"
    assert token not in made.stderr
