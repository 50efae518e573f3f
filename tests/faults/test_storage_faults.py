"""kwa's database fails under a run: a full disk, a lock held past the busy timeout, a schema from a
newer kwa. The stored state, the exit code and the Prefect state agree (now, or after ``kwa runs
reap`` when the database could not take even the terminal state), and the message says what
happened."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from pathlib import Path

import pytest

from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.test_process_signals import MANIFEST, prefect_view
from tests.smallfs import small_tmpfs

pytestmark = pytest.mark.prefect


@pytest.fixture
def tiny_filesystem(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 3 MiB tmpfs: room for kwa's schema (and its write-ahead log), the reserve and some results,
    not for a demo run's."""
    with small_tmpfs(tmp_path, "3m") as mount:
        yield mount


def test_a_full_disk_fails_the_run_and_keeps_what_was_written(kwa: Kwa, tiny_filesystem: Path) -> None:
    db = tiny_filesystem / "kwa.db"
    out = kwa("run", "--demo", "--cluster-id", "disk-full", KWA_DATABASE_URL=f"sqlite:///{db}")
    out = dataclasses.replace(out, db_path=db)

    assert out.code == 4, out.text
    run = out.run()
    assert run["state"] == "failed"
    assert run["error"].startswith("storage unavailable: results could not be stored")
    assert "database or disk is full" in run["error"]
    assert "state failed" in out.out and "database or disk is full" in out.out
    assert 0 < len(out.results()) < 5000  # what fit is kept; the rest could not be
    assert_no_traceback(out.out, out.err)
    state, slots = prefect_view(run["prefect_flow_run_id"], "disk-full")
    assert state.is_failed() and "database or disk is full" in state.message
    assert slots == 0


def test_a_lock_held_past_the_busy_timeout(kwa: Kwa, tmp_path: Path) -> None:
    """The database cannot take the results nor the terminal state: the user is told, Prefect
    records the truth, and ``kwa runs reap`` stores it once the lock is gone."""
    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST)
    env = {"KWA_CHECK_MODULES": "tests.faults.slow_checks", "KWA_TEST_CHECK_SECONDS": "3", "KWA_DB_BUSY_TIMEOUT": "1"}
    proc = kwa.start("run", "--manifests", str(manifest), "--check", "SEC-921,SEC-922", "--cluster-id", "locked", **env)
    kwa.wait_for("SELECT count(*) FROM assessments WHERE check_id = 'SEC-922'", proc=proc)
    holder = sqlite3.connect(kwa.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction that never ends
    try:
        out = kwa.finish(proc, timeout=120)
        still = holder.execute("SELECT state FROM runs").fetchone()[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert out.code == 4, out.text  # the run's real state: failed
    assert still == "running"  # what the database could not be told
    assert "ended failed, but kwa's database did not take it" in out.err and "database is locked" in out.err
    assert "`kwa runs reap` records the run as failed" in out.err
    assert "state failed" in out.out and "not stored:" in out.out
    assert_no_traceback(out.out, out.err)
    run = out.run()
    state, slots = prefect_view(run["prefect_flow_run_id"], "locked")
    assert state.is_failed() and "database is locked" in state.message  # Prefect has the truth
    assert slots == 0

    reaped = kwa("runs", "reap")
    assert reaped.code == 0, reaped.text
    run = reaped.run()
    assert run["state"] == "failed" and run["error"] == state.message
    assert {r["check_id"] for r in reaped.results()} == {"SEC-922"}  # written before the lock: kept
    assert_no_traceback(reaped.out, reaped.err)


def test_a_database_migrated_by_a_newer_kwa(kwa: Kwa) -> None:
    from storage import db as dbmod

    url = f"sqlite:///{kwa.db_path}"
    dbmod.Database(url).engine.dispose()
    con = sqlite3.connect(kwa.db_path)
    con.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    con.execute("UPDATE kwa_schema SET kwa_version = '7.3.0', schema_revision = '0042_from_the_future'")
    con.commit()
    con.close()
    expected = (
        "this database was migrated by kwa 7.3.0 (schema 0042_from_the_future); this kwa "
        f"{dbmod.kwa_version()} knows schema up to {dbmod.head_revision()}: upgrade kwa"
    )
    for command in (("run", "--demo"), ("query", "assessments", "list"), ("runs", "list"), ("runs", "reap")):
        started = time.monotonic()
        out = kwa(*command)
        assert out.code == 4, (command, out.text)
        assert expected in out.err, (command, out.err)
        assert_no_traceback(out.out, out.err)
        assert time.monotonic() - started < 60
    assert os.path.getsize(kwa.db_path) > 0 and kwa.db_path.exists()
    con = sqlite3.connect(kwa.db_path)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0  # nothing was written
    assert con.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0042_from_the_future"
    con.close()
