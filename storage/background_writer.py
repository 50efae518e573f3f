"""The background writer: one thread, fed by a queue, that persists a run's results as checks finish.

Split out of :mod:`storage.results` (which re-exports :class:`BackgroundWriter`) so the threading
and queueing read apart from the batching and SQL of :class:`~storage.results.ResultWriter`, the
writer it drives.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.result_rows import rows_json
from storage.row_tally import count_values

if TYPE_CHECKING:
    from storage.results import ResultWriter

__all__ = ["BACKLOG_WAIT_S", "MAX_BACKLOG_BYTES", "BackgroundWriter"]

# Rows (as JSON) waiting for the database at most, before submitters wait; one check's rows may
# exceed it (they are accepted once the backlog is below it).
MAX_BACKLOG_BYTES = 64 * 1024 * 1024
# The longest a submitter waits for the backlog to shrink before submitting anyway.
BACKLOG_WAIT_S = 120.0


class BackgroundWriter:
    """Write a run's results from one thread fed by a queue, so evaluating never waits on storage.

    Every submission is written and committed as soon as the thread gets to it; submissions that
    queued up meanwhile share one transaction (fewer commits when checks finish faster than the
    database takes them). The first error stops the writing: it is handed to ``on_error`` at once
    (e.g. to stop the run's checks) and raised again by :meth:`drain`; later submissions are
    dropped, since the run cannot be completed anyway.
    """

    def __init__(
        self,
        writer: ResultWriter,
        on_error: Callable[[BaseException], None] | None = None,
        max_backlog_bytes: int = MAX_BACKLOG_BYTES,
        backlog_wait: float = BACKLOG_WAIT_S,
    ) -> None:
        self.writer = writer
        self.error: BaseException | None = None
        self._on_error = on_error
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._backlog = 0  # bytes of rows submitted and not written yet
        self.max_backlog_bytes = max_backlog_bytes
        self.backlog_wait = backlog_wait
        self.waited_s = 0.0  # how long submitters were held back in all
        self._thread = threading.Thread(target=self._loop, name=f"kwa-writer-{writer.run_id}", daemon=True)
        self._thread.start()

    def submit(
        self,
        check: Mapping[str, Any],
        rows: bytes | Sequence[tuple[Any, ...]],
        assessed_at: datetime,
        duration_ms: int | None,
        count: int | None = None,
        counts: Sequence[Any] | None = None,
    ) -> None:
        """Queue one check's rows for writing, as :data:`ROW_FIELDS` tuples or as their JSON array
        (:func:`rows_json`, with ``count`` and, if the caller counted them, ``counts``: their
        :func:`~storage.row_tally.count_values`); returns at once."""
        if not isinstance(rows, bytes | str):
            rows, count, counts = rows_json(rows), len(rows), count_values(rows)
        with self._idle:
            # Backpressure: a large cluster's checks produce rows faster than the database takes
            # them (400,000 objects: ~1 GB of rows); the submitter (a lane's manager thread) waits
            # while the backlog is over its bound, so memory stays bounded and the lane pauses. Never
            # forever: a stuck database is the writer's error to report, not a hang here.
            if self._backlog >= self.max_backlog_bytes and self.error is None:
                started = time.monotonic()
                self._idle.wait_for(
                    lambda: self._backlog < self.max_backlog_bytes or self.error is not None, self.backlog_wait
                )
                self.waited_s += time.monotonic() - started
            self._pending += 1
            self._backlog += len(rows)
        self._queue.put((check, rows, int(count or 0), assessed_at, duration_ms, counts))

    def drain(self, timeout: float | None = None) -> int:
        """Wait until everything submitted is written; raise the error that stopped the writing.
        Returns the rows written so far."""
        if not self._written_all(timeout):
            raise TimeoutError(f"results of run {self.writer.run_id} still being written after {timeout}s")
        if self.error is not None:
            raise self.error
        return self.writer.written

    def tallies(self) -> Any:
        """The writer's counts of what it wrote (:meth:`ResultWriter.tallies`)."""
        return self.writer.tallies()

    def close(self, timeout: float | None = None) -> None:
        """Wait for what was submitted, then stop the thread (an error is :meth:`drain`'s to raise)."""
        try:
            self._written_all(timeout)
        finally:
            self._queue.put(None)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                # Nothing can fail any more; the handler usually refers back to the run (a cycle
                # that would keep the run's snapshot alive until a full collection).
                self._on_error = None

    def _written_all(self, timeout: float | None) -> bool:
        """Wait until every submission has been handled; False if ``timeout`` came first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _loop(self) -> None:
        while (item := self._queue.get()) is not None:
            items = [item]
            while True:  # what queued up meanwhile goes into the same flush
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                items.append(more)
            if self.error is None:
                try:
                    self.writer.add_json(items)
                except BaseException as exc:  # handed over: a thread has nobody else to raise to
                    self.error = exc
                    if self._on_error is not None:
                        with contextlib.suppress(Exception):
                            self._on_error(exc)
            with self._idle:
                self._pending -= len(items)
                self._backlog -= sum(len(item[1]) for item in items)
                self._idle.notify_all()
