"""Have the benchmark's API double encode every answer before a timed run: ``prime(url)``.

A real API server encodes its answers on machines of its own; on the benchmark's two cores the
double (:mod:`bench.apidouble`) encoding a large cluster's answers during a timed live run would
take cores from kwa. :mod:`bench.scale` primes it once after starting it.
"""

from __future__ import annotations

import gzip
import json
import time
from typing import Any

from bench.apidouble import _paths


def prime(url: str, page_size: int = 500) -> dict[str, Any]:
    """Ask the double for every answer a live read can ask of it, so each is encoded (and cached) now.

    For every kind kwa lists: the whole collection as the watch cache answers it, and every plain page of
    ``page_size`` (what kwa reads when the whole answer is over its response limit), both gzipped
    as kwa asks for them. Returns ``{"seconds", "answers", "bytes"}``. The double counts these
    answers too: read its ``/_stats`` after priming to count only a run's requests."""
    import urllib3

    pool = urllib3.PoolManager(headers={"Accept-Encoding": "gzip"})
    started, answers, sent = time.perf_counter(), 0, 0

    def fetch(target: str) -> tuple[int, bytes]:
        nonlocal answers, sent
        answer = pool.request("GET", url + target, decode_content=False)
        answers += 1
        sent += len(answer.data)
        return answer.status, answer.data

    try:
        for path in _paths():
            fetch(f"{path}?limit={page_size}&resourceVersion=0&resourceVersionMatch=NotOlderThan")
            query: str | None = f"limit={page_size}"
            while query:
                status, body = fetch(f"{path}?{query}")
                if status != 200:
                    break
                doc = json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body)
                token = (doc.get("metadata") or {}).get("continue")
                query = f"limit={page_size}&continue={token}" if token else None
    finally:
        pool.clear()
    return {"seconds": round(time.perf_counter() - started, 3), "answers": answers, "bytes": sent}
