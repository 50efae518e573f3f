"""A run's summary reads the per-check counts stored with its history row (migration 0009) instead
of grouping every result again; it must say exactly what grouping the rows says, on both backends,
whether the writer counted the rows or the database did, and runs stored before 0009 (no counts)
are summarised from their rows as before."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from storage.background_writer import BackgroundWriter
from storage.db import Database
from storage.models import history_table as H
from storage.result_rows import rows_json
from storage.results import ResultWriter
from storage.row_tally import count_values
from storage.runs import finish_run, get_history, get_run
from storage.summary import run_summary
from tests.storage.helpers import new_run
from tests.storage.test_write_counts import _checks


def _write(db: Database, checks: list, counted: bool) -> str:
    run_id = new_run(db)
    writer = BackgroundWriter(ResultWriter(db, run_id))
    for check, values in checks:
        if counted:  # as a lane hands them over: JSON rows and their counts
            writer.submit(check, rows_json(values), datetime.now(UTC), 1, len(values), count_values(values))
        else:  # the database counts them when the run ends
            writer.submit(check, values, datetime.now(UTC), 1)
    writer.drain()
    writer.close()
    finish_run(db, run_id, "completed", tallies=writer.tallies())
    return run_id


def _stored(db: Database, run_id: str) -> Any:
    with db.read() as conn:
        return conn.execute(select(H.c.check_counts).where(H.c.run_id == run_id)).scalar()


def _without_counts(db: Database, run_id: str) -> dict[str, Any]:
    """The summary as it reads for a run stored before migration 0009: from the rows."""
    with db.begin() as conn:
        conn.execute(update(H).where(H.c.run_id == run_id).values(check_counts=None))
    return run_summary(db, run_id)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("counted", [True, False], ids=["writer-counted", "database-counted"])
def test_the_summary_from_stored_counts_is_the_summary_from_the_rows(db_url: str, seed: int, counted: bool) -> None:
    db = Database(db_url)
    try:
        run_id = _write(db, _checks(random.Random(seed)), counted)
        stored = _stored(db, run_id)
        assert stored is not None and stored, "no counts stored with the history row"
        from_counts = run_summary(db, run_id)
        from_rows = _without_counts(db, run_id)
        assert from_counts == from_rows
        names = {c["check_id"]: c["check_name"] for c in from_counts["checks"]}
        assert names and all(name.startswith("check ") for name in names.values())
    finally:
        db.dispose()


def test_stored_counts_are_never_shown_as_history(tmp_path) -> None:
    """They are what the summary reads; the history a person or a client reads is unchanged."""
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    run_id = _write(db, _checks(random.Random(1)), True)
    history = get_history(db, run_id)
    assert history is not None and "check_counts" not in history
    assert "check_counts" not in (get_run(db, run_id) or {})
    assert "check_counts" not in str(run_summary(db, run_id))


def test_a_check_with_two_names_is_counted_from_the_rows(tmp_path) -> None:
    """Rows of one check under two names (never written by kwa, but possible in a database edited
    by hand): no stored counts, and the summary keeps the rows' MIN(check_name)."""
    db = Database(f"sqlite:///{tmp_path / 'kwa.db'}")
    checks = _checks(random.Random(2))
    check, values = checks[0]
    checks.append(({**check, "name": "another name"}, values[:3] or values))
    run_id = _write(db, [c for c in checks if c[1]], True)
    assert _stored(db, run_id) is None
    assert run_summary(db, run_id) == _without_counts(db, run_id)


@pytest.mark.parametrize("seed", range(3))
def test_failing_objects_are_counted_as_the_databases_distinct_count(db_url: str, seed: int) -> None:
    """The summary counts each check's distinct failing objects from the failing rows (found by the
    status index) instead of a ``COUNT(DISTINCT …) GROUP BY check_id`` that read every row."""
    from sqlalchemy import func

    from storage.models import assessments_table as A
    from storage.summary import _failing_objects

    db = Database(db_url)
    try:
        rnd = random.Random(seed)
        checks = _checks(rnd)
        run_id = _write(db, checks, True)
        key = (
            func.coalesce(A.c.object_kind, "") + "/" + func.coalesce(A.c.object_namespace, "") + "/"
            + func.coalesce(A.c.object_name, "")
        )  # fmt: skip
        with db.read() as conn:
            sql = dict(
                conn.execute(
                    select(A.c.check_id, func.count(func.distinct(key)))
                    .where(A.c.run_id == run_id, A.c.status == "failing")
                    .group_by(A.c.check_id)
                ).all()
            )
            assert sql and _failing_objects(conn, run_id) == sql
    finally:
        db.dispose()
