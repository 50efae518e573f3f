"""The bulk statements of archiving a run, at the database driver's level.

Archiving moves a whole run at once (73,000 rows for a 10k-object cluster, ten times that at 100k),
from a cluster's 15th run on after every run. Through SQLAlchemy's result rows, its type processors
and its expanding ``IN`` parameters, reading the rows and looking their contents up cost about as
much as everything else together (at 10k: 2.5 s of which about 1.3 s was SQLAlchemy's own work), so
these three steps talk to the driver's cursor directly, in the caller's transaction, and give back
exactly what the SQLAlchemy path gave: ``details`` decoded by the same ``json.loads`` SQLAlchemy's
JSON type uses, ``assessed_at`` as an aware UTC datetime (tested equal on SQLite and PostgreSQL,
``tests/storage/test_archive_sql.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from storage.archive_codec import CONTENT
from storage.models import to_utc
from storage.result_rows import COLUMNS

__all__ = ["CHUNK", "content_ids_of", "insert_contents", "insert_rows", "run_rows"]

CHUNK = 5000  # values per IN (...) list: under every backend's parameter limit
_DETAILS = COLUMNS.index("details")
_AT = COLUMNS.index("assessed_at")


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _details_mark(conn: Connection) -> str:
    """The placeholder of ``details`` given as JSON text (PostgreSQL's column is JSONB)."""
    return _mark(conn) if conn.dialect.name == "sqlite" else f"CAST({_mark(conn)} AS JSONB)"


def _cursor(conn: Connection) -> Any:
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def run_rows(conn: Connection, run_id: str) -> list[tuple[Any, ...]]:
    """The run's ``assessments`` rows in :data:`~storage.result_rows.COLUMNS` order, in id order,
    with the values the ORM's column types would give."""
    columns = ", ".join("CAST(details AS TEXT)" if c == "details" else c for c in COLUMNS)
    sql = f"SELECT {columns} FROM assessments WHERE run_id = {_mark(conn)} ORDER BY id"
    cursor = _cursor(conn)
    try:
        cursor.execute(sql, (run_id,))
        raw = cursor.fetchall()
    finally:
        cursor.close()
    stamps: dict[Any, datetime | None] = {}
    rows = []
    for row in raw:
        at = row[_AT]
        stamp = stamps.get(at, _MISSING)
        if stamp is _MISSING:
            stamp = stamps[at] = _utc(at)
        details = row[_DETAILS]
        if details is not None or stamp is not at:
            row = (*row[:_DETAILS], None if details is None else json.loads(details), stamp, *row[_AT + 1 :])
        rows.append(row)
    return rows


_MISSING: Any = object()


def _utc(value: Any) -> datetime | None:
    """A stored timestamp as ``storage.models.UTCDateTime`` reads it: SQLite keeps naive UTC text."""
    if value is None:
        return None
    return to_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)


def content_ids_of(conn: Connection, cluster_id: str, digests: Sequence[str]) -> dict[str, int]:
    """digest → content id of those of ``digests`` the cluster's ``result_contents`` has."""
    found: dict[str, int] = {}
    cursor = _cursor(conn)
    mark = _mark(conn)
    try:
        for i in range(0, len(digests), CHUNK):
            chunk = list(digests[i : i + CHUNK])
            marks = ", ".join(mark for _ in chunk)
            cursor.execute(
                f"SELECT digest, id FROM result_contents WHERE cluster_id = {mark} AND digest IN ({marks})",
                (cluster_id, *chunk),
            )
            found.update(cursor.fetchall())
    finally:
        cursor.close()
    return found


def insert_rows(conn: Connection, values: Sequence[Sequence[Any]]) -> None:
    """Write ``assessments`` rows given in :data:`~storage.result_rows.COLUMNS` order, ``details``
    as JSON text (as a restored archive has them)."""
    if not values:
        return
    mark, details_mark = _mark(conn), _details_mark(conn)
    marks = ", ".join(details_mark if c == "details" else mark for c in COLUMNS)
    cursor = _cursor(conn)
    try:
        cursor.executemany(f"INSERT INTO assessments ({', '.join(COLUMNS)}) VALUES ({marks})", values)
    finally:
        cursor.close()


def insert_contents(conn: Connection, cluster_id: str, contents: Iterable[tuple[str, Sequence[Any]]]) -> None:
    """Add ``(digest, content)`` pairs (content in :data:`~storage.archive_codec.CONTENT` order) to
    the cluster's ``result_contents``; ``details`` is written as SQLAlchemy's JSON type writes it."""
    mark, details_mark = _mark(conn), _details_mark(conn)
    names = ("cluster_id", "digest", *CONTENT)
    marks = ", ".join(details_mark if n == "details" else mark for n in names)
    sql = f"INSERT INTO result_contents ({', '.join(names)}) VALUES ({marks})"
    last = len(CONTENT) - 1
    assert CONTENT[last] == "details"
    values = [
        (cluster_id, key, *content[:last], None if content[last] is None else json.dumps(content[last]))
        for key, content in contents
    ]
    if not values:
        return
    cursor = _cursor(conn)
    try:
        cursor.executemany(sql, values)
    finally:
        cursor.close()
