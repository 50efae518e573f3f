"""The test session never shares kwa's database with another test process."""

from __future__ import annotations

import os
from pathlib import Path


def test_each_test_process_has_its_own_database() -> None:
    """Under pytest-xdist the workers inherit the controller's environment; the database must still
    be this process's own (next to its own KWA_HOME), or one worker's reaper fails another's runs."""
    url = os.environ["KWA_DATABASE_URL"]
    assert url.startswith("sqlite:///")
    db_file = Path(url.removeprefix("sqlite:///"))
    assert db_file.parent == Path(os.environ["KWA_HOME"]).parent
