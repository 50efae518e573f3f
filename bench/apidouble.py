"""A Kubernetes API double on 127.0.0.1 serving a dump's objects, paginated, and the live-listing timing.

Usage: ``python -m bench.apidouble --json cluster.json [--page-size 500] [--repeat 3] [--workers 2 4 8]
[--no-watch-cache] [--no-gzip] [--honour-limit-on-rv0] [--latency 0.1] [--max-response-bytes N]``

The double runs in its own process (so its JSON encoding does not compete with the client for the
GIL) on a ``ThreadingHTTPServer``: ``/version``, and for every kind kwa lists its cluster-wide list
path with ``limit`` + ``continue`` pagination, items without ``kind``/``apiVersion`` as a real API
server sends them. Secrets are served as the metadata-only ``Table`` kwa negotiates. Kinds the dump
lacks answer an empty list, add-on CRDs and metrics.k8s.io answer 404 (not installed). Pages are
encoded once and cached, so the timing is kwa's: requests, JSON parsing, object wrapping.

Like kube-apiserver, a list with ``resourceVersion=0`` is answered whole, ignoring ``limit`` (the
watch cache does not paginate it; ``--honour-limit-on-rv0`` pages it anyway, as a server whose
cache is not ready does), and an answer of 128 KiB or more is gzip-compressed when the request
accepts gzip (compressed once and cached too). ``GET /_stats`` reports what the double served:
requests, list pages, first pages that asked for the watch cache, continue pages, the most
requests in flight at once and the body bytes sent (``?reset=1`` zeroes the counters).
With ``reports=`` (:class:`ApiDouble`), the policy-report kinds are served read-write by
:mod:`bench.reportstore` (discovery, apply, create, replace, delete, lists by label selector);
without it their groups answer 404, as a cluster without the CRDs does.
A double that claims 1.33 or later (the default, 1.34.1) streams a list of more than 500 items
the first time it encodes it (chunked transfer encoding, gzip as it goes), as kube-apiserver's
streaming list encoder does: the first bytes leave at once instead of after the whole answer is
built, so a large cluster's Pods from the watch cache do not wait out kwa's read timeout.
``--latency`` makes every list answer wait that many seconds first (without using a CPU), as a
remote API server's round trip and its own work on a page do: the listing's wall time then shows
what concurrency buys, whatever else the benchmark machine is doing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import signal
import socket
import statistics
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.reportstore import ReportStore

NOT_INSTALLED = ("VerticalPodAutoscaler", "NodePool", "ScaledObject")
GZIP_THRESHOLD = 128 * 1024  # kube-apiserver compresses answers from this size on (when asked)
# A list of more items than this is streamed as it is encoded when the double claims 1.33 or later
# (a kube-apiserver that encodes lists as a stream); STREAM_BATCH items go into each chunk.
STREAM_FROM = 500
STREAM_BATCH = 500


def _streams(version: str) -> bool:
    """From 1.33 kube-apiserver streams lists: the version kwa's own choice of the cache keys on."""
    from checks.sources.live import _streams_whole_lists

    return _streams_whole_lists(version)


def _paths() -> dict[str, str]:
    from checks.sources.live import RESOURCES, api_path

    return {api_path(kind): kind for kind in RESOURCES if kind not in NOT_INSTALLED}


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("kind", "apiVersion")}


def _secret_table(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "columnDefinitions": [{"name": n, "type": "string"} for n in ("Name", "Type", "Data", "Age")],
        "rows": [
            {
                "cells": [s["metadata"]["name"], s.get("type", "Opaque"), 1, "10d"],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": s["metadata"]},
            }
            for s in items
        ],
    }


