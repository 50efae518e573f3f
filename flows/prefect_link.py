"""kwa's link to the Prefect API, and what a run does when the API goes away.

A run's results and state are kwa's: checks run in forked worker lanes and their rows go to kwa's
own database, so nothing a run must keep depends on the Prefect API. What Prefect 3.8.8 does when
its server dies mid-run (measured here, server SIGKILLed 0.5 s into the checks): every API call
retries a lost connection ``PREFECT_CLIENT_MAX_RETRIES`` (5) times with exponential back-off
(2, 4, 8, 16, 32 s: about a minute per call), each event waits for up to 10 websocket
reconnections, the API log worker prints "--- Error logging to API ---" for every batch, and the
engine's last failed state proposal ends in an httpx traceback; the run took 153 s to end, with
no result kept. Here instead:

- **One breaker for every Prefect client in the process.** Each attempt a Prefect HTTP client makes
  goes through it. While a connection-level failure (refused, reset) lasts for
  :data:`GRACE_SECONDS` without one success in between, or a slow one (timed out, a 502/503/504:
  an overloaded server, or a proxy in front of a dead one) lasts for :data:`SLOW_GRACE_SECONDS`,
  the link is *down*: the attempt in flight ends at once with :class:`PrefectUnavailable` (which
  Prefect does not retry), and so does every later call but one every :data:`RETRY_SECONDS`, which
  finds the API again when it returns. A restart shorter than the grace period is ridden out by
  Prefect's own retries, and so is a server that is only busy (twenty runs started at once).
- **One warning.** The moment the link goes down, one line on stderr says so and what happens
  next; the API log worker's per-batch "Error logging to API" lines and the events worker's
  reconnection attempts stop (logs and events of a run whose API is gone are dropped, not queued).
- **Reconciled later.** The flow run is left in whatever state Prefect last heard; kwa's run
  records ``prefect_sync = pending``, and :func:`reconcile` (called as the run ends if the API is
  back, and by ``kwa runs reap``) sets the flow run's state to mirror kwa's.

Patching Prefect's client classes is deliberate and pinned (``prefect==3.8.8``); like
``flows/prefect_server.py`` it touches one method per class and is covered by the fault tests.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger("kwa.prefect")

GRACE_SECONDS = 5.0  # how long refused / reset connections may last before kwa stops calling the API
SLOW_GRACE_SECONDS = 60.0  # the same for timeouts and 502/503/504: a busy server is not a dead one
RETRY_SECONDS = 30.0  # while down, one call is let through this often to find the API again
REQUEST_TIMEOUT = "20"  # seconds per API request for kwa's processes (Prefect's default is 60)
_DOWN_STATUS = frozenset({502, 503, 504})
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    httpx.TransportError,
    OSError,  # websockets' refused / reset connections
    TimeoutError,
)


class PrefectUnavailable(httpx.TransportError):
    """The Prefect API is unreachable and kwa stopped calling it (not retried by Prefect's client)."""


class Link:
    """Whether this process can talk to the Prefect API (a circuit breaker with one warning)."""

    def __init__(
        self,
        grace: float = GRACE_SECONDS,
        say: Callable[[str], None] | None = None,
        retry_every: float = RETRY_SECONDS,
        slow_grace: float | None = None,
    ) -> None:
        self.grace = grace
        self.slow_grace = slow_grace if slow_grace is not None else max(grace, SLOW_GRACE_SECONDS)
        self._patience = grace  # the grace of the latest failure's kind
        self.retry_every = retry_every
        self._probing = False
        self._probe_at = 0.0
        self._down_at = 0.0
        self._say = say or (lambda text: _stderr(text))
        self._lock = threading.Lock()
        self._failing_since: float | None = None  # monotonic start of the attempt that first failed
        self.down_since: datetime | None = None
        self.reason: str = ""
        self.warned = False

    @property
    def down(self) -> bool:
        return self.down_since is not None

    @property
    def degraded(self) -> bool:
        """The link failed at some point of this process's life (down now, or was)."""
        return self.down or self.warned

    def failed(self, exc: BaseException | str, started: float | None = None) -> bool:
        """Record a connection-level failure of an attempt begun at ``started``; True when down."""
        now = time.monotonic()
        with self._lock:
            if self._probing:  # the one attempt let through while down failed too
                self._probing = False
                self._down_at = now
                return True
            if self._failing_since is None:
                self._failing_since = started if started is not None else now
                # Prefect's API log worker writes every failed batch to stderr while this is True.
                logging.raiseExceptions = False
            self.reason = _describe(exc)
            self._patience = self.slow_grace if _slow(exc) else self.grace
            if not self.down and now - self._failing_since >= self._patience:
                self._go_down()
            return self.down

    def succeeded(self) -> None:
        with self._lock:
            if self._probing:  # the API is back: calls go through again
                self._probing = False
                self._failing_since = None
                self.down_since = None
            elif not self.down:
                self._failing_since = None

    def expired(self) -> bool:
        """Whether calls must not be attempted now (checked before each attempt).

        True once failures have lasted past the grace period. While down, one attempt every
        ``retry_every`` seconds is let through, so a long-lived process (a long run, ``kwa fleet``)
        finds the API again when it returns; if it fails, the link stays down without waiting.
        """
        now = time.monotonic()
        with self._lock:
            failing = self._failing_since
            if not self.down and failing is not None and now - failing >= self._patience:
                self._go_down()
            # A probe whose outcome never came back (cancelled mid-call) does not block the next.
            last_try = max(self._down_at, self._probe_at if self._probing else 0.0)
            if self.down and now - last_try >= self.retry_every:
                self._probing, self._probe_at = True, now
                return False
            return self.down

    def reset(self) -> None:
        """The API answers again (a health probe said so): calls go through again."""
        with self._lock:
            self._failing_since = None
            self._probing = False
            self.down_since = None

    def unavailable(self, request: httpx.Request | None = None) -> PrefectUnavailable:
        return PrefectUnavailable(f"the Prefect API is unreachable ({self.reason})", request=request)

    def _go_down(self) -> None:
        self.down_since = datetime.now(UTC)
        self._down_at = time.monotonic()
        if not self.warned:
            self.warned = True
            self._say(
                f"warning: the Prefect API at {api_url() or 'its configured URL'} stopped answering "
                f"({self.reason}); kwa goes on without it: the checks keep running and every result is "
                "stored in kwa's database. The Prefect UI will not show the rest of this run; its flow "
                "run is set to kwa's final state once the API answers again (or by `kwa runs reap`)."
            )


LINK = Link()
_installed = threading.Lock()
_done: list[bool] = []


def install() -> None:
    """Put the breaker in front of every Prefect client of this process (idempotent)."""
    with _installed:
        if _done:
            return
        _patch_http_clients()
        _patch_workers()
        from flows import flow_parameters, prefect_tls

        prefect_tls.install()  # one TLS context per process, not one per client

        flow_parameters.install()  # flow runs are created without importing FastAPI
        _done.append(True)


def bound_requests() -> None:
    """A 20 s request timeout for kwa's own processes unless the user chose one (call before Prefect
    is imported): a server that accepts connections but never answers holds a call for one timeout."""
    os.environ.setdefault("PREFECT_API_REQUEST_TIMEOUT", REQUEST_TIMEOUT)


def _patch_http_clients() -> None:
    from prefect.client import base

    async_original = base.PrefectHttpxAsyncClient._send_with_retry
    sync_original = base.PrefectHttpxSyncClient._send_with_retry

    async def async_send_with_retry(self: Any, request: httpx.Request, send: Any, *args: Any, **kw: Any) -> Any:
        async def guarded(req: httpx.Request, *a: Any, **k: Any) -> Any:
            if LINK.expired():
                raise LINK.unavailable(req)
            started = time.monotonic()
            try:
                response = await send(req, *a, **k)
            except _CONNECTION_ERRORS as exc:
                if LINK.failed(exc, started):
                    raise LINK.unavailable(req) from None
                raise
            _observe(response, started)
            if LINK.down:
                raise LINK.unavailable(req)
            return response

        return await async_original(self, request, guarded, *args, **kw)

    def sync_send_with_retry(self: Any, request: httpx.Request, send: Any, *args: Any, **kw: Any) -> Any:
        def guarded(req: httpx.Request, *a: Any, **k: Any) -> Any:
            if LINK.expired():
                raise LINK.unavailable(req)
            started = time.monotonic()
            try:
                response = send(req, *a, **k)
            except _CONNECTION_ERRORS as exc:
                if LINK.failed(exc, started):
                    raise LINK.unavailable(req) from None
                raise
            _observe(response, started)
            if LINK.down:
                raise LINK.unavailable(req)
            return response

        return sync_original(self, request, guarded, *args, **kw)

    base.PrefectHttpxAsyncClient._send_with_retry = async_send_with_retry  # type: ignore[method-assign]
    base.PrefectHttpxSyncClient._send_with_retry = sync_send_with_retry  # type: ignore[method-assign]


def _observe(response: httpx.Response, started: float) -> None:
    if response.status_code in _DOWN_STATUS:
        LINK.failed(f"HTTP {response.status_code} from the API", started)
    else:
        LINK.succeeded()


def _patch_workers() -> None:
    """Logs and events of a run whose API is gone are dropped instead of retried one by one."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    handle_event = EventsWorker._handle
    handle_logs = APILogWorker._handle_batch

    async def events_handle(self: Any, event: Any) -> None:
        if LINK.expired():
            return
        started = time.monotonic()
        try:
            await handle_event(self, event)
            LINK.succeeded()
        except _CONNECTION_ERRORS as exc:
            LINK.failed(exc, started)
        except Exception as exc:  # websockets' ConnectionClosed and friends
            if "websockets" in type(exc).__module__:
                LINK.failed(exc, started)
            else:
                raise

    async def logs_handle(self: Any, items: list[dict[str, Any]]) -> None:
        if LINK.expired():
            return
        await handle_logs(self, items)

    EventsWorker._handle = events_handle  # type: ignore[method-assign]
    APILogWorker._handle_batch = logs_handle  # type: ignore[method-assign]


# ---- health, and mirroring kwa's state in Prefect ------------------------------------------------------


def api_url() -> str | None:
    url = os.environ.get("PREFECT_API_URL")
    if url:
        return url
    with contextlib.suppress(Exception):
        from prefect.settings import get_current_settings

        configured = get_current_settings().api.url
        return str(configured) if configured else None
    return None


def healthy(url: str | None = None, timeout: float = 1.0) -> bool:
    url = url or api_url()
    if not url:
        return False
    from flows.server import healthy as url_healthy

    return url_healthy(url, timeout)


def answering(timeout: float = 1.0) -> bool:
    """Probe the API once; when it answers, a down link is reset so calls go through again."""
    if healthy(timeout=timeout):
        LINK.reset()
        return True
    return False


def wanted_state(run: dict[str, Any]) -> Any:
    """The Prefect state mirroring a terminal kwa run (None for an active one).

    completed → Completed, partial → Completed named "Partial", failed → Failed (Crashed when its
    runner was lost), aborted → Cancelled; the message is kwa's error or reason.
    """
    from prefect.states import Cancelled, Completed, Crashed, Failed

    state, message = run.get("state"), run.get("error") or None
    if state == "completed":
        return Completed(message=f"kwa run {run['run_id']} completed")
    if state == "partial":
        return Completed(name="Partial", message=message or f"kwa run {run['run_id']} partial")
    if state == "failed":
        if message and message.startswith("runner lost"):
            return Crashed(message=message)
        return Failed(message=message or "failed")
    if state == "aborted":
        return Cancelled(message=message or "aborted")
    return None


def mirrors(current: Any, wanted: Any) -> bool:
    return current is not None and current.type == wanted.type and current.name == wanted.name


def reconcile(client: Any, run: dict[str, Any]) -> str | None:
    """Set the run's Prefect flow run to mirror kwa's terminal state; returns what was done (None:
    it already did). Raises what the client raises (the caller decides what stays pending)."""
    wanted = wanted_state(run)
    flow_run_id = run.get("prefect_flow_run_id")
    if wanted is None or not flow_run_id:
        return None
    current = client.read_flow_run(flow_run_id).state
    if mirrors(current, wanted):
        return None
    client.set_flow_run_state(flow_run_id, wanted, force=True)
    return f"Prefect flow run {flow_run_id}: {current.name if current else 'no state'} -> {wanted.name}"


def _slow(exc: BaseException | str) -> bool:
    """A failure of a server that may only be busy: a timeout, or a 502/503/504 answer."""
    if isinstance(exc, str):
        return exc.startswith("HTTP ")
    return isinstance(exc, httpx.TimeoutException | TimeoutError)


def _describe(exc: BaseException | str) -> str:
    if isinstance(exc, str):
        return exc
    text = str(exc).strip() or _PLAIN.get(type(exc).__name__, "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_PLAIN = {
    "ReadError": "the connection was lost",
    "WriteError": "the connection was lost",
    "ConnectError": "connection refused",
    "RemoteProtocolError": "the server closed the connection",
    "ReadTimeout": "no answer in time",
    "ConnectTimeout": "no connection in time",
}


def _stderr(text: str) -> None:
    with contextlib.suppress(Exception):
        print(text, file=sys.stderr, flush=True)
