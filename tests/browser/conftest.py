"""Fixtures of the browser tests: kwa as a user runs it, against the session's Prefect server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import Kwa


@pytest.fixture
def kwa(tmp_path: Path, prefect_api: str) -> Kwa:
    return Kwa(tmp_path, prefect_api)
