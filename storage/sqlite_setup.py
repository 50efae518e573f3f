"""How kwa sets up every SQLite connection: busy timeout, WAL, foreign keys, cache, and BEGIN.

Split from storage.db (which re-exports these names): the pragmas and the transaction hook are
SQLite-only and apply to each new connection, while storage.db is about which database to open
and its schema. pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN
(IMMEDIATE for writers, plain for readers, see ``_BEGIN_OPTION``) decides when the lock is taken.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

ENV_BUSY_TIMEOUT = "KWA_DB_BUSY_TIMEOUT"  # seconds a write waits for SQLite's lock before failing
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536  # page cache per connection (an upper bound; SQLite allocates on demand)
_BEGIN_OPTION = "kwa_sqlite_begin"


def busy_timeout_ms() -> int:
    """SQLite's busy timeout: ``KWA_DB_BUSY_TIMEOUT`` seconds when set (and valid), else 30 s."""
    raw = os.environ.get(ENV_BUSY_TIMEOUT, "").strip()
    try:
        seconds = float(raw) if raw else None
    except ValueError:
        seconds = None
    if seconds is None or not 0 <= seconds <= 3600:
        return SQLITE_BUSY_TIMEOUT_MS
    return int(seconds * 1000)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite: SQLAlchemy emits BEGIN itself (below).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {busy_timeout_ms()}")  # first: the others may wait
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")  # bulk inserts spill less
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get(_BEGIN_OPTION, "BEGIN IMMEDIATE"))
