"""What one live read cost the API server: requests, bytes, pages, concurrency.

One :class:`ApiStats` per :func:`~checks.sources.live.load_live` call, shared by the listing threads
and filled by :mod:`~checks.sources.live.transport` (every request sent, its status, the body bytes
as they came off the socket and after gzip) and :mod:`~checks.sources.live.listing` (pages per
kind, relists, how the watch cache was used). ``as_dict()`` is what the run keeps
(``Snapshot.api_stats``, the run summary's ``api``); docs/api-load.md explains each field.

Bytes are response *bodies*: HTTP headers (a few hundred bytes a request) are not counted.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

# How the first page of each kind was asked for (``watch_cache`` in the report).
CACHE_USED = "used"  # resourceVersion=0&resourceVersionMatch=NotOlderThan: served from the watch cache
CACHE_OFF = "off"  # not asked for (load_live(watch_cache=False))


class ApiStats:
    """Thread-safe counters for one read of the cluster."""

    def __init__(self, *, page_size: int, concurrency: int, watch_cache: bool = True) -> None:
        self._lock = threading.Lock()
        self._started = time.perf_counter()
        self.page_size = page_size
        self.concurrency = concurrency  # the bound on list calls in flight
        self.requests = 0  # HTTP requests sent (every attempt, /version included)
        self.retries = 0  # of which were retries (429/503/502/504, a reset connection)
        self.statuses: Counter[int] = Counter()  # HTTP status of every answer
        self.transport_errors = 0  # requests that got no complete answer (timeout, reset, refused)
        self.bytes_wire = 0  # response body bytes as received (compressed when the server gzipped)
        self.bytes_read = 0  # the same bodies decompressed: what was parsed
        self.gzipped = 0  # answers that came gzip-compressed
        self.pages: Counter[str] = Counter()  # kind -> list pages answered 200
        self.relists = 0  # lists started again after a continue token expired (410)
        self.in_flight = 0
        self.max_in_flight = 0
        self.watch_cache = CACHE_USED if watch_cache else CACHE_OFF
        self.paged_after_cache: list[str] = []  # kinds listed in plain pages after a whole answer failed
        self.cache_timeouts: list[str] = []  # of which: the whole answer did not come in time
        self.wall_s: float | None = None

    # ---- the transport ---------------------------------------------------------------------------

    def sent(self, retry: bool) -> None:
        with self._lock:
            self.requests += 1
            self.retries += int(retry)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def done(self, status: int | None) -> None:
        """The request ended: its HTTP status, or None when no complete answer came."""
        with self._lock:
            self.in_flight -= 1
            if status is None:
                self.transport_errors += 1
            else:
                self.statuses[status] += 1

    def body(self, wire: int, read: int) -> None:
        with self._lock:
            self.bytes_wire += wire
            self.bytes_read += read

    def compressed(self) -> None:
        with self._lock:
            self.gzipped += 1

    # ---- the lister ------------------------------------------------------------------------------

    def page(self, kind: str) -> None:
        with self._lock:
            self.pages[kind] += 1

    def relisted(self) -> None:
        with self._lock:
            self.relists += 1

    def cache_rejected(self, status: int) -> bool:
        """The server refused ``resourceVersionMatch``: True for the first refusal of the run."""
        with self._lock:
            if self.watch_cache != CACHE_USED:
                return False
            self.watch_cache = f"rejected (HTTP {status}): plain first pages"
            return True

    def too_large_for_cache(self, kind: str) -> None:
        with self._lock:
            self.paged_after_cache.append(kind)

    def cache_timed_out(self, kind: str) -> bool:
        """A whole answer from the cache timed out: True for the first such kind of the run."""
        with self._lock:
            self.paged_after_cache.append(kind)
            self.cache_timeouts.append(kind)
            first = len(self.cache_timeouts) == 1
            if first and self.watch_cache == CACHE_USED:
                self.watch_cache = f"timed out ({kind}): plain pages from then on"
            return first

    def finish(self) -> None:
        self.wall_s = time.perf_counter() - self._started

    # ---- the report ------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what the run keeps (docs/api-load.md#the-report)."""
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "statuses": {str(code): n for code, n in sorted(self.statuses.items())},
                "transport_errors": self.transport_errors,
                "bytes_wire": self.bytes_wire,
                "bytes_read": self.bytes_read,
                "gzipped_responses": self.gzipped,
                "pages": sum(self.pages.values()),
                "pages_by_kind": dict(sorted(self.pages.items())),
                "relists": self.relists,
                "page_size": self.page_size,
                "concurrency_limit": self.concurrency,
                "max_concurrency": self.max_in_flight,
                "watch_cache": self.watch_cache,
                "paged_after_cache": sorted(self.paged_after_cache),
                "cache_timeouts": sorted(self.cache_timeouts),
                "wall_s": round(self.wall_s, 3) if self.wall_s is not None else None,
            }


def summary_line(stats: dict[str, Any]) -> str:
    """``812 requests, 1.9 GB read (310 MB on the wire) in 14.2 s, 8 concurrent``: the log's line."""
    return (
        f"{stats['requests']:,} requests, {human_bytes(stats['bytes_read'])} read "
        f"({human_bytes(stats['bytes_wire'])} on the wire) in {stats['wall_s'] or 0:.1f} s, "
        f"{stats['max_concurrency']} concurrent"
    )


def human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover
