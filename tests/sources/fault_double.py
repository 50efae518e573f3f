"""A Kubernetes API double on 127.0.0.1 that misbehaves on demand, in a background thread.

Unlike the kmock double (which lives on the test's event loop), this one is a plain
``ThreadingHTTPServer``: it keeps serving while the test blocks, so it also serves the real ``kwa``
command running in a subprocess. It answers ``/version``, every list path kwa reads (paginated
with ``limit`` + ``continue``, items without ``kind``/``apiVersion``; Secrets as the metadata-only
Table), 404 for the add-on CRDs and metrics unless given objects, and whatever fault a test plants
for a path:

* :class:`Status` — an HTTP status with a Kubernetes ``Status`` body and optional headers
  (``Retry-After``); ``echo=True`` makes the body quote the request's Authorization header and
  token back, in ``message`` *and* ``reason``, as a careless proxy or webhook would;
* :class:`Raw` — any status and body bytes (malformed JSON, a body echoing the token);
* :class:`Reset` — the connection is reset (RST) after the request is read;
* :class:`Hang` — no answer until the double stops (or ``seconds`` pass);
* :class:`Trickle` — headers at once, then the body one byte every ``interval`` seconds;
* :class:`SlowHeaders` — the status line and headers themselves, one byte every ``interval`` seconds;
* :class:`Oversized` — a 200 whose valid JSON body is ``size`` bytes long, streamed.

``double.expire_continue`` holds list paths whose continue tokens always expire (410 Gone).
Like kube-apiserver where asked: ``cache_whole`` answers a first page with ``resourceVersion=0``
whole (its watch cache ignores ``limit``), ``reject_rv_match`` answers that status (400, 422) to
any request with ``resourceVersionMatch`` (a server or proxy that does not know it), ``gzip_lists``
compresses list answers when the request accepts gzip, ``list_delay`` holds each list answer that
long. It counts what it served: ``in_flight``/``max_in_flight`` (requests being answered at once),
``bytes_sent`` (response bodies as sent) and ``bytes_plain`` (the same, uncompressed).
``double.fault(kind_or_path, *responses)`` serves the responses to the next requests in order and
then serves normally again; ``double.always(kind_or_path, response)`` serves it to every request.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from checks.sources.live import METRICS_RESOURCES, OPTIONAL_KINDS, RESOURCES, api_path
from tests.sources.k8s_double import status as status_body

# The CRD-backed add-ons a cluster may lack; the double serves every other kind, the admission
# policies of a 1.30+ server included.
ADD_ONS = tuple(k for k in OPTIONAL_KINDS if RESOURCES[k][0] != "admissionregistration.k8s.io")
VERSION = {"major": "1", "minor": "29", "gitVersion": "v1.29.4", "platform": "linux/amd64"}


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    headers: dict[str, str]  # names lower-cased


@dataclass
class Status:
    code: int
    reason: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    echo: bool = False


@dataclass
class Raw:
    code: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Reset:
    pass


@dataclass
class Hang:
    seconds: float | None = None


@dataclass
class Trickle:
    interval: float = 2.0
    size: int = 10_000


@dataclass
class Oversized:
    size: int


@dataclass
class SlowHeaders:
    interval: float = 0.5


class ApiDouble:
    def __init__(
        self,
        objects: dict[str, list[dict[str, Any]]] | None = None,
        absent: tuple[str, ...] = (*ADD_ONS, *METRICS_RESOURCES),
    ):
        self.objects = objects or {}
        self.version = dict(VERSION)  # what /version answers
        self.paths = {api_path(kind): kind for kind in (*RESOURCES, *METRICS_RESOURCES) if kind not in absent}
        self.requests: list[Seen] = []
        self._faults: dict[str, list[Any]] = {}
        self._always: dict[str, Any] = {}
        self.expire_continue: set[str] = set()  # paths whose continue tokens always answer 410 Gone
        self.cache_whole = False
        self.reject_rv_match: int | None = None
        self.gzip_lists = False
        self.list_delay = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent = 0
        self.bytes_plain = 0
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="api-double", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ApiDouble:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def _key(self, target: str) -> str:
        return target if target.startswith("/") or target == "*" else api_path(target)

    def fault(self, target: str, *responses: Any) -> None:
        """Serve ``responses`` to the next requests for ``target`` (a kind, a path or ``*``: every list)."""
        with self._lock:
            self._faults.setdefault(self._key(target), []).extend(responses)

    def always(self, target: str, response: Any) -> None:
        with self._lock:
            self._always[self._key(target)] = response

    def requests_for(self, target: str) -> list[Seen]:
        key = self._key(target)
        return [r for r in self.requests if r.path == key]

    def planned(self, path: str) -> Any:
        with self._lock:
            for key in (path, "*" if path != "/version" else None):
                if key is None:
                    continue
                queue = self._faults.get(key)
                if queue:
                    return queue.pop(0)
                if key in self._always:
                    return self._always[key]
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    double: ApiDouble

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        double = self.double
        with double._lock:
            double.in_flight += 1
            double.max_in_flight = max(double.max_in_flight, double.in_flight)
        try:
            self._get()
        finally:
            with double._lock:
                double.in_flight -= 1

    def _get(self) -> None:
        url = urlsplit(self.path)
        seen = Seen(url.path, dict(parse_qsl(url.query)), {k.lower(): v for k, v in self.headers.items()})
        self.double.requests.append(seen)
        fault = self.double.planned(url.path)
        if fault is None and self.double.reject_rv_match and "resourceVersionMatch" in seen.params:
            code = self.double.reject_rv_match
            fault = Status(code, "BadRequest" if code == 400 else "Invalid", "resourceVersionMatch: unsupported")
        if fault is None and url.path in self.double.expire_continue and seen.params.get("continue"):
            fault = Status(410, "Expired", "continue token too old")
        try:
            if fault is not None:
                self._fault(fault, seen)
            elif url.path == "/version":
                self._json(200, self.double.version)
            elif url.path in self.double.paths:
                if self.double.list_delay:
                    time.sleep(self.double.list_delay)
                self._list(self.double.paths[url.path], seen)
            else:
                self._json(404, status_body(404, "NotFound", f"the server could not find {url.path}"))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        plain = len(body)
        if code == 200 and self.double.gzip_lists and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        with self.double._lock:
            self.double.bytes_sent += len(body)
            self.double.bytes_plain += plain
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, doc: Any, headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(doc).encode(), headers)

    def _list(self, kind: str, seen: Seen) -> None:
        items = self.double.objects.get(kind, [])
        limit = int(seen.params.get("limit") or 0) or len(items) or 1
        if self.double.cache_whole and seen.params.get("resourceVersion") == "0" and not seen.params.get("continue"):
            limit = len(items) or 1
        start = int(seen.params.get("continue", "offset-0").removeprefix("offset-") or 0)
        page, more = items[start : start + limit], start + limit < len(items)
        meta = {"resourceVersion": "1", "continue": f"offset-{start + limit}" if more else ""}
        if kind == "Secret":
            rows = [
                {"cells": [s["metadata"]["name"], s.get("type", "Opaque"), 1, "1d"], "object": {"metadata": meta}}
                for s in page
                for meta in [s["metadata"]]
            ]
            columns = [{"name": n} for n in ("Name", "Type", "Data", "Age")]
            self._json(200, {"kind": "Table", "metadata": meta, "columnDefinitions": columns, "rows": rows})
            return
        self._json(200, {"kind": f"{kind}List", "apiVersion": "v1", "metadata": meta, "items": page})

    def _fault(self, fault: Any, seen: Seen) -> None:
        if isinstance(fault, Status):
            reason, message = fault.reason, fault.message
            if fault.echo:
                auth = seen.headers.get("authorization", "")
                token = auth.partition(" ")[2]
                message = f"{message} Authorization: {auth}; token={token}; headers={seen.headers!r}"
                reason = token or reason
            self._json(fault.code, status_body(fault.code, reason, message), fault.headers)
        elif isinstance(fault, Raw):
            self._send(fault.code, fault.body, fault.headers)
        elif isinstance(fault, Reset):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif isinstance(fault, Hang):
            self.double.stopping.wait(fault.seconds)
            self.close_connection = True
        elif isinstance(fault, Trickle):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(fault.size))
            self.end_headers()
            self.wfile.flush()
            for _ in range(fault.size):
                if self.double.stopping.wait(fault.interval):
                    break
                self.wfile.write(b" ")
                self.wfile.flush()
            self.close_connection = True
        elif isinstance(fault, SlowHeaders):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: x\r\n" * 1000
            for byte in head:
                if self.double.stopping.wait(fault.interval):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            self.close_connection = True
        elif isinstance(fault, Oversized):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in _big_list(fault.size):
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            raise TypeError(f"unknown fault {fault!r}")


def _big_list(size: int) -> Iterator[bytes]:
    """A valid JSON list of about ``size`` bytes, in 1 MiB chunks."""
    item = json.dumps({"metadata": {"name": "x", "namespace": "big"}, "data": {"pad": "x" * 1000}}).encode()
    yield b'{"kind":"List","metadata":{},"items":[' + item
    sent = len(item)
    chunk = (b"," + item) * 1000
    while sent < size:
        yield chunk
        sent += len(chunk)
    yield b"]}"


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False
