"""A Kubernetes API double on 127.0.0.1 serving a dump's objects, paginated, and the live-listing timing.

Usage: ``python -m bench.apidouble --json cluster.json [--page-size 500] [--repeat 3]``

The double runs in its own process (so its JSON encoding does not compete with the client for the
GIL) on a ``ThreadingHTTPServer``: ``/version``, and for every kind kwa lists its cluster-wide list
path with ``limit`` + ``continue`` pagination, items without ``kind``/``apiVersion`` as a real API
server sends them. Secrets are served as the metadata-only ``Table`` kwa negotiates. Kinds the dump
lacks answer an empty list, add-on CRDs and metrics.k8s.io answer 404 (not installed). Pages are
encoded once and cached, so the timing is kwa's: requests, JSON parsing, object wrapping.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import statistics
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOT_INSTALLED = ("VerticalPodAutoscaler", "NodePool", "ScaledObject")


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    by_path: dict[str, list[dict[str, Any]]] = {}
    cache: dict[tuple[str, int, int], bytes] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/version":
            self._send(200, json.dumps({"major": "1", "minor": "29", "gitVersion": "v1.29.4"}).encode())
            return
        items = self.by_path.get(url.path)
        if items is None:
            self._send(404, json.dumps({"kind": "Status", "code": 404, "reason": "NotFound"}).encode())
            return
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        limit = int(query.get("limit") or 0) or max(1, len(items))
        start = int(query.get("continue") or 0)
        key = (url.path, start, limit)
        body = self.cache.get(key)
        if body is None:
            page = items[start : start + limit]
            more = start + limit < len(items)
            meta = {"resourceVersion": "4800000", "continue": str(start + limit) if more else ""}
            if url.path.endswith("/secrets"):
                data = {**_secret_table(page), "metadata": meta}
            else:
                data = {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": [_strip(i) for i in page]}
            body = self.cache[key] = json.dumps(data).encode()
        self._send(200, body)


def _serve(json_path: str, port_pipe: Any) -> None:
    objects = json.loads(Path(json_path).read_text())["items"]
    paths = _paths()
    by_path: dict[str, list[dict[str, Any]]] = {path: [] for path in paths}
    kind_path = {kind: path for path, kind in paths.items()}
    for obj in objects:
        path = kind_path.get(obj["kind"])
        if path is not None:
            by_path[path].append(obj)
    _Handler.by_path = by_path
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    port_pipe.send(server.server_address[1])
    server.serve_forever()


class ApiDouble:
    """The double in a child process; a context manager that yields its base URL."""

    def __init__(self, json_path: str):
        self.json_path = json_path
        self.process: multiprocessing.Process | None = None

    def __enter__(self) -> str:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(self.json_path, child), daemon=True)
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


def time_live(json_path: str, repeat: int, page_size: int = 500) -> dict[str, Any]:
    """Median seconds of ``load_live`` over the double (after one untimed warm-up that fills its cache)."""
    from checks.sources.live import load_live

    with ApiDouble(json_path) as server, tempfile.TemporaryDirectory(prefix="kwa-bench-kube-") as tmp:
        kubeconfig = write_kubeconfig(Path(tmp) / "config", server)
        warm = load_live(kubeconfig, page_size=page_size)
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            snapshot = load_live(kubeconfig, page_size=page_size)
            runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        snapshot.prepare()
        prepare = time.perf_counter() - started
    return {
        "objects": len(snapshot.objects),
        "unavailable": sorted(warm.unavailable),
        "page_size": page_size,
        "runs": runs,
        "median": statistics.median(runs),
        "prepare": prepare,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", required=True, help="a kind: List dump (bench.generate writes one)")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(time_live(args.json, args.repeat, args.page_size)))


if __name__ == "__main__":
    main()
