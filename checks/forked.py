"""Forked-child plumbing shared by :func:`checks.sandbox.run_with_deadline` and the worker lanes
of :class:`checks.sandbox.IsolatedBatch`: the length-prefixed pickle messages on pipes, and
telling that a child has exited, killing it and reaping it.

Kept apart from :mod:`checks.sandbox`, which decides when a child is killed and what its answer
means, so that the byte-level details live in one place and both ways of running code agree on
them.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import time

HEADER = struct.Struct("!Q")
REAPED: set[int] = set()


def exited(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    if done:
        REAPED.add(pid)
    return bool(done)


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def reap(pid: int, deadline: float) -> None:
    # The child exits right after writing its answer; give it a moment, then make sure.
    if pid in REAPED:
        REAPED.discard(pid)
        return
    while time.monotonic() < deadline + 1:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.001)
    kill(pid)


def messages(buffer: bytearray) -> list[tuple]:
    """Pop every complete length-prefixed message from ``buffer``."""
    out = []
    while len(buffer) >= HEADER.size:
        (size,) = HEADER.unpack_from(buffer)
        if len(buffer) < HEADER.size + size:
            break
        # Unpickled from a view: a slice and a bytes() of it were two more copies of a message
        # that can hold a check's every row (tens of MB at 100k objects).
        with memoryview(buffer) as view:
            out.append(pickle.loads(view[HEADER.size : HEADER.size + size]))
        del buffer[: HEADER.size + size]
    return out


def send(write_fd: int, message: tuple) -> None:
    write_framed(write_fd, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def write_framed(write_fd: int, data: bytes) -> None:
    """``data`` (a pickled message) behind its length."""
    for part in (HEADER.pack(len(data)), data):  # not header + data: a copy of the whole message
        view = memoryview(part)
        while view:
            view = view[os.write(write_fd, view) :]


def read_message(fd: int) -> tuple | None:
    """One length-prefixed message from a blocking pipe; None at EOF."""
    data = b""
    while len(data) < HEADER.size:
        chunk = os.read(fd, HEADER.size - len(data))
        if not chunk:
            return None
        data += chunk
    (size,) = HEADER.unpack(data)
    body = bytearray()
    while len(body) < size:
        chunk = os.read(fd, size - len(body))
        if not chunk:
            return None
        body += chunk
    return pickle.loads(bytes(body))
