"""Fixtures for the live-source tests: dead and silent loopback servers, an unconfigured environment."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A loopback listener that accepts connections (kernel backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


@pytest.fixture
def no_default_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No $KUBECONFIG, an empty HOME, no in-cluster env: nothing configured unless the test adds it."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_PORT", raising=False)
    return home


@pytest.fixture(autouse=True)
def _kmock_lists_namespaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Work around kmock 0.8 failing to parse ``GET /api/v1/namespaces`` (the Namespace list).

    kmock's ``parse_path`` reads ``namespaces`` as the start of ``namespaces/<ns>/<plural>`` and
    raises ``ValueError`` when nothing follows, before any reaction is consulted, so the double
    answers 500 for the one list path every cluster has. Parse it as the ``namespaces`` resource.
    """
    from kmock._internal import parsing

    original = parsing.parse_path

    def parse_path(path: str) -> parsing.ParsedPath:
        try:
            return original(path)
        except ValueError:
            parts = path.strip("/").split("/")
            if parts[-1] != "namespaces" or len(parts) not in (3, 4):
                raise
            group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
            return parsing.ParsedPath(group, version, "namespaces", None, None, None)

    monkeypatch.setattr(parsing, "parse_path", parse_path)
