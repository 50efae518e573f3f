"""Request deadlines that hold whatever the server does: a watchdog shuts a request's socket down.

urllib3's timeouts bound each socket operation, not a request: a server that sends one byte of
headers or body every few seconds never trips them. So each request gets a :class:`Guard` with its
deadline; the connection classes installed by :func:`install_guards` arm it with the request's
socket just before the response is read (``getresponse``), and one watchdog thread per read shuts
that socket down when the deadline passes. The reading thread then sees the end of the stream at
once, whatever it was blocked in (headers, a chunk, gzip), and the caller reports the deadline.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any

_local = threading.local()


def current(guard: Guard | None) -> None:
    """Make ``guard`` the one the next response read in this thread arms (None: none)."""
    _local.guard = guard


class Guard:
    """One request's deadline; armed with the request's socket once the connection is chosen."""

    def __init__(self, watchdog: Watchdog, deadline: float):
        self.watchdog = watchdog
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.fired = False
        self.key = -1  # the watchdog's handle while armed

    def arm(self, sock: socket.socket) -> None:
        self.sock = sock
        self.watchdog.add(self)

    def disarm(self) -> None:
        self.watchdog.remove(self)


class Watchdog:
    """One thread (started on first use) that fires armed guards as their deadlines pass."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Guard]] = []
        self._active: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def add(self, guard: Guard) -> None:
        with self._cond:
            key = next(self._ids)
            guard.key = key
            self._active.add(key)
            heapq.heappush(self._heap, (guard.deadline, key, guard))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kwa-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, guard: Guard) -> None:
        with self._cond:
            self._active.discard(guard.key)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, key, guard = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                self._active.discard(key)
                guard.fired = True
                try:  # unblocks the reading thread at once: its next recv sees end of stream
                    if guard.sock is not None:
                        guard.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def _guarded(base: type) -> type:
    """An urllib3 connection class that arms the current request's guard before reading the answer."""

    class Guarded(base):  # type: ignore[misc, valid-type]
        def getresponse(self, *args: Any, **kwargs: Any) -> Any:
            guard = getattr(_local, "guard", None)
            if guard is not None and self.sock is not None:
                guard.arm(self.sock)
            return super().getresponse(*args, **kwargs)

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded


def install_guards(pool_manager: Any) -> None:
    """Make every connection the pool manager creates obey the request guards (before first use).

    Each of the manager's own pool classes is extended, not replaced: a SOCKS proxy's manager
    (``proxy-url: socks5://…``) has pools whose connections go through the proxy.
    """
    pool_manager.pool_classes_by_scheme = {
        scheme: type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": _guarded(pool.ConnectionCls)})
        for scheme, pool in pool_manager.pool_classes_by_scheme.items()
    }
