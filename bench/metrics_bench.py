"""Time ``kwa metrics`` scrapes on a large database: ``python -m bench.metrics_bench``.

Uses the database :mod:`bench.query_bench` builds (``python -m bench.query_bench --build-only``;
50,000 results per run). Three costs, each the median and worst of ``--repeat`` scrapes:

* cold: a new collector (the first scrape after ``kwa metrics`` starts, or a new run to show):
  the run facts plus the scored run's summary, as ``kwa query assessments summary`` reads it;
* refresh: the cache window has passed, the scored run is the same: the run facts only;
* cached: inside the cache window (a scrape storm): no database read at all.

Then scrapes over HTTP on a loopback port, end to end (the first one cold).

Usage::

    python -m bench.metrics_bench [--db /tmp/kwa-query-bench.db] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client import generate_latest

from kwa.metrics.collector import KwaCollector
from kwa.metrics.export import registry_of, serve
from storage.db import Database


def _times(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    took = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took), max(took)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="/tmp/kwa-query-bench.db")
    parser.add_argument("--repeat", type=int, default=7)
    a = parser.parse_args(argv)
    if not Path(a.db).exists():
        print(f"no database at {a.db}: build one with python -m bench.query_bench --build-only", file=sys.stderr)
        return 2
    db = Database(f"sqlite:///{a.db}")
    db.engine  # connect and check the schema once, outside the timings  # noqa: B018

    def cold() -> None:
        generate_latest(registry_of(KwaCollector(lambda: db, cache_seconds=0)))

    warm = KwaCollector(lambda: db, cache_seconds=0)
    cold()
    generate_latest(registry_of(warm))
    cached = KwaCollector(lambda: db, cache_seconds=3600)
    generate_latest(registry_of(cached))
    rows = {
        "cold (facts + summary of the scored run)": _times(cold, a.repeat),
        "refresh (facts; summary memoised by run id)": _times(lambda: generate_latest(registry_of(warm)), a.repeat),
        "cached (inside --cache-seconds)": _times(lambda: generate_latest(registry_of(cached)), a.repeat),
    }
    server, _ = serve(KwaCollector(lambda: db, cache_seconds=0), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    body = b""

    def scrape() -> None:
        nonlocal body
        with urllib.request.urlopen(url, timeout=60) as resp:
            body = resp.read()

    rows["HTTP scrape (facts read each time, loopback)"] = _times(scrape, a.repeat)
    server.shutdown()
    for name, (median, worst) in rows.items():
        print(f"{name:48} median {median:8.1f} ms   worst {worst:8.1f} ms")
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    print(f"exposition: {len(body):,} bytes, {series} series")
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
