"""The schema revision of a database and of kwa's migrations, read without importing Alembic.

Every kwa process that opens its database checks that the schema is at the newest revision
(``storage.db``). Alembic answers both questions, but importing it (its DDL modules, Mako) costs
0.1-0.3 s of every ``kwa run``'s start-up, and it is needed only when there is something to
migrate. These read the same two facts directly: the one row of ``alembic_version``, and the head
of the chain the migration files declare (``revision = "…"`` / ``down_revision = "…"``). Whatever
they cannot read plainly (several rows, a branch, an unusual file) is None, and the caller asks
Alembic as before; tests hold both answers equal (``tests/storage/test_revisions.py``).
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

VERSION_TABLE = "alembic_version"  # Alembic's default; storage/migrations/env.py keeps it
_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"\s*$', re.MULTILINE)
_DOWN = re.compile(r'^down_revision\s*=\s*(?:None|"([^"]+)")\s*$', re.MULTILINE)
_heads: dict[Path, str | None] = {}


class Unsure(Exception):
    """Not plainly readable: ask Alembic."""


def current_revision(conn: Connection) -> str | None:
    """The database's revision (None: never migrated); :class:`Unsure` when it has several."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).fetchall()
    if len(rows) > 1:
        raise Unsure("more than one head in the version table")
    return str(rows[0][0]) if rows else None


def head_of(versions: Path) -> str | None:
    """The one head of the migration files in ``versions`` (None: not plainly one chain)."""
    if versions not in _heads:
        _heads[versions] = _read_head(versions)
    return _heads[versions]


def _read_head(versions: Path) -> str | None:
    revisions: set[str] = set()
    parents: set[str] = set()
    try:
        files = sorted(versions.glob("*.py"))
        for path in files:
            source = path.read_text(encoding="utf-8")
            found, down = _REVISION.findall(source), _DOWN.findall(source)
            if len(found) != 1 or len(down) != 1:
                return None
            revisions.add(found[0])
            if down[0]:
                parents.add(down[0])
    except OSError:
        return None
    heads = revisions - parents
    if len(revisions) != len(files) or not parents <= revisions or len(heads) != 1:
        return None
    return heads.pop()
