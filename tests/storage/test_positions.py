"""Result positions in storage: migrations 0005 and 0007 on SQLite and PostgreSQL, and both write paths."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import inspect, select
from sqlalchemy import text as sql

from storage import db as dbmod
from storage.db import Database, alembic_config, current_revision, head_revision
from storage.models import assessments_table as A
from storage.results import ResultWriter, row_values, rows_json

from .helpers import check, new_run, row

POSITIONS = ("source_line", "source_end_line", "field_path", "field_line")
COLUMNS = ("source_column", "field_column")
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _columns(db: Database) -> set[str]:
    with db.engine.connect() as conn:
        return {c["name"] for c in inspect(conn).get_columns("assessments")}


def _positions(db: Database, run_id: str, names: tuple[str, ...] = POSITIONS) -> list[tuple]:
    with db.read() as conn:
        query = select(*(A.c[c] for c in names)).where(A.c.run_id == run_id).order_by(A.c.id)
        return [tuple(r) for r in conn.execute(query)]


def _downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_positions_round_trip_through_both_write_paths(db: Database) -> None:
    rows = [
        row("failing", 0, source="k8s/app.yaml#1", source_line=7, source_end_line=24, source_column=1,
            field_path='spec.template.spec.containers[0].securityContext["privileged"]', field_line=24,
            field_column=11),
        row("passing", 1, source="k8s/app.yaml#2#0", source_line=29, source_end_line=33, source_column=3),
        row("passing", 2, source="api"),  # live: no positions
    ]  # fmt: skip
    as_dicts, as_json = new_run(db), new_run(db)
    with ResultWriter(db, as_dicts) as writer:
        writer.add(check(), rows, AT, 3)
    # the path a run takes: tuples built in the check's worker, one JSON array per check
    # (SQLite unpacks it with json_each; PostgreSQL gets executemany)
    ResultWriter(db, as_json).add_json([(check(), rows_json([row_values(r) for r in rows]), len(rows), AT, 3)])
    expected = [
        (7, 24, 'spec.template.spec.containers[0].securityContext["privileged"]', 24),
        (29, 33, None, None),
        (None, None, None, None),
    ]
    assert _positions(db, as_dicts) == expected
    assert _positions(db, as_json) == expected
    assert _positions(db, as_dicts, COLUMNS) == _positions(db, as_json, COLUMNS) == [(1, 11), (3, None), (None, None)]


def test_migration_0005_adds_the_columns_and_keeps_every_older_row(db_url: str) -> None:
    with Database(db_url) as db:
        old_run = new_run(db)
        with ResultWriter(db, old_run) as writer:
            writer.add(check(), [row("failing", i) for i in range(3)], AT, 1)
        _downgrade(db, "0004_schema_info")
        assert current_revision(db) == "0004_schema_info"
        assert not set(POSITIONS) & _columns(db)
        with db.read() as conn:  # the rows are still there, without the columns
            assert conn.execute(sql("SELECT count(*) FROM assessments")).scalar_one() == 3
    dbmod._migrated.clear()
    with Database(db_url) as again:  # first use upgrades, as for any older database
        assert current_revision(again) == head_revision()
        assert set(POSITIONS) <= _columns(again)
        assert _positions(again, old_run) == [(None, None, None, None)] * 3
        new = new_run(again)
        with ResultWriter(again, new) as writer:
            writer.add(check(), [row("failing", 9, source="a.yaml#0", source_line=1, source_end_line=5)], AT, 1)
        assert _positions(again, new) == [(1, 5, None, None)]


def test_migration_0007_adds_the_columns_and_keeps_every_older_row(db_url: str) -> None:
    with Database(db_url) as db:
        old_run = new_run(db)
        with ResultWriter(db, old_run) as writer:
            writer.add(
                check(),
                [row("failing", i, source="a.yaml#0", source_line=2, source_end_line=9) for i in range(3)],
                AT,
                1,
            )
        _downgrade(db, "0006_result_archive")
        assert current_revision(db) == "0006_result_archive"
        assert not set(COLUMNS) & _columns(db)
        with db.read() as conn:
            assert conn.execute(sql("SELECT count(*) FROM assessments")).scalar_one() == 3
            contents = {c["name"] for c in inspect(conn).get_columns("result_contents")}
            assert not set(COLUMNS) & contents
    dbmod._migrated.clear()
    with Database(db_url) as again:
        assert current_revision(again) == head_revision()
        assert set(COLUMNS) <= _columns(again)
        assert _positions(again, old_run, ("source_line", *COLUMNS)) == [(2, None, None)] * 3
        new = new_run(again)
        with ResultWriter(again, new) as writer:
            located = row("failing", 9, source="a.yaml#0", source_line=1, source_column=3, field_line=4, field_column=7)
            writer.add(check(), [located], AT, 1)
        assert _positions(again, new, ("source_line", *COLUMNS)) == [(1, 3, 7)]