class _Stats:
    """What the double served, for ``GET /_stats`` (handler threads update it under a lock)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.pages = 0
        self.cache_pages = 0  # first pages with resourceVersion=0&resourceVersionMatch=NotOlderThan
        self.continue_pages = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.bytes_sent = 0
        self.gzipped = 0
        self.limits: Counter[str] = Counter()
        self.bad_params = 0  # resourceVersion next to continue: a real server answers 400

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "pages": self.pages,
            "cache_pages": self.cache_pages,
            "continue_pages": self.continue_pages,
            "max_in_flight": self.max_in_flight,
            "bytes_sent": self.bytes_sent,
            "gzipped": self.gzipped,
            "limits": dict(self.limits),
            "bad_params": self.bad_params,
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    by_path: dict[str, list[dict[str, Any]]] = {}
    cache: dict[tuple[str, int, int, bool], bytes] = {}
    stats = _Stats()
    honour_limit_on_rv0 = False
    latency = 0.0
    version = "1.34.1"  # kwa asks a server from 1.33 on for the watch cache (checks/sources/live)
    reports: ReportStore | None = None

    def _report_answer(self, method: str) -> bool:
        """Answer a policy-report request (bench/reportstore.py); False when it is not one."""
        url = urlsplit(self.path)
        if self.reports is None or not ReportStore.handles(url.path):
            return False
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        status, data = self.reports.answer(method, url.path, query, body)
        self._send(status, json.dumps(data).encode(), counted=False)
        return True

    def _write(self, method: str) -> None:
        if not self._report_answer(method):
            self._send(404, json.dumps({"kind": "Status", "code": 404, "reason": "NotFound"}).encode(), counted=False)

    def do_POST(self) -> None:
        self._write("POST")

    def do_PUT(self) -> None:
        self._write("PUT")

    def do_PATCH(self) -> None:
        self._write("PATCH")

    def do_DELETE(self) -> None:
        self._write("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, gzipped: bool = False, counted: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if not counted:
            return
        with self.stats.lock:
            self.stats.bytes_sent += len(body)
            self.stats.gzipped += int(gzipped)

    def do_GET(self) -> None:
        if self._report_answer("GET"):
            return
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/_stats":
            with self.stats.lock:
                body = json.dumps(self.stats.as_dict()).encode()
                if query.get("reset"):
                    self.stats.reset()
            self._send(200, body, counted=False)
            return
        with self.stats.lock:
            self.stats.requests += 1
            self.stats.in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self.stats.in_flight)
        try:
            self._answer(url.path, query)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # kwa abandoned an answer larger than it reads
        finally:
            with self.stats.lock:
                self.stats.in_flight -= 1

    def _answer(self, path: str, query: dict[str, str]) -> None:
        if path == "/version":
            major, minor = self.version.split(".")[:2]
            self._send(200, json.dumps({"major": major, "minor": minor, "gitVersion": f"v{self.version}"}).encode())
            return
        items = self.by_path.get(path)
        if items is None:
            self._send(404, json.dumps({"kind": "Status", "code": 404, "reason": "NotFound"}).encode())
            return
        if self.latency:
            time.sleep(self.latency)
        token = query.get("continue") or ""
        from_cache = query.get("resourceVersion") == "0" and not token
        with self.stats.lock:
            self.stats.pages += 1
            self.stats.cache_pages += int(from_cache and query.get("resourceVersionMatch") == "NotOlderThan")
            self.stats.continue_pages += int(bool(token))
            self.stats.limits[query.get("limit") or "none"] += 1
            self.stats.bad_params += int(bool(token) and "resourceVersion" in query)
        limit = int(query.get("limit") or 0) or max(1, len(items))
        if from_cache and not self.honour_limit_on_rv0:
            limit = max(1, len(items))  # the watch cache answers the whole collection
        start = int(token or 0)
        gz = "gzip" in (self.headers.get("Accept-Encoding") or "")
        key = (path, start, limit, gz)
        body = self.cache.get(key)
        if body is None:
            page = items[start : start + limit]
            more = start + limit < len(items)
            meta = {"resourceVersion": "4800000", "continue": str(start + limit) if more else ""}
            if path.endswith("/secrets"):
                data = {**_secret_table(page), "metadata": meta}
            elif len(page) > STREAM_FROM and _streams(self.version):
                self.cache[key] = self._stream(meta, page, gz)
                return
            else:
                data = {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": [_strip(i) for i in page]}
            body = json.dumps(data).encode()
            if gz and len(body) >= GZIP_THRESHOLD:
                body = gzip.compress(body, compresslevel=1)  # kube-apiserver: gzip.BestSpeed
            self.cache[key] = body
        self._send(200, body, gzipped=gz and body[:2] == b"\x1f\x8b")

    def _stream(self, meta: dict[str, Any], page: list[dict[str, Any]], gz: bool) -> bytes:
        """Send a large list as it is encoded, in chunks, as kube-apiserver does from 1.33 (KEP-5116):
        the first bytes leave at once, so a client's read timeout never waits for the whole answer.
        Returns the body as sent, for the cache (later requests get it whole, as before)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if gz:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        packer = zlib.compressobj(1, zlib.DEFLATED, 31) if gz else None  # 31: the gzip container
        sent: list[bytes] = []
        with self.stats.lock:
            self.stats.gzipped += int(gz)

        def chunk(data: bytes) -> None:
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                sent.append(data)
                with self.stats.lock:  # counted as it goes: a client may close before the end
                    self.stats.bytes_sent += len(data)

        def emit(data: bytes) -> None:
            chunk(packer.compress(data) if packer is not None else data)

        head = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": meta, "items": []}).encode()
        emit(head[: -len(b"[]}")] + b"[")
        for at in range(0, len(page), STREAM_BATCH):
            batch = b", ".join(json.dumps(_strip(i)).encode() for i in page[at : at + STREAM_BATCH])
            emit((b", " if at else b"") + batch)
        emit(b"]}")
        if packer is not None:
            chunk(packer.flush())
        self.wfile.write(b"0\r\n\r\n")
        body = b"".join(sent)
        return body


