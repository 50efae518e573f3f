"""Kubeconfig credentials: tokens are one line (stripped, or refused by name), every credential the
selected user and cluster carry is registered for redaction before anything can quote it."""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import redaction
from checks.sources.live import ClusterConfigError, ClusterUnreachable, load_live
from tests.sources.fault_double import ApiDouble, Status
from tests.sources.k8s_double import write_kubeconfig

MARK = "Mk7x"  # every planted credential contains it, so a leak is easy to name


@pytest.fixture
def double() -> Iterator[ApiDouble]:
    with ApiDouble({"Namespace": [{"metadata": {"name": "shop"}}]}) as api:
        yield api


def kubeconfig(tmp_path: Path, double: ApiDouble, user: dict[str, Any], **cluster: Any) -> str:
    return write_kubeconfig(tmp_path / "kubeconfig", {"double": double.url}, user=user, cluster=cluster or None)


def load(path: str) -> Any:
    return load_live(path, request_timeout=5.0, kinds=["Namespace"])


def sent_authorization(double: ApiDouble) -> set[str]:
    return {r.headers.get("authorization", "") for r in double.requests}


def exec_plugin(tmp_path: Path, token: str) -> dict[str, Any]:
    """An exec credential plugin (a Python script) that prints an ExecCredential with ``token``."""
    script = tmp_path / "plugin.py"
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential"}
    credential["status"] = {"token": token}
    script.write_text(f"import json\nprint(json.dumps({credential!r}))\n", encoding="utf-8")
    return {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": sys.executable,
        "args": [str(script)],
        "interactiveMode": "Never",
        "env": [{"name": "PLUGIN_SECRET", "value": f"plugin-env-{MARK}-secret"}, {"name": "REGION", "value": "eu"}],
    }


# ---- tokens are one line ------------------------------------------------------------------------


def test_a_token_ending_in_a_newline_is_stripped(tmp_path: Path, double: ApiDouble) -> None:
    token = f"block-token-{MARK}-1\n"  # what `token: |` gives
    snap = load(kubeconfig(tmp_path, double, {"token": token}))

    assert [o.name for o in snap.of_kind("Namespace")] == ["shop"]
    assert sent_authorization(double) == {f"Bearer block-token-{MARK}-1"}


@pytest.mark.parametrize("inner", ["\r\n", "\n", "\r", "\x00"])
def test_a_token_with_a_line_break_inside_is_refused_by_name(tmp_path: Path, double: ApiDouble, inner: str) -> None:
    token = f"first-half-{MARK}{inner}second-half-{MARK}\n"
    path = kubeconfig(tmp_path, double, {"token": token})

    with pytest.raises(ClusterConfigError) as info:
        load(path)

    message = str(info.value)
    what = "a control character" if inner == "\x00" else "a line break"
    assert message == (
        f"kubeconfig {path}, context double: the token of user 'tester' (field token) contains {what} inside the "
        "value, so it cannot be sent in an HTTP header (a token is a single line; surrounding whitespace and line "
        "breaks are ignored)"
    )
    assert MARK not in message and "half" not in message
    assert double.requests == []  # refused before anything was sent


def test_a_token_file_is_stripped_and_checked(tmp_path: Path, double: ApiDouble) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"file-token-{MARK}-2\n", encoding="utf-8")
    snap = load(kubeconfig(tmp_path, double, {"tokenFile": str(token_file)}))
    assert snap.of_kind("Namespace") and sent_authorization(double) == {f"Bearer file-token-{MARK}-2"}

    token_file.write_text(f"file-token-{MARK}\r\nrest-{MARK}\n", encoding="utf-8")
    with pytest.raises(ClusterConfigError, match=rf"token of user 'tester' \(read from its tokenFile {token_file}\)"):
        load(kubeconfig(tmp_path, double, {"tokenFile": str(token_file)}))


