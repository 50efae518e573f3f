"""Fixtures of the metrics tests: the CLI tests' small database (two clusters, four runs), a
collector over it, ``kwa`` in-process against it, and the real ``kwa`` with a Prefect server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from kwa.app import call
from kwa.metrics.collector import KwaCollector
from storage.db import Database
from tests.cli import builder
from tests.faults.harness import Kwa

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("metrics") / "kwa.db"
    builder.seeded(path).dispose()
    yield f"sqlite:///{path}"


@pytest.fixture
def seeded_db(seeded_url: str) -> Iterator[Database]:
    db = Database(seeded_url)
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def collector(seeded_db: Database) -> KwaCollector:
    return KwaCollector(lambda: seeded_db, cache_seconds=0)


@pytest.fixture
def kwa_in(seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``kwa_in(*argv) -> (exit code, stdout, stderr)`` in this process, against the seeded database."""
    monkeypatch.setenv("KWA_DATABASE_URL", seeded_url)
    monkeypatch.chdir(ROOT)

    def run(*argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        capsys.readouterr()
        code = call(list(argv), out=out)
        captured = capsys.readouterr()
        return code, out.getvalue() + captured.out, captured.err

    return run


@pytest.fixture
def kwa(tmp_path: Path, prefect_api: str) -> Kwa:
    """The real ``kwa`` command against the session's Prefect server, in a fresh home."""
    return Kwa(tmp_path, prefect_api)
