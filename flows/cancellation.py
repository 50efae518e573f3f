"""Stopping an in-process run when it is aborted (docs/lifecycle.md#abort).

Prefect only enforces a cancel for runs a worker or runner executes. A watcher thread polls the
flow run's Prefect state and kwa's own run row, so ``kwa runs abort`` and the UI's Cancel stop a
run this process executes too; SIGINT / SIGTERM reach it through :mod:`flows.signals`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("kwa.lifecycle")


class CancellationWatcher:
    """Polls Prefect and kwa's run row; calls ``on_cancel(reason)`` once when either says stop."""

    def __init__(
        self,
        flow_run_id: str | None,
        run_aborted: Callable[[], bool],
        on_cancel: Callable[[str], None],
        interval: float = 1.0,
    ):
        self._flow_run_id = flow_run_id
        self._run_aborted = run_aborted
        self._on_cancel = on_cancel
        self._interval = interval
        self._stop = threading.Event()
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._loop, name="kwa-cancel-watch", daemon=True)

    def __enter__(self) -> CancellationWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def cancelled(self) -> bool:
        return self.reason is not None

    def _loop(self) -> None:
        client_cm = None
        client = None
        try:
            if self._flow_run_id:
                from prefect.client.orchestration import get_client

                client_cm = get_client(sync_client=True)
                client = client_cm.__enter__()
            while not self._stop.wait(self._interval):
                reason = self._check(client)
                if reason:
                    self.reason = reason
                    self._on_cancel(reason)
                    return
        finally:
            if client_cm is not None:
                with contextlib.suppress(Exception):
                    client_cm.__exit__(None, None, None)

    def _check(self, client: Any) -> str | None:
        try:
            if self._run_aborted():
                return "the run was aborted (kwa runs abort)"
            if client is not None:
                state = client.read_flow_run(self._flow_run_id).state
                if state is not None and (state.is_cancelling() or state.is_cancelled()):
                    return "the flow run was cancelled in Prefect"
        except Exception as exc:
            logger.debug("cancellation poll failed: %s", exc)
        return None
