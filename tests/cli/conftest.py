"""The CLI tests share one small deterministic database (see builder.py), built once per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli import builder
from tests.cli.builder import in_process


@pytest.fixture(scope="session")
def cli_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("cli") / "kwa.db"
    builder.seeded(path).dispose()
    yield f"sqlite:///{path}"


@pytest.fixture
def kwa(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``kwa(*argv) -> (exit code, stdout, stderr)`` against the shared database, from the repo root."""
    return in_process(cli_db_url, monkeypatch, capsys)