def _serve(
    json_path: str,
    port_pipe: Any,
    honour_limit_on_rv0: bool = False,
    latency: float = 0.0,
    version: str = "1.34.1",
    reports: dict[str, Any] | None = None,
) -> None:
    objects = json.loads(Path(json_path).read_text())["items"]
    paths = _paths()
    by_path: dict[str, list[dict[str, Any]]] = {path: [] for path in paths}
    kind_path = {kind: path for path, kind in paths.items()}
    for obj in objects:
        path = kind_path.get(obj["kind"])
        if path is not None:
            by_path[path].append(obj)
    _Handler.by_path = by_path
    _Handler.honour_limit_on_rv0 = honour_limit_on_rv0
    _Handler.latency = latency
    _Handler.version = version
    _Handler.reports = ReportStore(**reports) if reports is not None else None
    server = _Server(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_pipe.send(server.server_address[1])
    server.serve_forever()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that ends (kwa exits at once after a run) while a kept-alive connection waits
        # for its next request resets it: a normal close, not a traceback in the bench's log.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class ApiDouble:
    """The double in a child process; a context manager that yields its base URL. ``reports``: serve
    the policy-report kinds (:class:`bench.reportstore.ReportStore` keyword arguments: ``installed``
    groups, ``forbidden`` verbs)."""

    def __init__(
        self,
        json_path: str,
        honour_limit_on_rv0: bool = False,
        latency: float = 0.0,
        reports: dict[str, Any] | None = None,
    ):
        self.reports = reports
        self.json_path = json_path
        self.honour_limit_on_rv0 = honour_limit_on_rv0
        self.latency = latency
        self.process: multiprocessing.Process | None = None

    def __enter__(self) -> str:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        args = (self.json_path, child, self.honour_limit_on_rv0, self.latency, "1.34.1", self.reports)
        self.process = ctx.Process(target=_serve, args=args, daemon=True)
        self.process.start()
        if not parent.poll(120):
            raise RuntimeError("the API double did not start within 120 s")
        port = parent.recv()
        _wait_port(port)
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.pid:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.join(10)


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)


