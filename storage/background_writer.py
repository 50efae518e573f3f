"""The background writer: one thread, fed by a queue, that persists a run's results as checks finish.

Split out of :mod:`storage.results` (which re-exports :class:`BackgroundWriter`) so the threading
and queueing read apart from the batching and SQL of :class:`~storage.results.ResultWriter`, the
writer it drives.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.result_rows import rows_json

if TYPE_CHECKING:
    from storage.results import ResultWriter

__all__ = ["BackgroundWriter"]


class BackgroundWriter:
    """Write a run's results from one thread fed by a queue, so evaluating never waits on storage.

    Every submission is written and committed as soon as the thread gets to it; submissions that
    queued up meanwhile share one transaction (fewer commits when checks finish faster than the
    database takes them). The first error stops the writing: it is handed to ``on_error`` at once
    (e.g. to stop the run's checks) and raised again by :meth:`drain`; later submissions are
    dropped, since the run cannot be completed anyway.
    """

    def __init__(self, writer: ResultWriter, on_error: Callable[[BaseException], None] | None = None) -> None:
        self.writer = writer
        self.error: BaseException | None = None
        self._on_error = on_error
        self._queue: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._loop, name=f"kwa-writer-{writer.run_id}", daemon=True)
        self._thread.start()

    def submit(
        self,
        check: Mapping[str, Any],
        rows: bytes | Sequence[tuple[Any, ...]],
        assessed_at: datetime,
        duration_ms: int | None,
        count: int | None = None,
    ) -> None:
        """Queue one check's rows for writing, as :data:`ROW_FIELDS` tuples or as their JSON array
        (:func:`rows_json`, with ``count``); returns at once."""
        if not isinstance(rows, bytes | str):
            rows, count = rows_json(rows), len(rows)
        with self._idle:
            self._pending += 1
        self._queue.put((check, rows, int(count or 0), assessed_at, duration_ms))

    def drain(self, timeout: float | None = None) -> int:
        """Wait until everything submitted is written; raise the error that stopped the writing.
        Returns the rows written so far."""
        if not self._written_all(timeout):
            raise TimeoutError(f"results of run {self.writer.run_id} still being written after {timeout}s")
        if self.error is not None:
            raise self.error
        return self.writer.written

    def close(self, timeout: float | None = None) -> None:
        """Wait for what was submitted, then stop the thread (an error is :meth:`drain`'s to raise)."""
        try:
            self._written_all(timeout)
        finally:
            self._queue.put(None)
            self._thread.join(timeout)

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
                self._idle.notify_all()
