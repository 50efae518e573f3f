"""Fixtures of the fault suite: ``kwa`` as a user runs it, with and without a Prefect server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import Kwa


@pytest.fixture
def kwa(tmp_path: Path, prefect_api: str) -> Kwa:
    """The real ``kwa`` command against the session's Prefect server, in a fresh home."""
    return Kwa(tmp_path, prefect_api)


@pytest.fixture
def kwa_offline(tmp_path: Path) -> Kwa:
    """The real ``kwa`` command for commands that need no Prefect server (queries, checks)."""
    return Kwa(tmp_path)
