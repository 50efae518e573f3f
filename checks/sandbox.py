"""Run a function in a forked child that is killed at its deadline: a timeout nothing can outlive.

Prefect's ``timeout_seconds`` is only soft for tasks on worker threads, and nothing interrupts a
long C call or a socket read without its own timeout. A forked child inherits the snapshot for
free (copy-on-write, no serialisation of the input), and SIGKILL ends it whatever it is doing.
The child must not touch Prefect, the database or any lock-holding library: it only computes and
writes a pickled answer to a pipe.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import time
import traceback
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("!Q")
_REAPED: set[int] = set()


class HardTimeout(TimeoutError):
    """The function ran past its deadline and its process was killed."""


class ChildError(RuntimeError):
    """The function raised in the child; the message carries the original exception text."""

    def __init__(self, message: str, exc_type: str, tb: str):
        super().__init__(message)
        self.exc_type = exc_type
        self.traceback = tb


class ChildDied(RuntimeError):
    """The child exited without an answer (killed by a signal, os._exit, out of memory)."""


def fork_available() -> bool:
    return hasattr(os, "fork")


def run_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """Call ``fn()`` in a forked child; return its result or raise within ``timeout`` (+ ~10 ms).

    The answer is length-prefixed rather than read to EOF: when several threads fork at once, a
    child can inherit another pipe's write end, so EOF may not come until an unrelated child ends.
    """
    if not fork_available():  # pragma: no cover - Windows: no hard timeout, run inline
        return fn()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        _child(fn, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    expected: int | None = None
    outcome = "timeout"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([read_fd], [], [], min(remaining, 0.05))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if chunk:
                    buffer += chunk
                    if expected is None and len(buffer) >= _HEADER.size:
                        (expected,) = _HEADER.unpack_from(buffer)
                    if expected is not None and len(buffer) >= _HEADER.size + expected:
                        outcome = "answered"
                        break
                    continue
            if _exited(pid):
                outcome = "died"
                break
    finally:
        os.close(read_fd)
        if outcome == "timeout":
            _kill(pid)
        else:
            _reap(pid, deadline)
    if outcome == "timeout":
        raise HardTimeout(f"exceeded its {timeout:g}s timeout; process {pid} was killed")
    if outcome == "died":
        raise ChildDied("the check process exited without a result")
    kind, value = pickle.loads(bytes(buffer[_HEADER.size : _HEADER.size + expected]))
    if kind == "ok":
        return value
    message, exc_type, tb = value
    raise ChildError(message, exc_type, tb)


def _exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    if done:
        _REAPED.add(pid)
    return bool(done)


def _child(fn: Callable[[], Any], write_fd: int) -> None:
    # Default signal dispositions: the parent may have Python-level handlers we must not run.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_DFL)
    code = 0
    try:
        try:
            data = pickle.dumps(("ok", fn()), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            data = pickle.dumps(("error", (text, type(exc).__name__, traceback.format_exc())))
            code = 1
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            written = os.write(write_fd, view)
            view = view[written:]
        os.close(write_fd)
    finally:
        os._exit(code)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _reap(pid: int, deadline: float) -> None:
    # The child exits right after writing its answer; give it a moment, then make sure.
    if pid in _REAPED:
        _REAPED.discard(pid)
        return
    while time.monotonic() < deadline + 1:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.001)
    _kill(pid)
