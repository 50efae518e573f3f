"""Streaming, batched persistence of check results into ``assessments``.

Result ids
----------
``asm_<YYYYMMDD>_<HHMMSS>_<checkslug>_<runhex><seq>``, for example
``asm_20260216_103045_sec001_a7f3b9000000`` for the first result of run
``run_20260216_103045_a7f3b9``:

* ``YYYYMMDD_HHMMSS`` and ``runhex`` (6 hex digits) come from the run id; for a run id of another
  shape the timestamp is the run's ``requested_at`` (UTC) and ``runhex`` the first 6 hex digits of
  the SHA-1 of the run id;
* ``checkslug`` is the check id lower-cased with everything but ``[a-z0-9]`` removed
  (``SEC-001`` → ``sec001``);
* ``seq`` is a per-run sequence number in lower-case hex, zero-padded to at least 6 digits
  (16,777,216 results before it grows a digit; it never wraps).

A writer starts its sequence at the number of rows the run already has, so ids stay unique when a
later writer appends to the same run; there must be only one writer per run at a time (one
writer is thread-safe and meant to be shared by all of a run's threads).

Writing
-------
Rows are buffered as tuples and written ``batch_size`` at a time with one ``executemany`` of a
prepared ``INSERT`` per batch, in its own write transaction (``BEGIN IMMEDIATE`` on SQLite). The
same transaction re-reads the run's state (``FOR SHARE`` on PostgreSQL, so a concurrent
``finish_run`` waits for the batch) and refuses to add rows to a finished run
(:class:`RunNotWritable`).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.enums import TERMINAL
from storage.models import UTCDateTime
from storage.models import assessments_table as A
from storage.models import runs_table as R
from storage.runs import RunNotFound

__all__ = ["COLUMNS", "ResultWriter", "RunNotWritable", "check_slug", "result_id_prefix"]

COLUMNS = (
    "id",
    "run_id",
    "pillar",
    "check_id",
    "check_name",
    "severity",
    "status",
    "object_kind",
    "object_namespace",
    "object_name",
    "container",
    "message",
    "remediation",
    "reason",
    "source",
    "details",
    "assessed_at",
    "duration_ms",
)
_RUN_ID = re.compile(r"^run_(\d{8})_(\d{6})_([0-9a-f]{6})$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_TERMINAL = frozenset(s.value for s in TERMINAL)
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class RunNotWritable(RuntimeError):
    """Results were sent for a run that has already finished."""


def check_slug(check_id: str) -> str:
    return _NOT_SLUG.sub("", str(check_id).lower()) or "check"


def result_id_prefix(run_id: str, requested_at: datetime | None = None) -> tuple[str, str]:
    """``("asm_<YYYYMMDD>_<HHMMSS>_", "<runhex>")`` for a run (see the module docstring)."""
    m = _RUN_ID.match(run_id)
    if m:
        return f"asm_{m.group(1)}_{m.group(2)}_", m.group(3)
    stamp = f"{requested_at:%Y%m%d_%H%M%S}" if requested_at is not None else "00000000_000000"
    return f"asm_{stamp}_", hashlib.sha1(run_id.encode()).hexdigest()[:6]


class ResultWriter:
    """Buffer results of one run and write them in batches (thread-safe; a context manager)."""

    def __init__(self, db: Database, run_id: str, batch_size: int = 5000) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.db = db
        self.run_id = run_id
        self.batch_size = int(batch_size)
        self._lock = threading.Lock()  # buffer and sequence
        self._write_lock = threading.Lock()  # one batch write at a time, in order
        self._buffer: list[tuple[Any, ...]] = []
        self._written = 0
        self._closed = False
        self._prefixes: dict[str, str] = {}

        with db.read() as conn:
            run = conn.execute(select(R.c.requested_at, R.c.state).where(R.c.run_id == run_id)).first()
            if run is None:
                raise RunNotFound(run_id)
            existing = conn.execute(select(func.count()).select_from(A).where(A.c.run_id == run_id)).scalar_one()
        self._seq = int(existing)
        self._stamp, self._runhex = result_id_prefix(run_id, run.requested_at)

        dialect = db.engine.dialect
        self._sqlite = dialect.name == "sqlite"
        self._ts = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
        if self._sqlite:
            marks = ", ".join("?" for _ in COLUMNS)
            self._check_sql = "SELECT state FROM runs WHERE run_id = ?"
        else:
            marks = ", ".join("CAST(%s AS JSONB)" if c == "details" else "%s" for c in COLUMNS)
            self._check_sql = "SELECT state FROM runs WHERE run_id = %s FOR SHARE"
        self._insert_sql = f"INSERT INTO assessments ({', '.join(COLUMNS)}) VALUES ({marks})"

    # -- public -------------------------------------------------------------------------------

    @property
    def written(self) -> int:
        """Rows committed so far by this writer."""
        return self._written

    @property
    def pending(self) -> int:
        """Rows buffered, not yet written."""
        return len(self._buffer)

    def add(
        self,
        check: Mapping[str, Any],
        rows: Sequence[Mapping[str, Any]],
        assessed_at: datetime,
        duration_ms: int | None,
    ) -> int:
        """Queue one check's rows (dicts shaped like ``Result.as_row()``); returns how many.

        ``check`` gives ``id``, ``pillar``, ``name``, ``severity`` and ``remediation`` (the default
        for rows without their own). Writes a batch as soon as ``batch_size`` rows are waiting.
        """
        n = len(rows)
        if not n:
            return 0
        check_id = str(check["id"])
        pillar, name, severity = str(check["pillar"]), str(check["name"]), str(check["severity"])
        default_remediation = check.get("remediation")
        prefix = self._prefixes.get(check_id)
        if prefix is None:
            prefix = self._prefixes[check_id] = f"{self._stamp}{check_slug(check_id)}_{self._runhex}"
        ts = self._ts(assessed_at)  # once per check: UTC, in the driver's form
        run_id = self.run_id
        encode = _dumps  # JSON text on every backend (PostgreSQL casts it to JSONB)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"ResultWriter for run {run_id} is closed")
            start = self._seq
            self._seq += n
        batch = [
            (
                f"{prefix}{seq:06x}",
                run_id,
                pillar,
                check_id,
                name,
                severity,
                r["status"],
                r.get("object_kind"),
                r.get("object_namespace"),
                r.get("object_name"),
                r.get("container"),
                r.get("message"),
                r.get("remediation") or default_remediation,
                r.get("reason"),
                r.get("source"),
                None if (d := r.get("details")) is None else encode(d),
                ts,
                duration_ms,
            )
            for seq, r in zip(range(start, start + n), rows, strict=True)
        ]
        with self._lock:
            self._buffer.extend(batch)
            full = len(self._buffer) >= self.batch_size
        if full:
            self._write(full_batches_only=True)
        return n

    def flush(self) -> int:
        """Write everything buffered; returns the rows written by this call."""
        return self._write(full_batches_only=False)

    def close(self) -> None:
        """Flush and refuse further rows."""
        try:
            self.flush()
        finally:
            with self._lock:
                self._closed = True

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()  # results gathered before an error are still worth keeping

    # -- internals ----------------------------------------------------------------------------

    def _write(self, *, full_batches_only: bool) -> int:
        done = 0
        with self._write_lock:
            with self._lock:
                if full_batches_only:
                    cut = len(self._buffer) - len(self._buffer) % self.batch_size
                else:
                    cut = len(self._buffer)
                pending, self._buffer = self._buffer[:cut], self._buffer[cut:]
            size = self.batch_size
            for i in range(0, len(pending), size):
                chunk = pending[i : i + size]
                try:
                    self._insert(chunk)
                except BaseException:
                    with self._lock:  # keep what was not written, so a later flush can retry
                        self._buffer[:0] = pending[i:]
                    raise
                done += len(chunk)
                self._written += len(chunk)
        return done

    def _insert(self, chunk: list[tuple[Any, ...]]) -> None:
        if self._sqlite:
            self._insert_sqlite(chunk)
            return
        with self.db.begin() as conn:
            self._check_run(conn.exec_driver_sql(self._check_sql, (self.run_id,)).scalar())
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.executemany(self._insert_sql, chunk)
            finally:
                cursor.close()

    def _insert_sqlite(self, chunk: list[tuple[Any, ...]]) -> None:
        """One batch on the raw sqlite3 connection, foreign-key enforcement off for its duration.

        The per-row foreign-key probe costs about a fifth of the insert time and proves nothing
        here: the same ``BEGIN IMMEDIATE`` transaction has just read the run (so it exists and
        nobody can delete it before the commit). ``PRAGMA foreign_keys`` only takes effect
        outside a transaction, hence the raw connection.
        """
        try:
            raw = self.db.engine.raw_connection()
        except OperationalError as exc:
            raise self.db._unavailable(exc) from exc
        try:
            con = raw.driver_connection
            con.execute("PRAGMA foreign_keys = OFF")
            try:
                con.execute("BEGIN IMMEDIATE")
                try:
                    self._check_run(con.execute(self._check_sql, (self.run_id,)).fetchone())
                    con.executemany(self._insert_sql, chunk)
                    con.execute("COMMIT")
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
            finally:
                con.execute("PRAGMA foreign_keys = ON")
        except sqlite3.OperationalError as exc:
            raise self.db._unavailable(exc) from exc
        finally:
            raw.close()

    def _check_run(self, state: Any) -> None:
        if isinstance(state, tuple):
            state = state[0]
        if state is None:
            raise RunNotFound(self.run_id)
        if state in _TERMINAL:
            raise RunNotWritable(f"run {self.run_id} is {state}: it takes no more results")
