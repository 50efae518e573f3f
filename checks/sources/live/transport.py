"""One bounded GET against the API server, retried where a retry can help.

Every wait is bounded twice:

* **per read**: connecting and every socket read time out after ``request_timeout`` seconds
  without a byte (urllib3 ``Timeout(connect, read)``, retries off);
* **per request**: a request, headers and body together, ends at its own total deadline
  (``request_total``, default ``max(60, 6 x request_timeout)`` seconds) or at the caller's
  deadline (``load_live(deadline=…)``), whichever is first. The body is read in chunks
  (``read1``: one socket read each) against that deadline, and a watchdog thread shuts the
  request's socket down when the deadline passes (:mod:`~checks.sources.live.deadlines`), so a
  server trickling one byte every two seconds (in the body or in the headers) cannot hold a request
  longer than its deadline.

Bounded size: a response body may hold at most ``max_response_bytes`` (default 64 MiB) *after*
decompression: ``Content-Length`` is checked before reading, gzip is inflated here with a bounded
output size, so a small compressed body cannot inflate past the limit either. The lister answers an
oversized page by asking for smaller pages.

Retries (only GETs are ever sent, so every request is idempotent):

* 429 Too Many Requests and 503 Service Unavailable honour ``Retry-After`` (delta-seconds or an
  HTTP date), capped at :data:`RETRY_AFTER_CAP` seconds, plus up to 25 % jitter so throttled
  workers do not return in lockstep; without the header they back off 0.5, 1, 2 s (+ jitter);
* 502 Bad Gateway and 504 Gateway Timeout (a proxy or load balancer in front of the API server,
  usually transient) back off the same way;
* at most :data:`MAX_ATTEMPTS` attempts; a wait that would pass the deadline is not started;
* 500 and other 5xx are not retried: kube-apiserver answers 500 for persistent faults (a broken
  conversion webhook, an etcd error for one resource) that a retry seconds later does not fix, and
  the kind is reported unavailable at once instead of delaying the run;
* a connection reset or closed before the response (a stale keep-alive connection, a load
  balancer recycling connections) is retried once; a timeout is never retried (it already cost
  ``request_timeout``).

Counting: every request sent, its status and its body bytes (on the wire and decompressed) go to
the read's :class:`~checks.sources.live.stats.ApiStats` (docs/api-load.md).

Compression: ``Accept-Encoding: gzip`` is sent (``compress=False``: ``identity``). kube-apiserver
gzips list responses larger than 128 KB when asked (``APIResponseCompression``, on by default since
1.16); JSON lists shrink about tenfold, so a run reads a tenth of the bytes over the network for
some CPU on both sides (measured in docs/api-load.md#compression).

Messages never carry a response body, a request header or a URL's userinfo; the HTTP reason phrase
is the standard one for the status, never the server's.
"""

from __future__ import annotations

import email.utils
import http
import random
import re
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import redaction
from checks.sources.live.deadlines import Guard, Watchdog, current, install_guards
from checks.sources.live.kubeconfig import BadCredential, Target, clean_header
from checks.sources.live.resources import JSON, USER_AGENT
from checks.sources.live.stats import ApiStats

MAX_ATTEMPTS = 4
RETRY_AFTER_CAP = 10.0
BACKOFF = (0.5, 1.0, 2.0)
RETRY_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
ERROR_BODY_BYTES = 64 * 1024  # an error's Status document: only its reason is used
READ_CHUNK = 256 * 1024


class TransportError(Exception):
    """No (complete) HTTP answer: refused, reset, timed out, TLS failure. ``str()`` is safe to show.

    ``deadline`` is True when the caller's deadline (not a per-request bound) ended it.
    """

    def __init__(self, message: str, *, timeout: bool = False, deadline: bool = False, retry: bool = False):
        super().__init__(message)
        self.timeout = timeout or deadline
        self.deadline = deadline
        self.retry = retry


class BodyTooLarge(Exception):
    def __init__(self, limit: int):
        super().__init__(f"response larger than {limit / 1024 / 1024:g} MiB")
        self.limit = limit


@dataclass
class Response:
    status: int
    reason: str  # the standard phrase for ``status``
    body: bytes
    attempts: int = 1
    gave_up: str = ""  # why retrying stopped early ("Retry-After 30s would pass the deadline")


def phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


# ---- the API ------------------------------------------------------------------------------------


