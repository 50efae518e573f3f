"""After a run finishes, the runs it pushed out of the hot window are archived (storage.archive);
a failure there never fails the run."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from flows.steps import compact_after
from storage.db import Database
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, start_run


def _finished_run(db: Database, i: int) -> str:
    run = create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="manual")
    start_run(db, run["run_id"])
    check = {"id": "SEC-001", "pillar": "security", "name": "n", "severity": "low", "remediation": "r"}
    with ResultWriter(db, run["run_id"]) as writer:
        writer.add(check, [{"status": "passing", "object_name": f"o{i}-{k}"} for k in range(5)], _now(), 1)
    finish_run(db, run["run_id"], "completed")
    return run["run_id"]


def _now() -> datetime:
    return datetime.now(UTC)


def test_older_runs_are_archived_after_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KWA_HOT_RUNS", "2")
    with Database(f"sqlite:///{tmp_path / 'kwa.db'}") as db:
        runs = [_finished_run(db, i) for i in range(4)]
        compact_after(SimpleNamespace(db=db, run_id=runs[-1], logger=logging.getLogger("test")))  # type: ignore[arg-type]
        with db.read() as conn:
            assert sorted(conn.execute(select(AR.c.run_id)).scalars()) == sorted(runs[:2])
            assert conn.execute(select(func.count()).select_from(A)).scalar_one() == 10


def test_a_failing_compaction_is_logged_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kw: object) -> list[str]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("storage.archive.compact", broken)
    with Database(f"sqlite:///{tmp_path / 'kwa.db'}") as db:
        run_id = _finished_run(db, 0)
        with caplog.at_level(logging.WARNING):
            compact_after(SimpleNamespace(db=db, run_id=run_id, logger=logging.getLogger("test")))  # type: ignore[arg-type]
    assert "could not archive older runs' results: disk on fire" in caplog.text
