"""SIGINT and SIGTERM end a run as ``aborted``, the way ``kwa runs abort`` does.

Python's defaults are wrong for a run: SIGINT raises KeyboardInterrupt wherever the main thread
happens to be (inside Prefect's engine it turns the flow run Crashed and kwa's run ``failed``), and
SIGTERM kills the process at once, leaving the run ``running`` until the reaper finds it. Instead
the first signal only records why the run must stop and cancels the checks of every run this
process executes (their workers are killed, finished checks keep their results); the flow then
records ``aborted`` with that reason, Prefect's flow run ends Cancelled and the process exits 5.
A second signal says the stop is under way; a third gives up on the orderly stop (KeyboardInterrupt):
``kwa runs reap`` records such a run later.

Prefect's flow engine installs its own SIGTERM handler around every flow run it executes in the
main thread; the assessment flow re-installs this one first thing (``install()``), and the
pillar subflows run on a helper thread, where Prefect cannot install one.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}
_state: dict[str, object] = {"reason": None, "count": 0}
_listeners: list[Callable[[str], None]] = []
_lock = threading.Lock()


def stop_reason() -> str | None:
    """Why this process was asked to stop (``interrupted by SIGINT``), or None."""
    reason = _state["reason"]
    return str(reason) if reason else None


def on_stop(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(reason)`` when a stop is requested (at once if one already was); returns
    a function that removes it. Listeners run in the signal handler: they must be quick."""
    with _lock:
        _listeners.append(listener)
    reason = stop_reason()
    if reason:
        listener(reason)

    def remove() -> None:
        with _lock, contextlib.suppress(ValueError):
            _listeners.remove(listener)

    return remove


def request_stop(reason: str) -> None:
    """What the first signal does; also usable without a signal (tests, embedding code)."""
    with _lock:
        if _state["reason"] is None:
            _state["reason"] = reason
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(Exception):
            listener(reason)


def reset() -> None:
    """Forget a stop request (tests run many flows in one process)."""
    with _lock:
        _state["reason"] = None
        _state["count"] = 0


def _handler(signum: int, frame: FrameType | None) -> None:
    name = _NAMES.get(signal.Signals(signum), f"signal {signum}")
    with _lock:
        _state["count"] = int(_state["count"]) + 1  # type: ignore[call-overload]
        count = _state["count"]
    if count == 1:
        _say(f"kwa: {name} received: stopping the run (recorded as aborted; finished checks keep their results)")
        request_stop(f"interrupted by {name}")
    elif count == 2:
        _say(f"kwa: {name} received again: still stopping (send it once more to exit at once)")
    else:
        _say(f"kwa: {name} received a third time: exiting without recording the run ('kwa runs reap' will)")
        raise KeyboardInterrupt


def install() -> bool:
    """Handle SIGINT and SIGTERM as above; False when not in the main thread (nothing done)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in _NAMES:
        signal.signal(sig, _handler)
    return True


def _say(text: str) -> None:
    with contextlib.suppress(Exception):
        print(text, file=sys.stderr, flush=True)
