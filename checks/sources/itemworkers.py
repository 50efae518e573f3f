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
# Chunks per worker: a few, so the parent parses one chunk's answer while the next ones are read,
# and no answer is large (each is held as bytes in the parent until parsed).
CHUNKS_PER_WORKER = 8


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
    n = max(1, workers())
    per = max(batch, -(-count // (n * CHUNKS_PER_WORKER)))
    per = -(-per // batch) * batch  # chunks start on batch boundaries: the batches stay the same
    starts = list(range(0, count, per))
    jobs: deque[tuple[int, Pending]] = deque()
    started = 0
    while started < len(starts) or jobs:
        while started < len(starts) and len(jobs) < n:
            lo = starts[started]
            hi = min(count, lo + per)
            jobs.append((lo, Pending(lambda lo=lo, hi=hi: read_chunk(items, lo, hi, limits, batch))))
            started += 1
        lo, job = jobs.popleft()
        for offset, outcome in enumerate(job.result()):
            first = lo + offset * batch
            if isinstance(outcome, Rejected):
                yield first, outcome, None
                return
            values = [_received(value, items[first + i]) for i, value in enumerate(outcome)]
            # Slimmed with its own kind already: the parent's slim would change nothing.
            slimmed = [
                type(sent) is bytes and type(v) is dict and "kind" in v for sent, v in zip(outcome, values, strict=True)
            ]
            yield first, values, slimmed


def read_chunk(items: Sequence[Any], lo: int, hi: int, limits: Limits, batch: int) -> list[Any]:
    """Items ``lo:hi`` measured batch by batch; each item as slimmed JSON bytes, its
    :class:`Rejected`, or None (the parent parses it). A batch that rejects the whole document
    is its :class:`Rejected`, and the last one."""
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
            out.append([_sent(v, fast) for v, (_, fast) in zip(values, parsed, strict=True)])
        return out
    finally:
        if was_enabled:
            gc.enable()


def _sent(value: Any, fast: bool) -> Any:
    if isinstance(value, Rejected):
        return value
    if not fast:
        return None  # JSON cannot carry what the standard library read (NaN, huge integers)
    try:
        return orjson.dumps(slim(value))
    except (orjson.JSONEncodeError, TypeError):
        return None  # nested deeper than orjson writes: the parent reads it itself


def _received(value: Any, raw: Any) -> Any:
    if isinstance(value, bytes):
        return orjson.loads(value)
    if value is None:
        from checks.sources.jsonlist import parse

        return parse(bytes(memoryview(raw)))
    return value
