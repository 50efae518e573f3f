"""Archiving's driver-level statements (storage.archive_sql) give and write exactly what the ORM's
column types would, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from storage.archive_codec import CONTENT, content_of, digest
from storage.archive_sql import content_ids_of, insert_contents, run_rows
from storage.db import Database
from storage.models import assessments_table as A
from storage.models import contents_table as C
from storage.result_rows import COLUMNS
from storage.results import ResultWriter
from storage.runs import finish_run

from .helpers import check, new_run, row

T0 = datetime(2026, 11, 1, 6, 0, 0, 123456, tzinfo=UTC)
DETAILS = {"z": 1, "a": {"é": [1, 2.5, None, True]}, "big": 2**62, "s": "line\nbreak \u2028"}


def _run(db: Database) -> str:
    run_id = new_run(db)
    with ResultWriter(db, run_id, batch_size=7) as w:
        w.add(
            check("SEC-001"),
            [
                row(
                    "failing" if i % 3 == 0 else "passing",
                    i,
                    details=DETAILS if i % 4 == 0 else None,
                    container=None if i % 5 == 0 else "app",
                    source_line=i + 1 if i % 2 else None,
                    field_path="spec.containers[0]" if i % 2 else None,
                )
                for i in range(23)
            ],
            T0,
            12,
        )
        warnings = [row("warning", i) for i in range(5)]
        w.add(check("REL-001", "reliability", None), warnings, T0 + timedelta(seconds=1), None)
    finish_run(db, run_id, "completed")
    return run_id


def test_run_rows_are_the_orm_rows(db: Database) -> None:
    run_id = _run(db)
    with db.read() as conn:
        query = select(*(A.c[c] for c in COLUMNS)).where(A.c.run_id == run_id).order_by(A.c.id)
        expected = [tuple(r) for r in conn.execute(query)]
        got = run_rows(conn, run_id)
    assert len(got) == 28
    assert got == expected
    at = COLUMNS.index("assessed_at")
    assert {r[at].tzinfo for r in got} == {UTC}
    assert [digest(content_of(r)) for r in got] == [digest(content_of(r)) for r in expected]


def test_contents_are_written_and_found_as_the_orm_writes_them(db: Database) -> None:
    run_id = _run(db)
    with db.begin() as conn:
        rows = run_rows(conn, run_id)
        contents = {digest(content_of(r)): content_of(r) for r in rows}
        keys = sorted(contents)
        half = keys[: len(keys) // 2]
        insert_contents(conn, "fast", [(k, contents[k]) for k in half])
        conn.execute(
            insert(C),
            [{"cluster_id": "orm", "digest": k, **dict(zip(CONTENT, contents[k], strict=True))} for k in half],
        )
        fast = content_ids_of(conn, "fast", keys)
        assert sorted(fast) == half  # only what this cluster has
        assert content_ids_of(conn, "fast", []) == {}
        stored = {
            cluster: sorted(
                tuple(r)
                for r in conn.execute(
                    text(
                        f"SELECT digest, {', '.join(CONTENT[:-1])}, CAST(details AS TEXT) "
                        "FROM result_contents WHERE cluster_id = :c"
                    ),
                    {"c": cluster},
                )
            )
            for cluster in ("fast", "orm")
        }
    assert stored["fast"] == stored["orm"]
    assert any(r[-1] is not None for r in stored["fast"])


def test_many_digests_are_looked_up_in_chunks(db: Database) -> None:
    with db.begin() as conn:
        content = ("security", "SEC-001", "n", "high", "passing", *([None] * (len(CONTENT) - 5)))
        keys = [f"{i:032x}" for i in range(12_001)]
        insert_contents(conn, "c", [(k, content) for k in keys[::2]])
        found = content_ids_of(conn, "c", keys)
    assert sorted(found) == sorted(keys[::2])
    assert len(set(found.values())) == len(found)
