"""A run that fills the disk still records how it ended: kwa keeps a small reserve file beside a
SQLite database and gives it up for the terminal write (storage/reserve.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import reserve
from storage.db import Database, StorageUnavailable
from storage.runs import create_run, fail_run, get_run, start_run
from tests.smallfs import small_tmpfs


@pytest.fixture
def tiny(tmp_path: Path):  # type: ignore[no-untyped-def]
    with small_tmpfs(tmp_path, "4m") as mount:
        yield mount


def _fill(directory: Path) -> None:
    """Take every free byte of the filesystem."""
    try:
        with open(directory / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass


def _run(db: Database) -> str:
    run = create_run(db, scope="full", pillars=None, check_ids=None, cluster_id="c", source="s", trigger="manual")
    start_run(db, run["run_id"])
    return run["run_id"]


def test_a_full_disk_still_takes_the_runs_end(tiny: Path) -> None:
    db = Database(f"sqlite:///{tiny / 'kwa.db'}")
    run_id = _run(db)
    assert (tiny / "kwa.db-reserve").stat().st_size == reserve.RESERVE_BYTES
    _fill(tiny)
    # A large error text needs new pages: without the reserve this write has nowhere to go.
    fail_run(db, run_id, "storage unavailable: database or disk is full " + "x" * 20_000)
    assert get_run(db, run_id)["state"] == "failed"
    assert not (tiny / "kwa.db-reserve").exists()


def test_without_the_reserve_the_same_write_fails(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the reserve is what makes the difference."""
    monkeypatch.setattr(reserve, "ensure", lambda db: None)
    db = Database(f"sqlite:///{tiny / 'kwa.db'}")
    run_id = _run(db)
    _fill(tiny)
    with pytest.raises(StorageUnavailable, match="full"):
        fail_run(db, run_id, "storage unavailable: database or disk is full " + "x" * 20_000)
    assert get_run(db, run_id)["state"] == "running"


def test_no_reserve_for_other_databases() -> None:
    assert reserve.reserve_path(Database("sqlite:///:memory:")) is None
    assert reserve.reserve_path(Database("postgresql://u:p@h/db")) is None