class Api:
    """GETs with the configuration's auth headers through the client's pool manager, bounded."""

    def __init__(
        self,
        target: Target,
        pool_manager: Any,
        *,
        request_timeout: float,
        request_total: float | None = None,
        deadline: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        stats: ApiStats | None = None,
        compress: bool = True,
    ):
        self.target = target
        self.stats = stats if stats is not None else ApiStats(page_size=0, concurrency=1)
        self.compress = compress
        self.base = target.configuration.host.rstrip("/")
        self.pool = pool_manager
        self.request_timeout = float(request_timeout)
        self.request_total = float(request_total) if request_total else max(60.0, 6 * self.request_timeout)
        self.deadline = deadline
        self.max_response_bytes = int(max_response_bytes)
        self.started = time.monotonic()
        self._auth_lock = threading.Lock()
        self._watchdog = Watchdog()
        install_guards(pool_manager)

    def close(self) -> None:
        self._watchdog.stop()

    def remaining(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def _headers(self, accept: str) -> dict[str, str]:
        encoding = "gzip" if self.compress else "identity"
        headers = {"Accept": accept, "Accept-Encoding": encoding, "User-Agent": USER_AGENT}
        # auth_settings() may run a refresh hook (exec plugin, rotated service-account token): one at a time.
        with self._auth_lock:
            settings = self.target.configuration.auth_settings()
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                value = str(setting["value"])
                if str(setting.get("key")).lower() == "authorization":
                    value = clean_header(value, self.target.origin)
                headers[setting["key"]] = value
        return headers

    def get(self, path: str, params: dict[str, Any] | None = None, accept: str = JSON) -> Response:
        """The answer to one GET, after the retries above; raises :class:`TransportError` when
        there is none and :class:`BodyTooLarge` when a 200 body exceeds the limit."""
        url = self.base + path + ("?" + urlencode(params) if params else "")
        resets = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                status, headers, body = self._once(url, accept, retry=attempt > 1)
            except TransportError as exc:
                if exc.retry and resets == 0 and self.remaining() > 0:
                    resets += 1
                    continue
                raise
            if status not in RETRY_STATUSES or attempt == MAX_ATTEMPTS:
                return Response(status, phrase(status), body, attempt)
            delay, asked = self._delay(status, headers.get("Retry-After"), attempt)
            if delay >= self.remaining():
                wait = f"Retry-After {asked:g}s" if asked is not None else f"a retry in {delay:.1f}s"
                return Response(status, phrase(status), body, attempt, gave_up=f"{wait} would pass the deadline")
            time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, status: int, retry_after: str | None, attempt: int) -> tuple[float, float | None]:
        """How long to wait before the next attempt, and the server's ``Retry-After`` if it gave one."""
        base = BACKOFF[min(attempt, len(BACKOFF)) - 1]
        asked = parse_retry_after(retry_after) if status in (429, 503) and retry_after else None
        if asked is not None:
            base = min(asked, RETRY_AFTER_CAP)
        return base + random.uniform(0, 0.25 * base + 0.05), asked

    def _once(self, url: str, accept: str, retry: bool = False) -> tuple[int, Any, bytes]:
        import urllib3

        now = time.monotonic()
        by_caller = self.deadline is not None and self.deadline <= now + self.request_total
        deadline = self.deadline if by_caller else now + self.request_total
        if deadline - now <= 0:
            raise TransportError("the deadline passed before the request was sent", deadline=True)
        wait = min(self.request_timeout, deadline - now)
        try:
            headers = self._headers(accept)
        except BadCredential as exc:
            raise TransportError(str(exc)) from None
        guard = Guard(self._watchdog, deadline)
        resp = None
        complete = False
        self.stats.sent(retry)
        try:
            current(guard)
            try:
                resp = self.pool.request(
                    "GET",
                    url,
                    headers=headers,
                    timeout=urllib3.Timeout(connect=wait, read=wait),
                    retries=False,
                    redirect=False,
                    preload_content=False,
                    decode_content=False,
                )
                limit = self.max_response_bytes if resp.status == 200 else ERROR_BODY_BYTES
                body, complete = self._read_body(resp, deadline, limit, truncate=resp.status != 200)
            finally:
                current(None)
                guard.disarm()
        except BodyTooLarge:
            self.stats.done(resp.status if resp is not None else None)
            _discard(resp)
            raise
        except Exception as exc:
            self.stats.done(None)
            _discard(resp)
            if guard.fired or time.monotonic() >= deadline:
                raise self._expired(deadline, by_caller, resp is not None) from None
            raise _transport_error(exc, self.request_timeout) from None
        if guard.fired:
            _discard(resp)  # shut down: never reused
            self.stats.done(None)
            raise self._expired(deadline, by_caller, True)
        self.stats.done(resp.status)
        if complete:
            resp.release_conn()
        else:
            _discard(resp)  # a connection with unread bytes must not be reused
        return resp.status, resp.headers, body

    def _expired(self, deadline: float, by_caller: bool, answered: bool) -> TransportError:
        what = "response body still arriving" if answered else "no complete response"
        if by_caller:
            return TransportError(f"{what} when the deadline passed", deadline=True)
        return TransportError(f"{what} within {self.request_total:g}s", timeout=True)

    def _read_body(self, resp: Any, deadline: float, limit: int, truncate: bool) -> tuple[bytes, bool]:
        """The decoded body, read one socket read at a time; ``(body, read to the end)``."""
        length = resp.headers.get("Content-Length", "")
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        declared = int(length) if length.isascii() and length.isdigit() else None  # '²' is a digit int() refuses
        if encoding in ("", "identity") and declared is not None and declared > limit and not truncate:
            raise BodyTooLarge(limit)
        if encoding == "gzip":
            self.stats.compressed()
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = zlib.decompressobj()
        elif encoding in ("", "identity"):
            decoder = None
        else:
            raise TransportError(f"unsupported Content-Encoding {encoding[:20]!r}")
        sock = getattr(getattr(resp, "connection", None), "sock", None)
        parts: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline")
            if sock is not None:
                sock.settimeout(min(self.request_timeout, remaining))
            chunk = resp.read1(READ_CHUNK, decode_content=False)
            if not chunk:
                break
            wire = len(chunk)
            if decoder is not None:
                chunk = decoder.decompress(chunk, limit - size + 1)
            self.stats.body(wire, len(chunk))
            size += len(chunk)
            if size > limit:
                if truncate:
                    parts.append(chunk[: len(chunk) - (size - limit)])
                    return b"".join(parts), False
                raise BodyTooLarge(limit)
            parts.append(chunk)
        if decoder is not None:
            tail = decoder.flush()
            self.stats.body(0, len(tail))
            if size + len(tail) > limit and not truncate:
                raise BodyTooLarge(limit)
            parts.append(tail[: max(0, limit - size)])
        return b"".join(parts), True


