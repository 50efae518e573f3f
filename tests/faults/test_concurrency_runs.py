"""Twenty ``kwa run`` processes at once on one SQLite database, with queries alongside: every run
ends in a true state, and readers never wait behind the writers (WAL, no write lock to read)."""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest

from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.test_process_signals import MANIFEST

pytestmark = pytest.mark.prefect

RUNS = 20


def test_twenty_runs_at_once_with_queries_alongside(kwa: Kwa, tmp_path: Path) -> None:
    from storage import db as dbmod
    from storage.runs import list_runs

    manifest = tmp_path / "app.yaml"
    manifest.write_text(MANIFEST)
    env = {"KWA_CHECK_MODULES": "tests.faults.slow_checks", "KWA_MAX_CONCURRENT_RUNS": "5"}
    procs = [
        kwa.start("run", "--manifests", str(manifest), "--check", "SEC-922,SEC-001", "--cluster-id", f"many-{i:02d}",
                  **env)
        for i in range(RUNS)
    ]
    url = f"sqlite:///{kwa.db_path}"
    latencies: list[float] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def query() -> None:
        # As each new `kwa query` process would: a fresh engine, the migration check, then a read.
        while not done.is_set():
            if kwa.db_path.exists():
                dbmod._migrated.discard(url)
                started = time.monotonic()
                try:
                    with dbmod.Database(url) as db:
                        list_runs(db, limit=100)
                except BaseException as exc:  # reported below with the others
                    failures.append(exc)
                latencies.append(time.monotonic() - started)
            time.sleep(0.2)

    reader = threading.Thread(target=query, daemon=True)
    reader.start()
    try:
        cli_query = kwa("runs", "list", timeout=300)  # a real query process in the middle of it all
        outcomes = [kwa.finish(p, timeout=900) for p in procs]
    finally:
        done.set()
        reader.join(timeout=30)

    assert failures == [], failures[:3]
    assert cli_query.code in (0, 7), cli_query.text  # 7: no run recorded yet at that moment
    assert "locked" not in cli_query.text.lower()
    assert_no_traceback(cli_query.out, cli_query.err)
    for out in outcomes:
        assert out.code == 0, out.text
        assert_no_traceback(out.out, out.err)
    runs = outcomes[0].runs()
    assert len(runs) == RUNS and {r["state"] for r in runs} == {"completed"}
    for run in runs:
        assert {r["check_id"] for r in outcomes[0].results(run["run_id"])} == {"SEC-922", "SEC-001"}
    assert len(latencies) >= 10
    print(f"\n{len(latencies)} queries beside {RUNS} runs: median {statistics.median(latencies):.3f}s, "
          f"max {max(latencies):.3f}s")
    # Readers share the file with up to 20 writers; none waits for a lock (a wait would be the
    # 30 s busy timeout). Generous bounds: two cores shared with 20 starting Python processes, and
    # the suite's other worker beside them (the first queries, during that start, took 3-5 s on
    # a slower day: far from a lock wait, which this bound still catches).
    assert max(latencies) < 10.0, f"slowest query {max(latencies):.2f}s"
    assert statistics.median(latencies) < 1.0, f"median query {statistics.median(latencies):.2f}s"
