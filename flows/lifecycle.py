"""Prefect-side run lifecycle: triggers, concurrency slots, cancellation, artifacts.

- **Triggers** (seed 004): a flow run created from a deployment by the scheduler records
  ``schedule``, one started from the UI or API ``deployment``; the CLI passes ``manual`` or ``ci``.
- **Concurrency** (seed 004): at most one running run per cluster and at most N across the
  installation, with Prefect's global concurrency limits ``kwa-cluster-<id>`` (limit 1) and
  ``kwa-runs`` (limit N) acquired together, atomically, before the run initialises.
- **Cancellation**: Prefect only enforces a cancel for runs a worker or runner executes. A watcher
  thread polls the flow run's Prefect state and kwa's own run row, so ``kwa runs abort`` and the
  UI's Cancel stop an in-process run too.
- **Artifacts**: a progress artifact updated as checks finish, and at the end two Markdown
  artifacts - the summary (outcome, scores, the most severe failing checks) and the findings (one
  block per failing check with its remediation and its objects, each with ``file:line``) - keyed
  per cluster so the UI's Artifacts page keeps a history.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flows.findings_md import findings_markdown, md
from storage.enums import STATUSES
from storage.grades import number_text, percent_text, score_text

logger = logging.getLogger("kwa.lifecycle")

RUNS_LIMIT_NAME = "kwa-runs"
DEFAULT_MAX_RUNS = 3
SLOT_WAIT_SECONDS = 24 * 3600.0
SLOT_LEASE_SECONDS = 60.0  # renewed while the run holds it; a crashed holder frees it within a minute
SLOT_POLL_SECONDS = 0.5
PROGRESS_INTERVAL = 1.0
TRIGGERS = ("manual", "ci", "schedule", "deployment")


def slug(text: str) -> str:
    """Lowercase letters, digits and dashes: what Prefect accepts in artifact keys and limit names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "cluster"


def max_concurrent_runs() -> int:
    raw = os.environ.get("KWA_MAX_CONCURRENT_RUNS", "")
    try:
        return max(1, int(raw)) if raw else DEFAULT_MAX_RUNS
    except ValueError:
        return DEFAULT_MAX_RUNS


def detect_trigger(requested: str, flow_run: Any) -> str:
    """``schedule`` / ``deployment`` for deployment runs, else what the caller said."""
    if getattr(flow_run, "deployment_id", None) is not None and requested in ("manual", "deployment", "schedule"):
        return "schedule" if getattr(flow_run, "auto_scheduled", False) else "deployment"
    return requested if requested in TRIGGERS else "manual"


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


