"""A large List's items parsed, measured and slimmed in forked workers, handed back slimmed.

Reading a cluster dump is, per item, orjson building the whole object (``managedFields`` trees and
all), measuring it against the limits (one orjson rendering per batch) and slimming it: at 100,000
objects about 7 CPU-seconds, on one core while the other idles. Here forked children do that for
contiguous chunks of the items, exactly as :func:`checks.sources.jsonlist.read_list` does it
batch by batch, and hand each item back as the compact JSON of its slimmed form, which the parent
parses again: half the bytes and a fraction of the containers (no ``fieldsV1`` trees), so the
parent's share is about a fifth of the work, and it never holds an item in full.

What the parent gets is what it would have computed: the same batches are measured (so a
whole-document verdict such as a duplicate key ends the reading at the same batch), an item over
a limit comes back as its :class:`Rejected`, and the parent still slims each object in
:func:`~checks.sources.documents.accept_item` (slimming is idempotent; a child's pass, before the
List's kind is filled in, does a subset of it). An item orjson refused (read by the standard
library: integers past 64 bits, NaN) comes back unparsed and the parent reads it itself, since
JSON could not carry those values back unchanged. A child that fails, dies or is not possible
(no ``fork``) has its chunk done in the parent by the same function (:mod:`checks.offload`).
"""

from __future__ import annotations

import gc
import os
import pickle
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from checks.limits import Limits
from checks.offload import Pending
from checks.sources.guards import Rejected
from checks.sources.slim import slim

# Below this many items one process reads them (a fork and the round trip cost more).
MIN_ITEMS = 4096
# Chunks per worker: several, so the parent parses one chunk's answer while the next ones are read,
# and no answer is large (each is held as bytes in the parent until parsed); but not tiny ones
# (each is a fork of a parent that may hold GBs).
CHUNKS_PER_WORKER = 16
MIN_CHUNK_BATCHES = 4


def workers() -> int:
    """Children reading at once: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def read_batches(
    items: Sequence[Any], limits: Limits, batch: int, count: int
) -> Iterator[tuple[int, list[Any] | Rejected, list[bool] | None]]:
    """``(first, values, slimmed)`` for each batch of ``batch`` items in order, ``values`` as
    :func:`checks.sources.jsonlist.measured` returns them and ``slimmed`` saying which of them
    are already as :func:`~checks.sources.slim.slim` leaves them; or ``(first, Rejected, None)``
    for the batch whose measuring rejected the whole document (nothing after it is yielded)."""
    from checks.sources.jsonlist import parse

    n = max(1, workers())
    per = max(MIN_CHUNK_BATCHES * batch, -(-count // (n * CHUNKS_PER_WORKER)))
    per = -(-per // batch) * batch  # chunks start on batch boundaries: the batches stay the same
    starts = list(range(0, count, per))
    jobs: deque[tuple[int, _Chunk]] = deque()
    started = 0
    while started < len(starts) or jobs:
        while started < len(starts) and len(jobs) < n:
            lo = starts[started]
            jobs.append((lo, _Chunk(items, lo, min(count, lo + per), limits, batch)))
            started += 1
        lo, job = jobs.popleft()
        for offset, outcome in enumerate(job.result()):
            first = lo + offset * batch
            if isinstance(outcome, Rejected):
                yield first, outcome, None
                return
            blob, specials = outcome
            values = orjson.loads(blob)
            for i, special in specials.items():
                values[i] = special if special is not None else parse(bytes(memoryview(items[first + i])))
            # Slimmed with its own kind already: the parent's slim would change nothing.
            slimmed = [type(v) is dict and "kind" in v and i not in specials for i, v in enumerate(values)]
            yield first, values, slimmed


class _Chunk:
    """One chunk read by a forked child (:class:`~checks.offload.Pending`), or by this process
    when the child gives no answer. The child writes its answer to a file this process opened
    and reads back in its main thread: an answer received by the waiting thread would be
    allocated in that thread's malloc arena, which keeps the memory after it is freed (measured:
    +30 MB at 10,000 objects, +100 MB at 100,000)."""

    def __init__(self, items: Sequence[Any], lo: int, hi: int, limits: Limits, batch: int) -> None:
        # Closed in result(). The build closure must not refer to self: a cycle would keep the
        # input's items alive while the collector is off (and frozen after).
        self._file = file = tempfile.TemporaryFile()  # noqa: SIM115
        parent = os.getpid()

        def build() -> list[Any] | None:
            answer = read_chunk(items, lo, hi, limits, batch)
            if os.getpid() == parent:
                return answer  # the child failed: read here, handed over directly
            pickle.dump(answer, file, protocol=pickle.HIGHEST_PROTOCOL)
            file.flush()
            return None

        self._job = Pending(build)

    def result(self) -> list[Any]:
        try:
            answer = self._job.result()
            if answer is None:
                self._file.seek(0)
                answer = pickle.load(self._file)
            return answer  # type: ignore[no-any-return]
        finally:
            self._file.close()


def read_chunk(items: Sequence[Any], lo: int, hi: int, limits: Limits, batch: int) -> list[Any]:
    """Items ``lo:hi`` measured batch by batch. Each batch is sent as one JSON array of its
    slimmed items (one parse in the parent) and ``{position: Rejected or None}`` for the items
    that are not in it (null there): those over a limit, and those the parent parses itself (None).
    A batch that rejects the whole document is its :class:`Rejected`, and the last one."""
    from checks.sources.jsonlist import measured, parse_marked

    was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived containers: the collector would only walk them
    try:
        out: list[Any] = []
        for first in range(lo, hi, batch):
            raws = [bytes(memoryview(r)) for r in items[first : min(hi, first + batch)]]
            parsed = [parse_marked(raw) for raw in raws]
            try:
                values = measured([v for v, _ in parsed], raws, limits)
            except Rejected as exc:
                out.append(exc)
                break
            parts: list[bytes] = []
            specials: dict[int, Rejected | None] = {}
            for i, (value, (_, fast)) in enumerate(zip(values, parsed, strict=True)):
                part = _sent(value, fast)
                if part is None:
                    specials[i] = value if isinstance(value, Rejected) else None
                    part = b"null"
                parts.append(part)
            out.append((b"[" + b",".join(parts) + b"]", specials))
        return out
    finally:
        if was_enabled:
            gc.enable()


def _sent(value: Any, fast: bool) -> bytes | None:
    """The item's slimmed JSON, or None when it is not sent as JSON: over a limit (a
    :class:`Rejected`), or read by the standard library (JSON cannot carry what it reads back
    unchanged: integers past 64 bits), or nested deeper than orjson writes."""
    if isinstance(value, Rejected) or not fast:
        return None
    try:
        return orjson.dumps(slim(value))
    except (orjson.JSONEncodeError, TypeError):
        return None
