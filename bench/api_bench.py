"""Time the HTTP API's list endpoints on the query benchmark's database: ``python -m bench.api_bench``.

Uses (building it first when missing) the 5,000,000-row SQLite database of
:mod:`bench.query_bench` (100 runs × 100 checks × 500 objects), creates a read token, and times
each endpoint over HTTP against a real uvicorn server on a loopback port (in a thread of this
process), with one keep-alive client: routing, the token check, the storage query, the body and
the socket; ``--repeat`` times each. Prints the median and the worst against the query CLI's
target for a first page (100 ms).

Usage::

    python -m bench.api_bench [--db /tmp/kwa-query-bench.db] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.query_bench import CLUSTER, DEFAULT_DB
from bench.query_bench import main as build_main

TARGET_MS = 100


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, default=DEFAULT_DB)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args(argv)
    build_main(["--db", str(a.db), "--build-only"])

    import socket
    import threading

    import httpx
    import uvicorn

    from kwa.service.app import create_app
    from storage.db import Database
    from storage.runs import list_runs
    from storage.tokens import create_token

    db = Database(f"sqlite:///{a.db}")
    _, token = create_token(db, "read", "bench")
    runs = list_runs(db, cluster_id=CLUSTER, limit=2)
    latest, before = runs[0]["run_id"], runs[1]["run_id"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    headers = {"Authorization": f"Bearer {token}"}
    with db.read() as conn:
        total = conn.exec_driver_sql("SELECT count(*) FROM assessments").scalar_one()
    cases = [
        ("GET /api/v1/clusters (with scores)", "/api/v1/clusters", {}),
        ("GET /api/v1/runs (first page)", "/api/v1/runs", {}),
        ("GET /api/v1/runs?state=completed", "/api/v1/runs", {"state": "completed", "limit": 50}),
        (f"GET /api/v1/clusters/{CLUSTER}/runs", f"/api/v1/clusters/{CLUSTER}/runs", {}),
        ("GET …/results (first page)", f"/api/v1/runs/{latest}/results", {}),
        (
            "GET …/results (4 filters)",
            f"/api/v1/runs/{latest}/results",
            {"status": "failing", "severity": "high", "namespace": "ns-1", "pillar": "security"},
        ),
        ("GET …/results?format=csv", f"/api/v1/runs/{latest}/results", {"format": "csv"}),
        ("GET …/results?format=sarif", f"/api/v1/runs/{latest}/results", {"format": "sarif"}),
    ]
    cursor = client.get(f"/api/v1/runs/{latest}/results", headers=headers).json()["pagination"]["next_cursor"]
    cases.append(("GET …/results (second page, cursor)", f"/api/v1/runs/{latest}/results", {"cursor": cursor}))
    cases.append(("GET /api/v1/checks/SEC-001", "/api/v1/checks/SEC-001", {}))
    cases.append(("GET …/history (100 runs)", f"/api/v1/clusters/{CLUSTER}/history", {}))
    cases.append(("GET …/diff (two 50,000-row runs)", f"/api/v1/runs/{before}/diff/{latest}", {}))
    print(f"database: {a.db} ({total:,} result rows)")
    print(f"{'endpoint':40} {'median':>9} {'worst':>9} {'target':>8}")
    slow = 0
    for name, path, params in cases:
        times = []
        for _ in range(a.repeat):
            t = time.perf_counter()
            r = client.get(path, params=params, headers=headers)
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
        median = statistics.median(times)
        listing = "history" not in path and "diff" not in path and "check" not in path
        verdict = ("ok" if median < TARGET_MS else "SLOW") if listing else ""
        slow += verdict == "SLOW"
        print(f"{name:40} {median:7.1f} ms {max(times):7.1f} ms {(f'{TARGET_MS} ms' if listing else '-'):>8} {verdict}")
    client.close()
    server.should_exit = True
    db.dispose()
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
