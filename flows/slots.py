"""Concurrency slots: at most one running run per cluster and at most N across the installation.

Both limits are Prefect global concurrency limits, ``kwa-cluster-<id>`` (limit 1) and
``kwa-runs`` (limit N, ``KWA_MAX_CONCURRENT_RUNS``), taken together and atomically before a run
initialises, and held under a lease that is renewed while the run lives: a holder that dies frees
its slots within :data:`SLOT_LEASE_SECONDS`, and the reaper can release a killed run's lease at
once (docs/lifecycle.md#slots).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

# One logger name for the lifecycle plumbing (slots, cancellation, artifacts), as before the split.
logger = logging.getLogger("kwa.lifecycle")

RUNS_LIMIT_NAME = "kwa-runs"
DEFAULT_MAX_RUNS = 3
SLOT_WAIT_SECONDS = 24 * 3600.0
SLOT_LEASE_SECONDS = 60.0  # renewed while the run holds it; a crashed holder frees it within a minute
SLOT_POLL_SECONDS = 0.5


def slug(text: str) -> str:
    """Lowercase letters, digits and dashes: what Prefect accepts in artifact keys and limit names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "cluster"


def max_concurrent_runs() -> int:
    raw = os.environ.get("KWA_MAX_CONCURRENT_RUNS", "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_MAX_RUNS
    except ValueError:
        return DEFAULT_MAX_RUNS


def limit_names(cluster_id: str) -> list[str]:
    return [f"kwa-cluster-{slug(cluster_id)}", RUNS_LIMIT_NAME]


def ensure_limits(cluster_id: str, max_runs: int | None = None) -> list[str]:
    """Create (or resize) the two global concurrency limits this run needs."""
    from prefect.client.orchestration import get_client

    names = limit_names(cluster_id)
    wanted = {names[0]: 1, names[1]: max_runs or max_concurrent_runs()}
    with get_client(sync_client=True) as client:
        for name, limit in wanted.items():
            try:
                client.upsert_global_concurrency_limit_by_name(name, limit)
            except Exception as exc:
                logger.debug("concurrency limit %s: %s", name, exc)
    return names


class SlotHold(contextlib.ExitStack):
    """The run's concurrency slots, held until exit; ``lease_id`` names their Prefect lease, so a
    reaper can release the slots of a run whose process was killed."""

    lease_id: str | None = None


def acquire_slot(
    cluster_id: str,
    should_stop: Callable[[], bool] = lambda: False,
    timeout: float = SLOT_WAIT_SECONDS,
    turn: Callable[[int], bool] = lambda limit: True,
) -> SlotHold | None:
    """Take one slot of ``kwa-cluster-<id>`` and one of ``kwa-runs`` (atomically); None if told to stop.

    ``turn(limit)`` says whether it is this run's turn (no older run that could start is waiting
    ahead of it), so runs start in the order they were requested; a run aborted while it waits
    for its turn stops waiting. The returned stack releases the slots.
    """
    from prefect.concurrency.context import ConcurrencyContext
    from prefect.concurrency.sync import concurrency

    limit = max_concurrent_runs()
    names = ensure_limits(cluster_id, limit)
    deadline = time.monotonic() + timeout
    while not turn(limit):
        if should_stop() or time.monotonic() >= deadline:
            return None
        time.sleep(SLOT_POLL_SECONDS)
    if should_stop():
        return None
    # No client-side timeout on the acquisition itself: a timeout that fires while the server is
    # granting the slots leaks them until their lease expires (minutes of a stalled queue). A run
    # aborted while it blocks here exits as soon as it gets its slots.
    stack = SlotHold()
    # A lease renewal that fails (the API went away) must not stop the run: kwa's run does not
    # need Prefect to finish, and an unrenewed lease frees the slots on the server by itself.
    slots = concurrency(
        names, occupy=1, strict=True, lease_duration=SLOT_LEASE_SECONDS, raise_on_lease_renewal_failure=False
    )
    # Prefect records a granted lease in the flow run's ConcurrencyContext: that is where its id is.
    known = set(getattr(ConcurrencyContext.get(), "cleanup_lease_ids", None) or ())
    stack.enter_context(_released_quietly(slots))
    granted = [i for i in getattr(ConcurrencyContext.get(), "cleanup_lease_ids", None) or () if i not in known]
    stack.lease_id = str(granted[0]) if granted else None
    return stack


def release_lease(client: Any, lease_id: str | None) -> bool:
    """Give back the slots held by ``lease_id`` (a killed run's); True when the API took it."""
    if not lease_id:
        return False
    try:
        client.release_concurrency_slots_with_lease(lease_id=lease_id)
    except Exception as exc:
        logger.debug("releasing lease %s: %s", lease_id, exc)
        return False
    return True


@contextlib.contextmanager
def _released_quietly(slots: Any) -> Iterator[None]:
    """Hold ``slots``; a release the API cannot take is logged, not raised: the run has ended
    whatever Prefect says, and the slots' lease expires within SLOT_LEASE_SECONDS on the server."""
    slots.__enter__()
    try:
        yield
    except BaseException as exc:
        try:
            slots.__exit__(type(exc), exc, exc.__traceback__)
        except Exception as release_error:
            if release_error is not exc:
                logger.debug("releasing the run's concurrency slots failed: %s", release_error)
        raise
    try:
        slots.__exit__(None, None, None)
    except Exception as exc:
        logger.debug("releasing the run's concurrency slots failed (their lease expires): %s", exc)
