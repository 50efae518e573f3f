"""Migration 0006 and archiving under concurrency: no result is lost, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import func, inspect, select

from storage import db as dbmod
from storage.archive import archive_run, compact
from storage.db import Database, alembic_config, current_revision, head_revision
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.summary import run_summary

from .test_archive import _rows, _run

ROOT = Path(__file__).resolve().parents[2]


def _downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _tables(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def _rows_there(db: Database, run_id: str) -> list[dict[str, Any]]:
    """The run's rows in the columns an older revision has (0007 added two)."""
    with db.engine.connect() as conn:
        there = {c["name"] for c in inspect(conn).get_columns("assessments")}
        query = select(*(c for c in A.c if c.name in there)).where(A.c.run_id == run_id).order_by(A.c.id)
        return [dict(r._mapping) for r in conn.execute(query)]


def _without(rows: list[dict[str, Any]], *names: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in names} for r in rows]


def test_upgrade_keeps_existing_results_and_downgrade_restores_archived_ones(db_url: str) -> None:
    with Database(db_url) as db:
        old, new = _run(db, 1), _run(db, 2)
        before = {r: _rows(db, r) for r in (old, new)}
        _downgrade(db, "0005_result_positions")  # a database as the previous kwa left it
        assert not {"result_contents", "archived_runs"} & _tables(db)
        columns = ("source_column", "field_column")
        assert {r: _rows_there(db, r) for r in (old, new)} == {r: _without(v, *columns) for r, v in before.items()}
    dbmod._migrated.clear()
    with Database(db_url) as db:  # first use upgrades it
        assert current_revision(db) == head_revision()
        # the upgrade itself moves nothing (the columns 0005 did not have come back empty)
        after = {r: _rows(db, r) for r in (old, new)}
        assert {r: _without(v, *columns) for r, v in after.items()} == {
            r: _without(v, *columns) for r, v in before.items()
        }
        assert {r[c] for v in after.values() for r in v for c in columns} == {None}
        before = after
        assert archive_run(db, old) == 80
        assert _rows(db, old) == []
        _downgrade(db, "0005_result_positions")  # going back puts the archived rows back first
        assert {r: _rows_there(db, r) for r in (old, new)} == {r: _without(v, *columns) for r, v in before.items()}
    dbmod._migrated.clear()


def test_compaction_while_others_read_and_write(db_url: str, tmp_path: Path) -> None:
    """A reader keeps asking for an old run's summary while it is archived and restored over and
    over, and another process writes a run meanwhile: every answer is the same, nothing locks up."""
    with Database(db_url) as db:
        runs = [_run(db, i) for i in range(3)]
        expected = run_summary(db, runs[0])
    stop = threading.Event()
    errors: list[BaseException] = []
    answers: list[dict[str, Any]] = []

    def reader() -> None:
        try:
            with Database(db_url) as rdb:
                while not stop.is_set():
                    answers.append(run_summary(rdb, runs[0]))
        except BaseException as exc:
            errors.append(exc)

    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.storage._writer_proc", db_url, str(go), "3000", "250"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    thread = threading.Thread(target=reader)
    thread.start()
    go.write_text("go")
    try:
        with Database(db_url) as db:
            for _ in range(6):
                archive_run(db, runs[0])  # archives it, or (restored by the reader) drops its rows again
                compact(db, keep=1)
    finally:
        stop.set()
        thread.join(timeout=120)
    out, err = writer.communicate(timeout=180)
    assert writer.returncode == 0, err
    assert errors == []
    assert answers and all(a == expected for a in answers)
    with Database(db_url) as db:
        assert run_summary(db, runs[0]) == expected
        with db.read() as conn:
            written = conn.execute(select(func.count()).select_from(A).where(A.c.run_id == out.strip())).scalar_one()
            assert written == 3000
            assert conn.execute(select(func.count()).select_from(AR)).scalar_one() >= 2
