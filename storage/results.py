"""Streaming, batched persistence of check results into ``assessments``.

The row format and the result-id scheme (``asm_<YYYYMMDD>_<HHMMSS>_<checkslug>_<runhex><seq>``)
are in :mod:`storage.result_rows`, :class:`BackgroundWriter` in :mod:`storage.background_writer`;
both are re-exported here.

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

The writer also counts the rows per check as :func:`storage.scores.tally` would
(:func:`storage.row_tally.count_values`), for ``finish_run`` (:meth:`ResultWriter.tallies`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from storage.background_writer import BackgroundWriter
from storage.db import Database
from storage.enums import TERMINAL
from storage.models import UTCDateTime
from storage.models import assessments_table as A
from storage.models import runs_table as R
from storage.result_rows import COLUMNS, ROW_FIELDS, check_slug, result_id_prefix, row_values, rows_json
from storage.row_tally import add_counts, count_values, counts_unsure, new_counts, tallies_from_counts
from storage.runs import RunNotFound
from storage.scoring import Tally

__all__ = [
    "COLUMNS",
    "ROW_FIELDS",
    "BackgroundWriter",
    "ResultWriter",
    "RunNotWritable",
    "check_slug",
    "result_id_prefix",
    "row_values",
    "rows_json",
]

_TERMINAL = frozenset(s.value for s in TERMINAL)


_SQLITE_HAS_JSON_OPERATORS = sqlite3.sqlite_version_info >= (3, 38, 0)  # ->> and json_each
# Each row's fields from its JSON array by position, in ROW_FIELDS order (a missing remediation
# is the check's).
_SQLITE_ROW_FIELDS = ", ".join(
    f"coalesce(value->>{i}, ?8)" if name == "remediation" else f"value->>{i}" for i, name in enumerate(ROW_FIELDS)
)
_SQLITE_JSON_INSERT = (
    f"INSERT INTO assessments ({', '.join(COLUMNS)}) "
    "SELECT printf('%s%06x', ?1, ?2 + key), ?3, ?4, ?5, ?6, ?7, "
    f"{_SQLITE_ROW_FIELDS}, ?9, ?10 FROM json_each(?11)"
)


class RunNotWritable(RuntimeError):
    """Results were sent for a run that has already finished."""


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
        self._counts: dict[tuple[str, str, str], list[Any]] = {}
        self._names: dict[str, set[str]] = {}  # the check names its rows carry, per check

        with db.read() as conn:
            run = conn.execute(select(R.c.requested_at, R.c.state).where(R.c.run_id == run_id)).first()
            if run is None:
                raise RunNotFound(run_id)
            existing = conn.execute(select(func.count()).select_from(A).where(A.c.run_id == run_id)).scalar_one()
        self._seq = int(existing)
        # Counts cover the run only if this writer wrote all of its rows and counted each of them.
        self._counting = self._seq == 0
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
        # One statement per check: SQLite unpacks the check's rows from one JSON array itself, in
        # C and without holding the GIL, so the writer thread barely competes with evaluation.
        self._json_sql = _SQLITE_JSON_INSERT if self._sqlite and _SQLITE_HAS_JSON_OPERATORS else None

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
        return self.add_values(check, [row_values(r) for r in rows], assessed_at, duration_ms)

    def add_values(
        self,
        check: Mapping[str, Any],
        values: Sequence[tuple[Any, ...]],
        assessed_at: datetime,
        duration_ms: int | None,
        counts: Sequence[Any] | None = None,
    ) -> int:
        """:meth:`add` for rows already in :data:`ROW_FIELDS` order (see :func:`row_values`), e.g.
        built where the check ran, so this process only numbers and writes them. ``counts``: the
        rows' :func:`~storage.row_tally.count_values`, when the caller has them already."""
        n = len(values)
        if not n:
            return 0
        check_id = str(check["id"])
        pillar, name, severity = str(check["pillar"]), str(check["name"]), str(check["severity"])
        self._count((check_id, pillar, severity), count_values(values) if counts is None else counts, name)
        default_remediation = check.get("remediation")
        prefix = self._prefix(check_id)
        ts = self._ts(assessed_at)  # once per check: UTC, in the driver's form
        run_id = self.run_id
        start = self._reserve(n)
        batch = [
            (
                f"{prefix}{seq:06x}",
                run_id,
                pillar,
                check_id,
                name,
                severity,
                status,
                kind,
                namespace,
                obj_name,
                container,
                message,
                remediation or default_remediation,
                reason,
                source,
                line,
                column,
                end_line,
                field_path,
                field_line,
                field_column,
                details,
                ts,
                duration_ms,
            )
            for seq, (
                status,
                kind,
                namespace,
                obj_name,
                container,
                message,
                remediation,
                reason,
                source,
                line,
                column,
                end_line,
                field_path,
                field_line,
                field_column,
                details,
            ) in zip(range(start, start + n), values, strict=True)
        ]
        with self._lock:
            self._buffer.extend(batch)
            full = len(self._buffer) >= self.batch_size
        if full:
            self._write(full_batches_only=True)
        return n

    def add_json(self, items: Sequence[tuple[Any, ...]]) -> int:
        """Write several checks' rows, each given as a JSON array of :data:`ROW_FIELDS` arrays
        (``(check, rows_json, row_count, assessed_at, duration_ms)``, optionally followed by the
        rows' :func:`~storage.row_tally.count_values`), in one transaction.

        Whatever is buffered is written first, so ids keep their order. On SQLite (3.38+) the
        database unpacks the JSON itself; elsewhere the rows are decoded and written as by
        :meth:`add_values`. Returns the rows written.
        """
        self.flush()
        if self._json_sql is None:
            total = 0
            for check, rows_json, _, assessed_at, duration_ms, *counts in items:
                values = [tuple(r) for r in orjson.loads(rows_json)]
                total += self.add_values(check, values, assessed_at, duration_ms, counts[0] if counts else None)
            self.flush()
            return total
        statements = []
        counted = []
        total = 0
        for check, rows_json, count, assessed_at, duration_ms, *counts in items:
            if not count:
                continue
            check_id = str(check["id"])
            if counts and counts[0] is not None:
                key = (check_id, str(check["pillar"]), str(check["severity"]))
                counted.append((key, counts[0], str(check["name"])))
            else:  # not decoded here just to count them: finish_run counts this run's rows itself
                self._counting = False
            statements.append(
                (
                    self._prefix(check_id),
                    self._reserve(count),
                    self.run_id,
                    str(check["pillar"]),
                    check_id,
                    str(check["name"]),
                    str(check["severity"]),
                    check.get("remediation"),
                    self._ts(assessed_at),
                    duration_ms,
                    rows_json,
                )
            )
            total += count
        if statements:
            with self._write_lock:
                self._in_sqlite_transaction(lambda con: [con.execute(self._json_sql, p) for p in statements])
                self._written += total
                for key, part, name in counted:
                    self._count(key, part, name)
        return total

    def tallies(self) -> list[Tally] | None:
        """The run's rows counted per check as :func:`storage.scores.tally` counts them; None when
        this writer did not write and count every row of the run, or the database might count
        some differently."""
        with self._lock:
            if not self._counting or counts_unsure(self._counts, self._sqlite):
                return None
            return tallies_from_counts(self._counts, self._names)

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

    def _prefix(self, check_id: str) -> str:
        """The id prefix of one check's results (see the module docstring)."""
        prefix = self._prefixes.get(check_id)
        if prefix is None:
            prefix = self._prefixes[check_id] = f"{self._stamp}{check_slug(check_id)}_{self._runhex}"
        return prefix

    def _count(self, key: tuple[str, str, str], part: Sequence[Any], name: str) -> None:
        with self._lock:
            into = self._counts.get(key)
            if into is None:
                into = self._counts[key] = new_counts()
            add_counts(into, part)
            self._names.setdefault(key[0], set()).add(name)

    def _reserve(self, n: int) -> int:
        """Take ``n`` sequence numbers for one check's rows; returns the first."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"ResultWriter for run {self.run_id} is closed")
            start = self._seq
            self._seq += n
        return start

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
        self._in_sqlite_transaction(lambda con: con.executemany(self._insert_sql, chunk))

    def _in_sqlite_transaction(self, write: Callable[[sqlite3.Connection], Any]) -> None:
        """``write(con)`` in one ``BEGIN IMMEDIATE`` transaction on the raw sqlite3 connection,
        foreign-key enforcement off for its duration.

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
                    write(con)
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