def runner_id() -> str:
    """``host:pid`` of the process executing a run, so a reaper on this host can tell it died."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
    from prefect.concurrency.context import ConcurrencyContext

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


class SlotHold(contextlib.ExitStack):
    """The run's concurrency slots, held until exit; ``lease_id`` names their Prefect lease, so a
    reaper can release the slots of a run whose process was killed."""

    lease_id: str | None = None


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


# ---- artifacts ------------------------------------------------------------------------------------


class Progress:
    """A Prefect progress artifact advanced as checks finish (best effort: never fails a run).

    Updates are sent from a background thread, at most once per ``PROGRESS_INTERVAL`` seconds
    and once at the end, so the API round trips never sit on the path of the checks.
    """

    def __init__(self, cluster_id: str, total: int, description: str):
        self.total = max(total, 1)
        self.done = 0
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._closed = threading.Event()
        self._key = f"kwa-{slug(cluster_id)}-progress"
        self._description = description
        # The flow run's context travels with the thread, so the artifact belongs to the run.
        run_in_context = contextvars.copy_context().run
        self._thread = threading.Thread(target=run_in_context, args=(self._loop,), name="kwa-progress", daemon=True)
        self._thread.start()

    def advance(self) -> None:
        with self._lock:  # the batch's lane threads report checks as they end
            self.done += 1
        self._changed.set()

    def close(self, timeout: float = 5.0) -> None:
        self._closed.set()
        self._changed.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        try:
            from prefect.artifacts import create_progress_artifact, update_progress_artifact

            artifact_id = create_progress_artifact(progress=0.0, key=self._key, description=self._description)
        except Exception as exc:  # the UI bar is a courtesy: the run goes on without it
            logger.debug("progress artifact: %s", exc)
            return
        sent = 0
        while True:
            self._changed.wait()
            self._changed.clear()
            done = self.done
            if done != sent:
                try:
                    update_progress_artifact(artifact_id, progress=round(100.0 * done / self.total, 1))
                    sent = done
                except Exception as exc:  # a missed update is caught up by the next one
                    logger.debug("progress artifact update: %s", exc)
            if self._closed.is_set():
                return
            self._closed.wait(PROGRESS_INTERVAL)  # paced, but close() is never kept waiting


def publish_summary(
    cluster_id: str,
    run: dict[str, Any],
    pillars: dict[str, dict[str, int]],
    scores: dict[str, Any] | None,
    failing: list[dict[str, Any]],
    top: list[tuple[str, str, int]],
) -> None:
    """The run's outcome in the Prefect UI: a Markdown summary and the findings, most severe first
    (``failing``: rows of ``storage.lifecycle.failing_results``)."""
    try:
        from prefect.artifacts import create_markdown_artifact

        key = slug(cluster_id)
        create_markdown_artifact(
            markdown=summary_markdown(run, pillars, scores, top, failing),
            key=f"kwa-{key}-summary",
            description=f"kwa run {run['run_id']}: {run['state']}",
        )
        if failing:
            checks = len({r["check_id"] for r in failing})
            create_markdown_artifact(
                markdown=findings_markdown(run, failing),
                key=f"kwa-{key}-failing",
                description=f"findings of run {run['run_id']}: {checks} failing check(s), most severe first",
            )
    except Exception as exc:
        from flows.prefect_link import LINK

        # With the API gone the run has already said so once; a second warning adds nothing.
        (logger.debug if LINK.degraded else logger.warning)("could not publish the run summary artifacts: %s", exc)


def summary_markdown(
    run: dict[str, Any],
    pillars: dict[str, dict[str, int]],
    scores: dict[str, Any] | None,
    top: list[tuple[str, str, int]],
    failing: list[dict[str, Any]] | None = None,
) -> str:
    overall = (scores or {}).get("overall") or {}
    lines = [
        f"# kwa run {md(run['run_id'])}",
        "",
        f"- cluster: **{md(run.get('cluster_id'))}**",
        f"- state: **{md(run['state'])}**" + (f" ({md(run['error'])})" if run.get("error") else ""),
        f"- source: {md(run.get('source', ''))}",
    ]
    if overall.get("score") is not None:
        lines.append(
            f"- overall score: **{number_text(overall['score'])}** (grade {overall.get('grade', '-')}, "
            f"coverage {_percent(overall.get('coverage'))})"
        )
    lines += ["", "| pillar | score | " + " | ".join(STATUSES) + " |", "|---" * (len(STATUSES) + 2) + "|"]
    per_pillar = (scores or {}).get("pillars") or {}
    for pillar, counts in pillars.items():
        shown = score_text(per_pillar.get(pillar))  # the one display rule (storage.grades)
        lines.append(f"| {md(pillar)} | {shown} | " + " | ".join(str(counts.get(s, 0)) for s in STATUSES) + " |")
    if top:
        severity = {r["check_id"]: r.get("severity") for r in failing or []}
        lines += [
            "",
            "## Top failing checks (most severe first)",
            "",
            "| check | severity | name | failing |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {md(check_id)} | {md(severity.get(check_id) or '-')} | {md(name)} | {n} |" for check_id, name, n in top
        ]
        if failing:
            lines += ["", "Every failing object, with its manifest line and the fix: the findings artifact."]
    return "\n".join(lines) + "\n"


def _percent(value: Any) -> str:
    """Coverage as scores store it: already a percentage (0-100), None when nothing applied."""
    return percent_text(value) if isinstance(value, int | float) else "n/a"  # cut, never rounded up to 100
