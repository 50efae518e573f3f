"""Building a snapshot index in a forked child while the parent builds the others.

Until the check lanes fork, the parent is the only busy process: on two cores, one idles while
the parent builds indexes and resolves exemptions one after another. An index that is costly and
pickles small (the reference graph: a walk over every object, answered by a few sets of names) is
built by a forked child meanwhile (:func:`checks.sandbox.run_with_deadline`, the hard-deadline
fork the checks use, run from a thread so the parent goes on). The child sees the snapshot as it
is at the fork, copy-on-write, and sends back only the answer.

Anything but an answer (no fork on this platform, the child raising, dying or outliving its
deadline) builds the index in the parent after all, as before: the result never depends on
whether it was offloaded. Small snapshots are not offloaded: a fork and a thread cost more than
the walk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

MIN_OBJECTS = 2000  # below this, building inline is cheaper than forking (measured: bench/offload.py)
DEADLINE_S = 600.0  # the child is killed past this; the parent then builds the index itself


class Pending:
    """An index being built in a child; :meth:`result` waits for it (or builds it inline)."""

    def __init__(self, build: Callable[[], Any], deadline: float = DEADLINE_S) -> None:
        self._build = build
        self._value: Any = None
        self._ok = False
        self._thread = threading.Thread(target=self._run, args=(deadline,), name="kwa-index", daemon=True)
        self._thread.start()

    def _run(self, deadline: float) -> None:
        from checks.sandbox import run_with_deadline

        try:
            self._value = run_with_deadline(self._build, deadline)
            self._ok = True
        except Exception:  # the parent builds it: same function, same input, its own error if any
            self._ok = False

    def result(self) -> Any:
        self._thread.join()
        return self._value if self._ok else self._build()


def offload(build: Callable[[], Any], objects: int) -> Pending | None:
    """A :class:`Pending` build of ``build()`` in a child, or None when it is better built inline."""
    from checks.sandbox import fork_available

    if objects < MIN_OBJECTS or not fork_available():
        return None
    return Pending(build)
