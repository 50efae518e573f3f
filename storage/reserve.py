"""Room for a run's last word when the disk fills up.

A run that fills the disk while writing results must still store how it ended (``failed``, with
the reason), or its row stays ``running`` until someone runs ``kwa runs reap``. SQLite needs a few
free pages for that one update (its write-ahead log grows by a frame per page changed), and on a
full disk there are none. So, for a SQLite file database, kwa keeps a small ballast file beside it
(``<database>-reserve``), made when a run is created; when a terminal write fails because the disk
is full, the ballast is deleted and the write is tried once more. The next run makes it again if
there is room. PostgreSQL manages its own disk: nothing is kept for it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from storage.db import Database

RESERVE_BYTES = 256 * 1024  # a terminal update and its history row are a few pages; generous margin
log = logging.getLogger("kwa.storage")


def reserve_path(db: Database) -> Path | None:
    """``<database>-reserve`` for a SQLite file database, else None."""
    database = db.url.database or ""
    if not db.is_sqlite or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().with_name(Path(database).name + "-reserve")


def ensure(db: Database) -> None:
    """Make the ballast file if it is missing; never fails (no room is not an error here)."""
    path = reserve_path(db)
    if path is None or path.exists():
        return
    try:
        with open(path, "wb") as handle:
            # Real blocks (not a sparse file): deleting it must give space back.
            handle.write(b"\0" * RESERVE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        log.debug("no room for the storage reserve %s: %s", path, exc)
        path.unlink(missing_ok=True)


def release(db: Database) -> bool:
    """Delete the ballast file; True when it existed (so a retry may now succeed)."""
    path = reserve_path(db)
    if path is None or not path.exists():
        return False
    try:
        path.unlink()
    except OSError:
        return False
    log.warning("the disk is full: released kwa's storage reserve (%s) to record the run's end", path)
    return True


def is_disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text
