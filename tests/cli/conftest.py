"""The CLI tests share one small deterministic database (see builder.py), built once per module."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwa.app import call as main
from tests.cli import builder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("cli") / "kwa.db"
    builder.seeded(path).dispose()
    yield f"sqlite:///{path}"


@pytest.fixture
def kwa(cli_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``kwa(*argv) -> (exit code, stdout, stderr)`` against the shared database, from the repo root."""
    monkeypatch.setenv("KWA_DATABASE_URL", cli_db_url)
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("cli.formatters.sarif.tool_version", lambda: "0.0.0-test")

    def run(*argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        capsys.readouterr()
        code = main(list(argv), out=out)
        err = capsys.readouterr().err
        return code, out.getvalue(), err

    return run
