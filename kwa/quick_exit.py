"""End a finished ``kwa run`` process without the interpreter's teardown of its heap.

When a run's report is out, what is left of the process is Python's finalization: joining the
threads that are still working, the ``atexit`` handlers (Prefect's log and event workers send
what they still hold, logging flushes, forked lanes are reaped), then freeing every object one
by one — the parsed cluster, the snapshot's indexes, every module. At 10k objects that last part
alone took 1.5 s of the 2.4 s between the run's end and the process's (docs/performance.md), and
it does nothing anyone can observe: the operating system takes the memory back at once.

:func:`end` does the observable part in the interpreter's own order and then leaves with
``os._exit``: non-daemon threads joined (``threading._shutdown``, what ``Py_FinalizeEx`` calls
first), every ``atexit`` handler run, kwa's databases closed (SQLite checkpoints its write-ahead
log on the last close, as it would at a normal exit), the standard streams flushed. Only the
command line's own ``kwa run`` ends this way (``kwa.app.main`` without ``argv``), and not under a
profiler or tracer (:func:`wanted`): tests and embedders that call ``main(argv)`` get the exit code
back as before. What it skips is finalizers (``__del__``, garbage collection): whatever must happen
when kwa ends belongs in an ``atexit`` handler or a ``with`` block, never in a finalizer.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn


def wanted() -> bool:
    """Not under a profiler or tracer (``python -m cProfile -m kwa``, pyinstrument, coverage, a
    debugger): those write their output when the module returns, which ``os._exit`` would skip."""
    return sys.getprofile() is None and sys.gettrace() is None


def end(code: int) -> NoReturn:
    """Exit the process with ``code`` once everything it owes the outside world is delivered."""
    try:
        _join_threads()
        atexit._run_exitfuncs()  # errors are printed by atexit itself, as at a normal exit
        _close_databases()
    finally:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        os._exit(int(code) & 0xFF)


def _join_threads() -> None:
    """Wait for non-daemon threads, as the interpreter does before its ``atexit`` handlers (the
    same call; it also runs what Prefect registered with ``threading._register_atexit``)."""
    threading._shutdown()  # type: ignore[attr-defined]


def _close_databases() -> None:
    if "storage.db" in sys.modules:  # a run that never opened kwa's database has none to close
        from storage.db import dispose_all

        dispose_all()
