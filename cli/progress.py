"""The live per-pillar progress table of ``kwa run --watch`` and ``kwa runs watch``.

Rendering only: what to show comes from a ``read`` callable (``flows.control.progress`` reads it
from what the run has persisted), so this module needs neither the checks nor Prefect.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from redaction.controls import terminal_safe
from storage.enums import STATUSES, is_terminal

POLL_SECONDS = 0.5


def render_progress(snapshot: dict[str, Any]) -> Any:
    """One table: the run's id, cluster, phase and elapsed time; per pillar checks done and counts."""
    from rich.markup import escape
    from rich.table import Table

    run = snapshot["run"]
    start = run.get("started_at") or run.get("requested_at")
    end = run.get("completed_at") or datetime.now(UTC)
    elapsed = (end - start).total_seconds() if start else 0.0
    phase = run.get("phase") if not is_terminal(run["state"]) else run["state"]
    # The cluster id is the user's (or the kubeconfig's): never read as Rich markup, nor sent as a
    # control sequence.
    table = Table(title=escape(terminal_safe(f"run {run['run_id']} · {run['cluster_id']} · {phase} · {int(elapsed)}s")))
    table.add_column("pillar")
    table.add_column("checks", justify="right")
    for status in STATUSES:
        table.add_column(status, justify="right")
    for pillar, entry in sorted(snapshot["pillars"].items()):
        counts = entry["counts"]
        table.add_row(
            escape(str(pillar)),
            f"{entry['done']}/{entry['total']}",
            *(str(counts.get(s, 0)) for s in STATUSES),
        )
    return table


def watch(
    read: Callable[[], dict[str, Any]],
    console: Any = None,
    refresh: float = POLL_SECONDS,
    interrupted: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Redraw :func:`render_progress` of ``read()`` until the run ends; returns the final run.

    ``interrupted`` is asked before every read: a SIGINT/SIGTERM that kwa handles itself (so no
    KeyboardInterrupt is raised) stops the watch as if one had been.
    """
    from rich.console import Console
    from rich.live import Live

    console = console or Console(stderr=True)
    with Live(render_progress(read()), console=console, refresh_per_second=4) as live:
        while True:
            if interrupted():
                raise KeyboardInterrupt
            snapshot = read()
            live.update(render_progress(snapshot))
            if is_terminal(snapshot["run"]["state"]):
                return snapshot["run"]
            time.sleep(refresh)
