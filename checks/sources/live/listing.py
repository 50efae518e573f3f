"""Listing one kind: pages, relists, oversized pages, the circuit breaker, and what a failure says.

Each kind ends as an :class:`Outcome`: its items, or one line for ``Snapshot.unavailable`` that
starts with a word saying what happened (``forbidden:``, ``unauthorized:``, ``not found:``,
``not installed:``, ``throttled:``, ``too large:``, ``gone:``, ``timeout:``, ``unreachable:``,
``skipped:``, ``deadline:``, ``error:``), names the resource (``apps/deployments``) and gives the HTTP
status or transport reason in parentheses. Nothing from a response body goes into it but a
Status ``reason`` that is a single CamelCase word (``InternalError``); never a header.

Pages and the watch cache (docs/api-load.md). Pages hold at most :data:`MAX_PAGE_SIZE` items,
whatever is configured. When the read uses the watch cache (``load_live`` decides: by default for
kube-apiserver 1.33 and later, which streams whole answers), the first page of each kind asks for
``resourceVersion=0&resourceVersionMatch=NotOlderThan`` ("any version not older than 0"): the API
server answers from its watch cache instead of a quorum read from etcd. kube-apiserver then
ignores ``limit`` and sends the whole collection in one answer (its cacher paginates only
consistent reads); when its cache is not ready it reads etcd, honours ``limit`` and returns a
continue token. Later pages carry only ``limit`` and ``continue`` (the API rejects
``resourceVersion`` next to ``continue``). Three answers change that:

* a whole collection larger than the response limit (``max_response_bytes``): that kind is listed
  again in plain pages (no ``resourceVersion``: a consistent read, which kube-apiserver 1.31+
  serves page by page from the cache too, older ones from etcd) and named in the report's
  ``paged_after_cache``; shrinking oversized pages then works as before;
* HTTP 400 or 422 to a first page with ``resourceVersionMatch`` (a server older than 1.19 that
  validates it, or a proxy): that page is asked for again without it, and so are the first pages
  of every kind that starts later in the run; the report's ``watch_cache`` says so;
* no answer to the whole collection within the read timeout (a server or a proxy in front of it
  that builds a large answer whole before sending a byte, where kube-apiserver 1.33+ streams it):
  that kind is listed again in plain pages, and so is every kind that starts later in the run (a
  server that did not stream one answer in time will not stream the next either); the report
  names the kind in ``paged_after_cache`` and ``cache_timeouts``, and its ``watch_cache`` says so.
  A second such timeout with no HTTP answer from the server in between is the server's silence,
  not an answer's size: that kind fails as any timeout does, and the breaker counts it;
* HTTP 410 Gone on a continue page: the kind is listed again from the first page, with
  ``resourceVersion=0`` again. The 410 means the continue token's snapshot was compacted away
  (pages took longer than etcd keeps history); a fresh "not older than 0" list is as correct as
  the first one and needs no etcd read where the cache can answer.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from checks.sources import precut
from checks.sources.live.resources import (
    JSON,
    LAST_APPLIED,
    METRICS_RESOURCES,
    OPTIONAL_KINDS,
    RESOURCES,
    SECRET_ACCEPT,
    api_path,
    resource_label,
)
from checks.sources.live.transport import Api, BodyTooLarge, Response, TransportError
from checks.sources.share import Sharer
from checks.sources.slim import slim

# A page never holds more: kubectl's and client-go's default, and what the API server's list work
# estimate (API Priority and Fairness) is tuned for; larger pages only make single answers larger.
MAX_PAGE_SIZE = 500
# The answers to a first page with resourceVersionMatch that mean "not understood": plain pages then.
CACHE_REJECTED = frozenset({400, 422})

log = logging.getLogger("checks.sources.live")

MAX_RELISTS = 3
# An oversized page is asked for again from the start with a page size this many times smaller,
# at most MAX_SHRINKS times (500 -> 50 -> 5); a kind whose smallest pages are still too large is
# unavailable.
SHRINK = 10
MAX_SHRINKS = 2
# The circuit breaker opens after this many transport failures (distinct kinds) with no HTTP answer
# in between: one kind that hangs or resets is that kind's problem, several in a row are the server's.
BREAKER_THRESHOLD = 2
_STATUS_REASON = re.compile(r"[A-Z][A-Za-z]{0,39}")


@dataclass
class Outcome:
    kind: str
    items: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    status: int | None = None  # the HTTP status that made the kind unavailable
    transport_error: bool = False
    skipped: bool = False
    deadline: bool = False  # the caller's deadline ended it


class _Gone(Exception):
    pass


class _CacheTimeout(Exception):
    """The whole collection asked for from the watch cache did not come within the read timeout."""

    def __init__(self, error: TransportError) -> None:
        super().__init__(str(error))
        self.error = error


class HttpError(Exception):
    def __init__(self, response: Response, parse_body: bool = True):
        super().__init__(response.status, response.reason)
        self.response = response
        self.status = response.status
        self.status_reason = ""
        if parse_body and response.body:
            try:
                data = json.loads(response.body)
            except (ValueError, RecursionError):
                data = None
            reason = data.get("reason") if isinstance(data, dict) else None
            # Only a Kubernetes StatusReason (one CamelCase word): a proxy's free text could quote anything.
            if isinstance(reason, str) and _STATUS_REASON.fullmatch(reason):
                self.status_reason = reason

    def message(self, kind: str, label: str) -> str:
        status, response = self.status, self.response
        if status == 404 and (kind in OPTIONAL_KINDS or kind in METRICS_RESOURCES):
            return f"not installed: {label} (HTTP 404)"
        words = {401: "unauthorized", 403: "forbidden", 404: "not found", 406: "not acceptable"}
        if status in words:
            return f"{words[status]}: {label} (HTTP {status})"
        retried = ""
        if response.gave_up:
            retried = f", {response.gave_up}"
        elif response.attempts > 1:
            retried = f", still after {response.attempts} attempts"
        if status == 429:
            return f"throttled: {label} (HTTP 429 Too Many Requests{retried})"
        detail = self.status_reason or response.reason
        return f"error: {label} (HTTP {status}{' ' + detail if detail else ''}{retried})"


class _Malformed(Exception):
    """A 200 answer that is not a usable list; ``str()`` says how, without quoting it."""


class Lister:
    """Lists kinds (from several threads) behind one circuit breaker.

    The breaker opens after :data:`BREAKER_THRESHOLD` transport failures with no HTTP answer in
    between; ``failing`` is then the last failure's reason. While it is open, one kind at a time is
    let through as a probe and the others are skipped at once; any HTTP answer closes it, and the
    caller lists skipped kinds again in another pass.
    """

    def __init__(self, api: Api, page_size: int, watch_cache: bool = True):
        self.api = api
        self.stats = api.stats
        self.page_size = min(MAX_PAGE_SIZE, max(1, page_size))
        self.watch_cache = watch_cache  # False once the server rejected resourceVersionMatch
        self.failing: str | None = None
        self._failures = 0
        self._silent_cache_timeouts = 0  # whole answers timed out since the last HTTP answer
        self._probing = False
        self._lock = threading.Lock()
        self.share = Sharer()  # every kind's equal parts held once (checks.sources.share)

    def _admit(self) -> tuple[bool, bool, str | None]:
        """``(go, as the probe, why not)`` for a kind about to start."""
        with self._lock:
            if self.failing is None:
                return True, False, None
            if self._probing:
                return False, False, self.failing
            self._probing = True
            return True, True, None

    def _answered(self) -> None:
        with self._lock:
            self._failures = 0
            self._silent_cache_timeouts = 0
            self.failing = None

    def _server_silent(self) -> bool:
        """Whether a whole answer that timed out is the server's silence rather than its size: a
        second such timeout with no HTTP answer from anything in between. The first is retried in
        plain pages and not counted by the breaker; from the second on they count as the timeouts
        they are, so a server that answers nothing costs about two timeouts, as without the cache."""
        with self._lock:
            self._silent_cache_timeouts += 1
            return self._silent_cache_timeouts > 1 or self._failures > 0

    def _failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= BREAKER_THRESHOLD or self.failing is not None:
                self.failing = reason

    def _cache_rejected(self, status: int, label: str) -> None:
        """Plain first pages for the rest of the run (logged and reported once)."""
        self.watch_cache = False
        if self.stats.cache_rejected(status):
            log.info("the API server answered HTTP %d to resourceVersionMatch (%s): plain first pages", status, label)

    def _cache_timed_out(self, kind: str, label: str, exc: TransportError) -> None:
        """Plain pages for this kind and every kind that starts later (logged once)."""
        self.watch_cache = False
        if self.stats.cache_timed_out(kind):
            log.info("%s from the watch cache: %s; plain pages from now on", label, exc)

    def list_kind(self, kind: str) -> Outcome:
        label = resource_label(kind)
        if self.api.remaining() <= 0:
            return Outcome(kind, error=f"deadline: {label} (not started before the deadline)", deadline=True)
        go, probe, failing = self._admit()
        if not go:
            message = f"skipped: {label} (API server stopped responding: {failing})"
            return Outcome(kind, error=message, transport_error=True, skipped=True)
        try:
            return self._list_kind(kind, label)
        finally:
            if probe:
                with self._lock:
                    self._probing = False

    def _list_kind(self, kind: str, label: str) -> Outcome:
        started = time.perf_counter()
        page_size = self.page_size
        from_cache = self.watch_cache
        shrinks = 0
        try:
            while True:
                try:
                    return self._list_relisting(kind, label, page_size, started, from_cache)
                except _CacheTimeout as exc:
                    if self._server_silent():
                        raise exc.error from None  # the server's failure, not this answer's: as any timeout
                    self._cache_timed_out(kind, label, exc.error)
                    from_cache = False
                    continue
                except BodyTooLarge as exc:
                    if from_cache:
                        # The cache ignores limit: this kind's whole collection is too large to take at
                        # once, so it is read page by page from here on (not counted as a shrink).
                        log.debug("%s from the watch cache exceeded the response limit; paging", label)
                        self.stats.too_large_for_cache(kind)
                        from_cache = False
                        continue
                    if shrinks == MAX_SHRINKS or page_size == 1:
                        mib = exc.limit / 1024 / 1024
                        return Outcome(
                            kind,
                            error=f"too large: {label} (a page of {page_size} exceeded the {mib:g} MiB response limit)",
                        )
                    log.debug("a page of %d %s exceeded the response limit; asking for smaller pages", page_size, label)
                    page_size = max(1, page_size // SHRINK)
                    shrinks += 1
        except TransportError as exc:
            if exc.deadline:
                return Outcome(kind, error=f"deadline: {label} ({exc})", transport_error=True, deadline=True)
            self._failed(str(exc))
            prefix = "timeout" if exc.timeout else "unreachable"
            return Outcome(kind, error=f"{prefix}: {label} ({exc})", transport_error=True)
        except HttpError as exc:
            return Outcome(kind, error=exc.message(kind, label), status=exc.status)
        except _Malformed as exc:
            return Outcome(kind, error=f"error: {label} ({exc})")
        except Exception as exc:  # a bug or a malformed answer must not sink the other kinds
            # No traceback for Secrets: an exception's text could quote a value.
            log.warning("listing %s failed: %s", label, type(exc).__name__, exc_info=kind != "Secret")
            return Outcome(kind, error=f"error: {label} (unexpected {type(exc).__name__})")

    def _list_relisting(self, kind: str, label: str, page_size: int, started: float, from_cache: bool) -> Outcome:
        for relist in range(MAX_RELISTS + 1):
            try:
                items, pages = self._list_all(kind, page_size, from_cache)
            except _Gone:
                log.debug("continue token expired listing %s (relist %d)", label, relist + 1)
                if relist < MAX_RELISTS:
                    self.stats.relisted()
                continue
            log.debug("listed %s: %d items, %d pages, %.2fs", label, len(items), pages, time.perf_counter() - started)
            return Outcome(kind, items)
        return Outcome(
            kind, error=f"gone: {label} (continue token expired {MAX_RELISTS + 1} times while paging, HTTP 410)"
        )

    def _list_all(self, kind: str, page_size: int, from_cache: bool) -> tuple[list[dict[str, Any]], int]:
        group, version, _, _ = RESOURCES.get(kind) or METRICS_RESOURCES[kind]
        api_version = f"{group}/{version}" if group else version
        is_secret = kind == "Secret" and kind in RESOURCES
        path = api_path(kind)
        accept = SECRET_ACCEPT if is_secret else JSON
        items: list[dict[str, Any]] = []
        token: str | None = None
        pages = 0
        while True:
            params: dict[str, Any] = {"limit": page_size}
            cached = from_cache and self.watch_cache and not token
            if token:
                params["continue"] = token  # alone: the API rejects resourceVersion next to continue
            elif cached:
                params["resourceVersion"] = "0"
                params["resourceVersionMatch"] = "NotOlderThan"
            if is_secret:
                params["includeObject"] = "Metadata"
            try:
                response = self.api.get(path, params, accept)
            except TransportError as exc:
                if cached and exc.timeout and not exc.deadline and self.api.remaining() > 0:
                    raise _CacheTimeout(exc) from exc
                raise
            self._answered()
            if cached and response.status in CACHE_REJECTED:
                self._cache_rejected(response.status, resource_label(kind))
                continue  # the same first page, plain
            if response.status == 410:
                raise _Gone
            if response.status != 200:
                raise HttpError(response, parse_body=not is_secret)
            data = _parse(response.body, cut=not is_secret)
            pages += 1
            self.stats.page(kind)
            if is_secret:
                items.extend(_secret_items(data))
            else:
                page = data.get("items")
                if page is None:
                    page = []
                if not isinstance(page, list):
                    raise _Malformed("the list's items are not a JSON array")
                page = [item for item in page if isinstance(item, dict)]
                for item in page:
                    item["kind"] = kind
                    item["apiVersion"] = api_version
                    slim(item)  # before the next page arrives: a large cluster's snapshot halves
                    self.share(item)
                items.extend(page)
            metadata = data.get("metadata")
            next_token = metadata.get("continue") if isinstance(metadata, dict) else None
            if not next_token:
                return items, pages
            if not isinstance(next_token, str):
                raise _Malformed("the continue token is not a string")
            if next_token == token:
                raise _Malformed("server repeated the same continue token")
            token = next_token


def _parse(body: bytes, cut: bool = False) -> dict[str, Any]:
    """The page as a mapping. ``cut``: its items are slimmed next, so what slimming drops of them
    need not be built (``checks.sources.precut``: a Secret page is read whole, its items are
    rebuilt from an allow-list instead)."""
    data = precut.parsed_page(body) if cut else None
    if data is None:
        try:
            data = orjson.loads(body)  # several times json.loads' speed on list pages
        except orjson.JSONDecodeError:
            data = _parse_strictly_as_before(body)  # NaN, huge integers, deep nesting: json's verdict
    if not isinstance(data, dict):
        raise _Malformed("response is not a JSON object")
    return data


HTML_PAGE = "an HTML page, not JSON"


def _parse_strictly_as_before(body: bytes) -> Any:
    try:
        return json.loads(body)
    except RecursionError:
        raise _Malformed("invalid JSON response: nested too deeply") from None
    except ValueError:
        # A sign-in page or a web proxy's answer where the API server was expected: said as such.
        if body.lstrip()[:1] == b"<" and b"<html" in body[:4096].lower():
            raise _Malformed(HTML_PAGE) from None
        raise _Malformed("invalid JSON response") from None


def _secret_items(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Secrets from a Table, a PartialObjectMetadataList or (server ignored Accept) a SecretList."""
    out: list[dict[str, Any]] = []
    if data.get("kind") == "Table":
        columns = [str(c.get("name") or "").lower() for c in data.get("columnDefinitions") or [] if isinstance(c, dict)]
        type_at = columns.index("type") if "type" in columns else None
        for row in data.get("rows") or []:
            if not isinstance(row, dict):
                continue
            cells = row.get("cells") if isinstance(row.get("cells"), list) else []
            secret_type = cells[type_at] if type_at is not None and type_at < len(cells) else None
            obj = row.get("object")
            out.append(_safe_secret(obj.get("metadata") if isinstance(obj, dict) else None, secret_type))
    else:
        for item in data.get("items") or []:
            if isinstance(item, dict):
                out.append(_safe_secret(item.get("metadata"), item.get("type")))
    return out


def _safe_secret(meta: Any, secret_type: Any) -> dict[str, Any]:
    """A Secret rebuilt from an allow-list: metadata (minus value-bearing fields) and type."""
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        meta["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": meta}
    if isinstance(secret_type, str) and secret_type:
        secret["type"] = secret_type
    return secret