def test_an_exec_plugin_token_is_stripped_registered_and_checked(tmp_path: Path, double: ApiDouble) -> None:
    snap = load(kubeconfig(tmp_path, double, {"exec": exec_plugin(tmp_path, f"exec-token-{MARK}-3\n")}))

    assert snap.of_kind("Namespace") and sent_authorization(double) == {f"Bearer exec-token-{MARK}-3"}
    assert redaction.redact(f"echo exec-token-{MARK}-3") == "echo ***"
    assert redaction.redact(f"env plugin-env-{MARK}-secret") == "env ***"

    with pytest.raises(ClusterConfigError) as info:
        load(kubeconfig(tmp_path, double, {"exec": exec_plugin(tmp_path, f"exec-{MARK}\nsplit-{MARK}")}))
    assert f"token of user 'tester' (returned by its exec plugin {sys.executable})" in str(info.value)
    assert MARK not in str(info.value)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        # what `aws eks get-token` says when the SSO session is over, with a secret in it
        (
            f"import sys\nsys.stderr.write('token expired; aws_secret_access_key=sk-{MARK}-9\\n')\nsys.exit(1)\n",
            "exec: process returned 1. token expired; aws_secret_access_key=***",
        ),
        ("print('not json')\n", "exec: failed to decode process output"),
        ("print('{}')\n", "exec: malformed response. missing key 'apiVersion'"),
    ],
)
def test_an_exec_plugin_that_gives_no_credential_stops_the_read_saying_why(
    tmp_path: Path, double: ApiDouble, body: str, why: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """The client logs the plugin's failure and carries on with no credential (every list then
    401). kwa stops before any request, naming the user, the plugin and its message, redacted."""
    script = tmp_path / "failing.py"
    script.write_text(body, encoding="utf-8")
    plugin = {**exec_plugin(tmp_path, "unused"), "args": [str(script)]}
    path = kubeconfig(tmp_path, double, {"exec": plugin})

    with pytest.raises(ClusterConfigError) as info:
        load(path)

    message = str(info.value)
    assert message.startswith(
        f"cannot use kubeconfig {path}, context double: the exec credential plugin of user 'tester' "
        f"({sys.executable}) gave no credential: {why}"
    )
    assert MARK not in message
    assert double.requests == []
    out, err = capfd.readouterr()
    assert MARK not in out + err and "exec:" not in out + err  # the client's log line is not printed


def test_an_exec_plugin_that_cannot_start_is_named(tmp_path: Path, double: ApiDouble) -> None:
    plugin = {**exec_plugin(tmp_path, "unused"), "command": "kwa-test-no-such-plugin"}
    with pytest.raises(ClusterConfigError) as info:
        load(kubeconfig(tmp_path, double, {"exec": plugin}))
    assert str(info.value).endswith(
        "the exec credential plugin of user 'tester' (kwa-test-no-such-plugin) gave no credential: "
        "[Errno 2] No such file or directory: 'kwa-test-no-such-plugin'"
    )


@pytest.mark.parametrize("bound", ["setting", "deadline"])
def test_an_exec_plugin_that_never_ends_is_stopped(
    tmp_path: Path, double: ApiDouble, monkeypatch: pytest.MonkeyPatch, bound: str
) -> None:
    """The client waits for its plugin without a limit (a login prompt nobody answers): kwa stops
    it at ``KWA_EXEC_PLUGIN_TIMEOUT`` or at the read's deadline, whichever is first."""
    script = tmp_path / "stuck.py"
    script.write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    plugin = {**exec_plugin(tmp_path, "unused"), "args": [str(script)]}
    path = kubeconfig(tmp_path, double, {"exec": plugin})
    if bound == "setting":
        monkeypatch.setenv("KWA_EXEC_PLUGIN_TIMEOUT", "1")
    started = time.monotonic()

    with pytest.raises(ClusterConfigError) as info:
        if bound == "setting":
            load(path)
        else:
            load_live(path, request_timeout=5.0, kinds=["Namespace"], deadline=time.monotonic() + 1.5)

    assert time.monotonic() - started < 6
    assert "gave no credential: exec: the plugin did not finish within" in str(info.value)
    assert "s and was stopped" in str(info.value)
    assert double.requests == []


def test_a_token_beside_a_failing_exec_plugin_is_used_as_the_client_does(tmp_path: Path, double: ApiDouble) -> None:
    plugin = {**exec_plugin(tmp_path, "unused"), "command": "kwa-test-no-such-plugin"}
    snap = load(kubeconfig(tmp_path, double, {"token": f"static-{MARK}", "exec": plugin}))
    assert snap.of_kind("Namespace") and sent_authorization(double) == {f"Bearer static-{MARK}"}


# ---- every credential is registered before it can be quoted -------------------------------------


def test_every_credential_of_the_selected_user_and_cluster_is_registered(tmp_path: Path, double: ApiDouble) -> None:
    key_pem = f"-----BEGIN EC PRIVATE KEY-----\nkey-line-{MARK}-4\n-----END EC PRIVATE KEY-----\n"
    key_file = tmp_path / "client.key"
    key_file.write_text(f"-----BEGIN EC PRIVATE KEY-----\nkeyfile-{MARK}-5\n-----END EC PRIVATE KEY-----\n")
    user = {
        "username": "admin",
        "password": f"basic-password-{MARK}-6",
        "client-key-data": base64.b64encode(key_pem.encode()).decode(),
        "client-certificate-data": base64.b64encode(f"cert-{MARK}-7".encode()).decode(),
        "client-key": str(key_file),
        "auth-provider": {
            "name": "other",
            "config": {"refresh-token": f"refresh-{MARK}-8", "client-secret": f"client-secret-{MARK}-9"},
        },
    }
    path = kubeconfig(tmp_path, double, user, **{"proxy-url": f"http://proxyuser:proxy-pass-{MARK}-10@127.0.0.1:9"})
    doc = Path(path).read_text().replace(double.url, double.url.replace("http://", f"http://srv:srv-pass-{MARK}-11@"))
    Path(path).write_text(doc)

    with pytest.raises(ClusterUnreachable) as info:  # nothing listens at the proxy
        load(path)
    assert "proxy" in str(info.value).lower() and MARK not in str(info.value), str(info.value)

    planted = [
        f"key-line-{MARK}-4",
        f"keyfile-{MARK}-5",
        f"basic-password-{MARK}-6",
        base64.b64encode(f"admin:basic-password-{MARK}-6".encode()).decode(),
        f"refresh-{MARK}-8",
        f"client-secret-{MARK}-9",
        f"proxy-pass-{MARK}-10",
        f"srv-pass-{MARK}-11",
        base64.b64encode(key_pem.encode()).decode(),
    ]
    for value in planted:
        for form in (value, repr(value.encode()), json.dumps(value), f"b'Bearer {value}\\r\\n'"):
            assert value not in redaction.redact(f"error: {form} ..."), form


def test_basic_auth_is_sent_and_its_header_registered(tmp_path: Path, double: ApiDouble) -> None:
    double.always("Namespace", Status(403, "Forbidden"))
    path = kubeconfig(tmp_path, double, {"username": "admin", "password": f"pw-{MARK}-12"})

    snap = load_live(path, request_timeout=5.0, kinds=["Namespace", "Pod"])

    header = f"Basic {base64.b64encode(f'admin:pw-{MARK}-12'.encode()).decode()}"
    assert sent_authorization(double) == {header}
    assert redaction.redact(f"Authorization={header}") == "Authorization=***"
    assert snap.unavailable["Namespace"] == "forbidden: core/namespaces (HTTP 403)"


# ---- proxies ------------------------------------------------------------------------------------


def test_a_socks5_proxy_url_is_used(tmp_path: Path, double: ApiDouble) -> None:
    """``proxy-url: socks5://…`` (a bastion's ``ssh -D``), as kubectl supports it: the lists go
    through the proxy. It needed PySocks, which kwa did not install: the run failed with "No
    module named 'socks'"."""
    from tests.sources.socks_double import SocksDouble

    with SocksDouble() as proxy:
        snap = load(kubeconfig(tmp_path, double, {"token": f"proxied-{MARK}"}, **{"proxy-url": proxy.url}))
    assert [o.name for o in snap.of_kind("Namespace")] == ["shop"]
    assert proxy.destinations and {port for _, port in proxy.destinations} == {int(double.url.rsplit(":", 1)[1])}
    assert sent_authorization(double) == {f"Bearer proxied-{MARK}"}


def test_a_socks5_proxy_that_is_down_is_a_clear_error(tmp_path: Path, double: ApiDouble) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as s:  # a port nothing listens on once closed
        url = f"socks5://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(ClusterUnreachable) as info:
        load(kubeconfig(tmp_path, double, {"token": f"proxied-{MARK}"}, **{"proxy-url": url}))
    message = str(info.value)
    assert message.startswith(f"cannot reach the Kubernetes API server at {double.url} through the proxy {url}: ")
    assert MARK not in message and "Traceback" not in message
    assert double.requests == []


@pytest.mark.parametrize(
    ("user", "cluster", "said"),
    [
        (
            {"client-certificate-data": f"!{MARK}x", "client-key-data": "a2V5"},
            {},
            "user 'tester': client-certificate-data",
        ),
        ({"token": "t", "client-key-data": f"{MARK}x"}, {}, "user 'tester': client-key-data"),
        ({"token": "t"}, {"certificate-authority-data": f"{MARK}=x"}, "cluster 'double': certificate-authority-data"),
    ],
)
def test_base64_the_client_cannot_decode_is_named_by_field(
    tmp_path: Path, double: ApiDouble, user: dict[str, Any], cluster: dict[str, Any], said: str
) -> None:
    """The client's binascii.Error came out as "cannot read kubeconfig …: Error"."""
    path = kubeconfig(tmp_path, double, user, **cluster)
    with pytest.raises(ClusterConfigError) as info:
        load(path)
    assert str(info.value) == f"kubeconfig {path}, context double: {said} is not valid base64 (its value is not shown)"
    assert MARK not in str(info.value)
    assert double.requests == []
