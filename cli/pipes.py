"""A reader that goes away (``kwa … | head``) ends kwa's output quietly, never in a traceback.

Python turns a write to a pipe whose reader has exited into ``BrokenPipeError``: raised from
whichever ``print`` happened to fill the pipe (a traceback from deep inside Rich or the CSV
writer), or, when the last bytes only leave at exit, as ``Exception ignored … BrokenPipeError``.
Setting SIGPIPE back to its default action would kill kwa outright instead — in the middle of a
run, and for any socket to the Prefect API or a cluster that closes early too — so kwa does not.

:func:`guard_streams` wraps ``sys.stdout`` and ``sys.stderr`` (outside the redaction wrapper, so
nothing changes about what is written) in :class:`ClosedPipeGuard`: the first write that finds
its reader gone points the file descriptor at ``/dev/null`` (so nothing can fail on it again, not
even the interpreter's last flush) and every later write is dropped. The command itself goes on
and ends with its real exit code: a run is still stored and its CI gates still decide the exit
code even if nobody reads the report, and ``summary --fail-on critical -o json | head -1`` still
exits 6 when the gate rejects the run. Commands that stream long outputs page by page (``list -o
csv``, ``runs logs``) ask :func:`reader_gone` between pages and stop reading the database early.

Every entry point calls :func:`guard_streams` right after installing redaction: ``kwa`` and
``python -m kwa`` (``kwa.app.main``), and ``python -m flows.run``, which hands over to it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import threading
from typing import Any

__all__ = ["ClosedPipeGuard", "guard_streams", "reader_gone"]

# A write to a closed pipe, or to a socket/pipe the other end reset.
_GONE = (errno.EPIPE, errno.ECONNRESET)


def _is_gone(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno in _GONE)


class ClosedPipeGuard:
    """A text stream that stops writing, silently, once its reader is gone.

    Everything but ``write``/``writelines``/``flush`` is the wrapped stream's (``isatty``,
    ``fileno``, ``encoding``, the redaction wrapper's ``buffer``…).
    """

    def __init__(self, stream: Any):
        self._stream = stream
        self._gone = False
        self._lock = threading.Lock()

    @property
    def wrapped(self) -> Any:
        return self._stream

    @property
    def reader_gone(self) -> bool:
        return self._gone

    def write(self, text: str) -> int:
        if self._gone:
            return len(text)
        try:
            return self._stream.write(text)
        except (BrokenPipeError, OSError) as exc:
            if not _is_gone(exc):
                raise
            self._went_away()
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._gone:
            return
        try:
            self._stream.flush()
        except (BrokenPipeError, OSError) as exc:
            if not _is_gone(exc):
                raise
            self._went_away()

    def isatty(self) -> bool:
        if self._gone:
            return False
        try:
            return bool(self._stream.isatty())
        except (AttributeError, ValueError, OSError):
            return False

    def _went_away(self) -> None:
        with self._lock:
            if self._gone:
                return
            self._gone = True
            # Whatever is still buffered below us (the redaction wrapper's pending text, Python's
            # own buffer) now goes to /dev/null instead of failing again at every flush and at exit.
            try:
                fd = self._stream.fileno()
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(devnull, fd)
                finally:
                    os.close(devnull)
            except (AttributeError, ValueError, OSError):
                pass  # no descriptor (a StringIO in tests): dropping our writes is enough
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_streams() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in :class:`ClosedPipeGuard` (once; a closed
    descriptor — ``kwa … >&-`` — leaves Python with ``None`` there, and None stays)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, ClosedPipeGuard):
            setattr(sys, name, ClosedPipeGuard(stream))


def reader_gone(stream: Any = None) -> bool:
    """Whether ``stream`` (default ``sys.stdout``) found its reader gone: stop producing output."""
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "reader_gone", False))
