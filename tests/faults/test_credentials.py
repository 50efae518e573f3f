"""No credential ever leaves kwa: the proof.

Marker credentials are planted in every kubeconfig field that can hold one (token, tokenFile,
username/password, client-key-data, client-certificate-data, an exec plugin's ExecCredential token
and environment, auth-provider tokens and secrets, userinfo in the server URL and in proxy-url),
and each is driven down a failure path (a token with CR/LF inside, TLS errors, connection refused,
401/403/5xx bodies that echo the Authorization header and the token back, malformed JSON quoting
the token, a 503 and a 429 that echo it too). The real ``kwa run`` runs once per context; then
stdout, stderr, kwa's database and the session Prefect server's database (logs, states, events,
artifacts) and its log file are searched for every marker.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.faults.harness import Kwa, Outcome, assert_absent, assert_no_traceback, sqlite_dump
from tests.sources.fault_double import ApiDouble, Raw, Status

pytestmark = pytest.mark.prefect

CHECKS = "SEC-001,SEC-021,OPS-001"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def jwt(signature: str) -> str:
    part = lambda doc: base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'RS256'})}.{part({'sub': 'kwa', 'iss': 'https://idp.example'})}.{signature}"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def double() -> Iterator[ApiDouble]:
    with ApiDouble({"Namespace": [{"metadata": {"name": "shop"}}]}) as api:
        echo = {"echo": True}
        api.always("Pod", Status(403, "Forbidden", "pods is forbidden", **echo))
        api.always("Deployment", Status(500, "InternalError", "etcd", **echo))
        api.always("Secret", Status(401, "Unauthorized", **echo))
        api.always("Service", Status(503, "ServiceUnavailable", headers={"Retry-After": "0"}, **echo))
        api.always("Job", Status(429, "TooManyRequests", headers={"Retry-After": "0"}, **echo))
        api.always("ConfigMap", Raw(200, b'{"kind": "ConfigMapList", "items": [ Authorization: "'))
        yield api


def plant(tmp: Path, url: str) -> tuple[str, dict[str, str], list[str]]:
    """A kubeconfig with one context per failure path; ``(path, {context: expected state}, markers)``."""
    token_file = tmp / "token"
    token_file.write_text("TokenFileMarkC3x9\n", encoding="utf-8")
    plugin = tmp / "plugin.py"
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential"}
    credential["status"] = {"token": "ExecTokenMarkE5q2"}
    plugin.write_text(f"import json\nprint(json.dumps({credential!r}))\n", encoding="utf-8")
    key_pem = "-----BEGIN EC PRIVATE KEY-----\nClientKeyMarkG7w1\n-----END EC PRIVATE KEY-----\n"
    cert_pem = "-----BEGIN CERTIFICATE-----\nClientCertMarkH8v2\n-----END CERTIFICATE-----\n"
    host = url.removeprefix("http://")
    refused = f"127.0.0.1:{closed_port()}"
    users = {
        "crlf": {"token": "CrlfTokenMarkA1k3\r\nCrlfTokenMarkA2k4\n"},
        "echo": {"token": "EchoTokenMarkB2m5"},
        "tokenfile": {"tokenFile": str(token_file)},
        "basic": {"username": "admin", "password": "BasicPassMarkD4n6"},
        "exec": {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": sys.executable,
                "args": [str(plugin)],
                "interactiveMode": "Never",
                "env": [{"name": "PLUGIN_API_TOKEN", "value": "ExecEnvMarkE6p3"}],
            }
        },
        "oidc": {
            "auth-provider": {
                "name": "oidc",
                "config": {
                    "id-token": jwt("OidcSignatureMarkF7r4"),
                    "refresh-token": "OidcRefreshMarkF8s5",
                    "client-secret": "OidcClientSecretMarkF9t6",
                    "client-id": "kwa",
                    "idp-issuer-url": "https://idp.example",
                },
            }
        },
        "tls": {"client-key-data": b64(key_pem), "client-certificate-data": b64(cert_pem), "token": "TlsTokenMarkG9u7"},
        "refused": {"token": "RefusedTokenMarkK1v8"},
    }
    clusters = {
        "double": {"server": url},
        "userinfo": {"server": f"http://SrvUserMarkI2w9:SrvPassMarkI3x1@{host}"},
        "tls": {"server": f"https://{host}"},  # a plain-HTTP listener: the TLS handshake fails
        "proxy": {"server": url, "proxy-url": f"http://ProxyUserMarkJ4y2:ProxyPassMarkJ5z3@{refused}"},
        "refused": {"server": f"http://{refused}"},
    }
    contexts = {  # context: (cluster, user, expected state)
        "crlf": ("double", "crlf", "failed"),  # refused before sending: names the field, not the value
        "echo": ("double", "echo", "partial"),  # every failing list echoes the token back
        "tokenfile": ("userinfo", "tokenfile", "partial"),
        "basic": ("double", "basic", "partial"),
        "exec": ("double", "exec", "partial"),
        "oidc": ("double", "oidc", "partial"),
        "tls": ("tls", "tls", "failed"),
        "proxy": ("proxy", "echo", "failed"),
        "refused": ("refused", "refused", "failed"),
    }
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in users.items()],
        "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, (c, u, _) in contexts.items()],
        "current-context": "echo",
    }
    path = tmp / "kubeconfig"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    markers = [
        "CrlfTokenMarkA1k3",
        "CrlfTokenMarkA2k4",
        "EchoTokenMarkB2m5",
        "TokenFileMarkC3x9",
        "BasicPassMarkD4n6",
        b64("admin:BasicPassMarkD4n6"),
        "ExecTokenMarkE5q2",
        "ExecEnvMarkE6p3",
        "OidcSignatureMarkF7r4",
        "OidcRefreshMarkF8s5",
        "OidcClientSecretMarkF9t6",
        "ClientKeyMarkG7w1",
        "ClientCertMarkH8v2",
        b64(key_pem),
        "TlsTokenMarkG9u7",
        "SrvUserMarkI2w9",
        "SrvPassMarkI3x1",
        "ProxyUserMarkJ4y2",
        "ProxyPassMarkJ5z3",
        "RefusedTokenMarkK1v8",
    ]
    return str(path), {n: state for n, (_, _, state) in contexts.items()}, markers


def prefect_database() -> Path:
    return Path(os.environ["KWA_HOME"]) / "prefect-server" / "home" / "prefect.db"


def wait_for_logs(flow_run_ids: list[str], timeout: float = 60.0) -> None:
    """Until the Prefect server has stored logs of every flow run (shipped when each process exited)."""
    deadline = time.monotonic() + timeout
    missing = list(flow_run_ids)
    while missing and time.monotonic() < deadline:
        con = sqlite3.connect(f"file:{prefect_database()}?mode=ro", uri=True)
        try:
            for run_id in list(missing):
                stored = {run_id, run_id.replace("-", "")}
                rows = con.execute("SELECT count(*) FROM log WHERE flow_run_id IN (?, ?)", tuple(stored)).fetchone()
                if rows[0]:
                    missing.remove(run_id)
        finally:
            con.close()
        time.sleep(0.5)
    assert not missing, f"the Prefect server stored no logs for {missing}"
    time.sleep(3)  # task-run states and events go through the server's event pipeline


def test_no_planted_credential_reaches_any_output_or_database(
    tmp_path: Path, prefect_api: str, double: ApiDouble
) -> None:
    kubeconfig, contexts, markers = plant(tmp_path, double.url)
    outcomes: dict[str, Outcome] = {}
    for context, state in contexts.items():
        kwa = Kwa(tmp_path / context, prefect_api)
        kwa.tmp.mkdir()
        got = kwa("run", "--kubeconfig", kubeconfig, "--context", context, "--check", CHECKS)
        outcomes[context] = got
        assert_no_traceback(got.out, got.err)
        assert got.run()["state"] == state, (context, got.text)
        assert_absent(markers, got.out, got.err, sqlite_dump(got.db_path))

    # What each failure path said (without the credential): the paths were really taken.
    errors: dict[str, Any] = {c: o.run()["error"] or "" for c, o in outcomes.items()}
    assert "the token of user 'crlf' (field token) contains a line break" in errors["crlf"]
    assert "TLS error" in errors["tls"] and "proxy error" in errors["proxy"]
    assert "Connection refused" in errors["refused"]
    for context in ("echo", "tokenfile", "basic", "exec", "oidc"):
        text = outcomes[context].out
        assert "not listed Pod: forbidden: core/pods (HTTP 403)" in text, (context, text)
        assert "not listed Deployment: error: apps/deployments (HTTP 500" in text
        assert "not listed Service: error: core/services (HTTP 503 Service Unavailable, still after 4 attempts)" in text
        assert "not listed Job: throttled: batch/jobs (HTTP 429 Too Many Requests, still after 4 attempts)" in text
        assert "not listed ConfigMap: error: core/configmaps (invalid JSON response)" in text
    # Every request carried the credential it should have (so the echoes did quote them).
    sent = {r.headers.get("authorization", "") for r in double.requests}
    expected_headers = {
        "Bearer EchoTokenMarkB2m5",
        "Bearer TokenFileMarkC3x9",
        f"Basic {b64('admin:BasicPassMarkD4n6')}",
        "Bearer ExecTokenMarkE5q2",
        f"Bearer {jwt('OidcSignatureMarkF7r4')}",
    }
    assert expected_headers <= sent, sent

    flow_runs = [o.run()["prefect_flow_run_id"] for o in outcomes.values()]
    wait_for_logs([r for r in flow_runs if r])
    prefect_text = sqlite_dump(prefect_database())
    server_log = prefect_database().parents[1] / "server.log"
    # The failed runs' errors did reach the Prefect server (its log table), just without the credentials.
    assert "TLS error" in prefect_text and "proxy error" in prefect_text and "contains a line break" in prefect_text
    assert_absent(markers, prefect_text, server_log.read_text(errors="replace") if server_log.exists() else "")