def write_kubeconfig(path: Path, server: str) -> str:
    import yaml

    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "bench", "cluster": {"server": server}}],
        "users": [{"name": "bench", "user": {"token": "bench-token"}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench"}}],
        "current-context": "bench",
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def double_stats(server: str, reset: bool = False) -> dict[str, Any]:
    """The double's counters (``GET /_stats``); ``reset`` zeroes them after reading."""
    import urllib.request

    with urllib.request.urlopen(f"{server}/_stats{'?reset=1' if reset else ''}", timeout=10) as answer:
        return json.loads(answer.read())


def time_live(
    json_path: str,
    repeat: int,
    page_size: int = 500,
    *,
    workers: int | None = None,
    watch_cache: bool | None = None,
    compress: bool = True,
    honour_limit_on_rv0: bool = False,
    max_response_bytes: int | None = None,
    latency: float = 0.0,
) -> dict[str, Any]:
    """Median seconds of ``load_live`` over the double (after one untimed warm-up that fills its cache),
    with the last run's ``api_stats`` (kwa's count) and ``served`` (the double's count of the same run)."""
    from checks.sources import live
    from checks.sources.live import load_live

    # The double (Python, one process) takes far longer than kube-apiserver to encode its first whole
    # answers; the warm-up run fills its cache, and kwa's 10 s per-read timeout must not cut it.
    options: dict[str, Any] = {
        "page_size": page_size,
        "watch_cache": watch_cache,
        "compress": compress,
        "request_timeout": 120.0,
    }
    if workers is not None:
        options["workers"] = workers
        # Measuring beyond kwa's bound is the point of --workers 8: raise it for this process only.
        live.MAX_CONCURRENT_LISTS = max(live.MAX_CONCURRENT_LISTS, workers)
    if max_response_bytes is not None:
        options["max_response_bytes"] = max_response_bytes
    with (
        ApiDouble(json_path, honour_limit_on_rv0, latency) as server,
        tempfile.TemporaryDirectory(prefix="kwa-bench-kube-") as tmp,
    ):
        kubeconfig = write_kubeconfig(Path(tmp) / "config", server)
        warm = load_live(kubeconfig, **options)
        runs, cpu = [], []
        for _ in range(repeat):
            double_stats(server, reset=True)
            started, cpu_started = time.perf_counter(), time.process_time()
            snapshot = load_live(kubeconfig, **options)
            runs.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
        served = double_stats(server)
        started = time.perf_counter()
        snapshot.prepare()
        prepare = time.perf_counter() - started
    return {
        "objects": len(snapshot.objects),
        "unavailable": sorted(warm.unavailable),
        "page_size": page_size,
        "runs": runs,
        "median": statistics.median(runs),
        "cpu": cpu,  # kwa's CPU seconds per run (all its threads): what the machine's load does not inflate much
        "cpu_median": statistics.median(cpu),
        "prepare": prepare,
        "api_stats": snapshot.api_stats,
        "served": served,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True, help="a kind: List dump (bench.generate writes one)")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="*", help="list calls in flight (one measurement each)")
    parser.add_argument("--no-watch-cache", action="store_true", help="no resourceVersion=0 on first pages")
    parser.add_argument("--no-gzip", action="store_true", help="ask for uncompressed answers")
    parser.add_argument("--honour-limit-on-rv0", action="store_true", help="page resourceVersion=0 lists too")
    parser.add_argument("--max-response-bytes", type=int, help="kwa's limit on one answer (default 64 MiB)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every list answer waits first")
    args = parser.parse_args()
    for workers in args.workers or [None]:
        result = time_live(
            args.json,
            args.repeat,
            args.page_size,
            workers=workers,
            watch_cache=False if args.no_watch_cache else None,
            compress=not args.no_gzip,
            honour_limit_on_rv0=args.honour_limit_on_rv0,
            max_response_bytes=args.max_response_bytes,
            latency=args.latency,
        )
        print(json.dumps(result))


if __name__ == "__main__":
    main()
