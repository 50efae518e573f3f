"""Orchestration overhead: the same checks with and without Prefect, in the same process.

Usage: python bench/overhead.py [--manifests PATH ...] [--repeat 3]

Prints, for one snapshot (default: the bundled demo cluster):
  inline    read the snapshot, evaluate every check in-process, persist the results (no Prefect)
  sandboxed the same, checks evaluated in forked worker lanes with deadlines (what the flow does)
  prefect   the whole assessment flow against a running Prefect server (kwa's local server, or
            PREFECT_API_URL), run state, pillar subflows, tasks and persistence included
and the overhead = prefect - inline. Medians of --repeat runs. Uses a throwaway kwa database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--manifests", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="kwa-bench-")
    os.environ["KWA_DATABASE_URL"] = f"sqlite:///{tmp}/bench.db"

    from flows.server import ensure_api

    api = ensure_api()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.sandbox import IsolatedBatch
    from checks.sources.resolve import SourceSpec, load
    from flows.assessment import assessment
    from storage.db import Database
    from storage.results import ResultWriter
    from storage.runs import create_run, finish_run, start_run

    spec = SourceSpec("manifests", paths=args.manifests) if args.manifests else SourceSpec("demo")
    checks = load_all().all()  # first: the check modules register the indexes prepare() builds
    snapshot = load(spec).prepare()
    db = Database()

    def persisted(run_checks, setup=None) -> float:  # type: ignore[no-untyped-def]
        """Read the snapshot, evaluate every check, persist every row: the run's work, without Prefect."""
        run = create_run(
            db, scope="full", pillars=[], check_ids=[], cluster_id="bench", source="bench", trigger="manual"
        )
        start_run(db, run["run_id"])
        started = time.perf_counter()
        load(spec).prepare()
        if setup is not None:
            setup()
        writer = ResultWriter(db, run["run_id"])
        for c in checks:
            rows = [r.as_row() for r in run_checks(c)]
            meta = {
                "id": c.id,
                "pillar": c.pillar.value,
                "name": c.name,
                "severity": c.severity.value,
                "remediation": c.remediation,
            }
            writer.add(meta, rows, datetime.now(UTC), 0)
        writer.flush()
        elapsed = time.perf_counter() - started
        # Ended, so the flow's run below is not queued behind it (runs of a cluster start in order).
        finish_run(db, run["run_id"], "completed")
        return elapsed

    timings: dict[str, list[float]] = {"inline": [], "sandboxed": [], "prefect": []}
    for _ in range(args.repeat):
        timings["inline"].append(persisted(lambda c: evaluate(c, snapshot)))
        by_id = {c.id: c for c in checks}

        batch = IsolatedBatch(
            [(x.id, 30.0) for x in checks], lambda i, by_id=by_id: evaluate(by_id[i], snapshot), lanes=2
        )
        timings["sandboxed"].append(persisted(lambda c, b=batch: b.wait(c.id).unwrap(30), setup=batch.start))
        started = time.perf_counter()
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # as `kwa run` runs it
            summary = assessment(source=spec.to_dict(), cluster_id="bench", force_new=True)
        timings["prefect"].append(time.perf_counter() - started)
        assert summary["run"]["state"] in ("completed", "partial"), summary["run"]
    med = {k: statistics.median(v) for k, v in timings.items()}
    print(f"snapshot: {len(snapshot.objects)} objects, {len(checks)} checks; Prefect API: {api.how} {api.url}")
    for k, v in med.items():
        print(f"{k:10s} median {v:6.2f}s  runs {', '.join(f'{x:.2f}' for x in timings[k])}")
    print(f"overhead  (prefect - inline) {med['prefect'] - med['inline']:.2f}s")


if __name__ == "__main__":
    main()