def _discard(resp: Any) -> None:
    if resp is not None:
        resp.close()
        resp.release_conn()


def parse_retry_after(value: str) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (None when neither)."""
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²' is a digit float() refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # an HTTP date is GMT
        import datetime

        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - time.time())


def _transport_error(exc: BaseException, request_timeout: float) -> TransportError:
    import urllib3

    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # subclasses ConnectTimeoutError in urllib3 2
        return TransportError(short(exc))
    if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError | socket.timeout):
        return TransportError(f"no response within {request_timeout:g}s", timeout=True)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return TransportError(f"TLS error: {short(exc)}")
    if isinstance(exc, urllib3.exceptions.ProxyError):
        return TransportError(f"proxy error: {short(exc)}")
    if isinstance(exc, urllib3.exceptions.ProtocolError | ConnectionError):
        return TransportError(f"connection broken: {short(exc)}", retry=True)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return TransportError(short(exc))
    if isinstance(exc, ValueError | UnicodeError):  # http.client refusing a header or URL
        return TransportError(f"the request could not be sent ({type(exc).__name__})")
    return TransportError(f"unexpected {type(exc).__name__}")


def short(exc: BaseException) -> str:
    """A one-line reason for a transport error (the innermost cause, without the pool object's repr)."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        exc = reason
    if isinstance(exc, Exception) and exc.args and isinstance(exc.args[-1], BaseException):
        exc = exc.args[-1]  # ProtocolError('Connection aborted.', ConnectionResetError(…))
    text = str(exc)
    # urllib3: "<urllib3.connection.HTTPConnection object at 0x..>: Failed to establish ...: [Errno 111] ..."
    text = re.sub(r"^<[^>]*>:\s*", "", text)
    text = re.sub(r"\w*HTTPS?Connection(Pool)?\([^)]*\):\s*", "", text)
    text = redaction.redact(text)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
