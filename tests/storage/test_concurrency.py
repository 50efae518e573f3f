"""Concurrent writers never fail with "database is locked" (SQLite) and never lose rows."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from storage.db import Database
from storage.models import assessments_table as A
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, get_history, get_run, start_run

from .helpers import check, row

ROOT = Path(__file__).resolve().parents[2]


def _lifecycle(url: str, n: int, rows: int, batch: int, errors: list[BaseException], ids: list[str]) -> None:
    try:
        db = Database(url)  # an engine per thread: as independent as separate processes
        run = create_run(
            db, scope="full", pillars=[], check_ids=[], cluster_id=f"t{n}", source="thread", trigger="manual"
        )
        start_run(db, run["run_id"])
        with ResultWriter(db, run["run_id"], batch_size=batch) as writer:
            for start in range(0, rows, 50):
                writer.add(
                    check(f"SEC-{n:03d}"), [row("failing", i) for i in range(start, start + 50)], datetime.now(UTC), 1
                )
        finish_run(db, run["run_id"], "completed")
        ids.append(run["run_id"])
        db.dispose()
    except BaseException as exc:
        errors.append(exc)


def test_threads_write_concurrently(db_url: str) -> None:
    Database(db_url).engine.dispose()  # schema first; the process test covers the migration race
    errors: list[BaseException] = []
    ids: list[str] = []
    threads = [threading.Thread(target=_lifecycle, args=(db_url, n, 3000, 100, errors, ids)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(ids) == 4
    with Database(db_url) as db:
        for rid in ids:
            assert get_run(db, rid)["state"] == "completed"
            assert get_history(db, rid)["failing_count"] == 3000
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(A)).scalar_one() == 12000


def test_processes_write_concurrently_from_a_fresh_database(db_url: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.storage._writer_proc", db_url, str(go), "6000", "250"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    go.write_text("go")
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert "locked" not in err.lower(), err
        assert proc.returncode == 0, err
    run_ids = [out.strip() for out, _ in results]
    assert len(set(run_ids)) == 3
    with Database(db_url) as db:
        for rid in run_ids:
            assert get_history(db, rid)["total"] == 6000
        with db.read() as conn:
            assert conn.execute(select(func.count()).select_from(A)).scalar_one() == 18000
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
