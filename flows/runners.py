"""Which process executes a run, and whether it is still alive.

A run records its runner (``host:pid``) when it starts waiting for a slot. A runner on this host
whose process is gone (or a zombie) will never finish its run: the queue stops waiting for it and
the reaper fails the run (docs/lifecycle.md#reaper). A runner on another host is judged by its
Prefect flow run's state instead.
"""

from __future__ import annotations

import os
import socket


def runner_id() -> str:
    """``host:pid`` of the process executing a run, so a reaper on this host can tell it died."""
    return f"{socket.gethostname()}:{os.getpid()}"


def runner_dead(runner: str | None) -> bool:
    """True when ``runner`` names a process on this host that no longer runs."""
    if not runner or ":" not in runner:
        return False
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not (pid.isascii() and pid.isdigit()):
        return False  # another machine's process: Prefect's state decides
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
