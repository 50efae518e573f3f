"""Reading stops when the run is told to: a large input must not hold a stop for a minute.

Reading 400,000 objects takes most of a minute; a stop asked for meanwhile (SIGINT or SIGTERM,
``kwa runs abort``, the run's deadline) used to wait for all of it. The code that reads sets what
to ask (:func:`stoppable`, given by the flow: checks/ knows nothing of signals or runs), and the
reading loops call :func:`check` between batches (a file, a group of documents, 512 items of a
List, a page of a live list), which raises :class:`ReadStopped` with the reason. A check costs a
function call per batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local = threading.local()


class ReadStopped(Exception):
    """Reading was stopped; ``reason`` is what the run records (``interrupted by SIGTERM``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextmanager
def stoppable(reason: Callable[[], str | None]) -> Iterator[None]:
    """Within this block, :func:`check` raises when ``reason()`` returns one (on this thread)."""
    saved = getattr(_local, "reason", None)
    _local.reason = reason
    try:
        yield
    finally:
        _local.reason = saved


def check() -> None:
    reason = getattr(_local, "reason", None)
    if reason is None:
        return
    why = reason()
    if why:
        raise ReadStopped(why)
