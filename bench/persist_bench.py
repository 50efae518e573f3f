"""Measure bulk result persistence: ``python -m bench.persist_bench [--rows N] [--url URL]``.

Creates a fresh run, streams ``N`` result rows (default 1,000,000) through a :class:`ResultWriter`
in check-sized groups (about 60 checks × N/60 objects, every 10th row with ``details``), then
finishes the run (history GROUP BY included) and prints the timings. Without ``--url`` it uses a
fresh SQLite file in a temporary directory.

``--path json`` (the default) writes each check's rows as the flow does: a JSON array built
beforehand (in the flow, by the check's worker process) handed to :meth:`ResultWriter.add_json`.
``--path rows`` writes the same rows as dicts through :meth:`ResultWriter.add`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from storage.db import Database
from storage.results import ResultWriter, row_values, rows_json
from storage.runs import create_run, finish_run, start_run

PILLARS = ("security", "reliability", "performance", "cost", "operational-excellence", "sustainability")
STATUSES = ("passing", "failing", "warning", "skipped")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--url")
    parser.add_argument("--path", choices=("json", "rows"), default="json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kwa-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        run = create_run(
            db, scope="full", pillars=list(PILLARS), check_ids=[], cluster_id="bench", source="bench", trigger="manual"
        )
        start_run(db, run["run_id"])
        per_check = max(1, args.rows // args.checks)
        groups = []
        made = 0
        for c in range(args.checks):
            n = per_check if c < args.checks - 1 else args.rows - made
            check = {
                "id": f"SEC-{c:03d}",
                "pillar": PILLARS[c % len(PILLARS)],
                "name": f"check {c}",
                "severity": "high",
                "remediation": "do the right thing",
            }
            rows = [
                {
                    "status": STATUSES[i % len(STATUSES)],
                    "message": f"Deployment ns-{i % 50}/app-{i} container app violates check {c}",
                    "object_kind": "Deployment",
                    "object_namespace": f"ns-{i % 50}",
                    "object_name": f"app-{i}",
                    "container": "app",
                    "reason": None,
                    "source": "live",
                    "details": {"field": "spec.template.spec.containers[0]", "value": i} if i % 10 == 0 else None,
                    "remediation": None,
                }
                for i in range(n)
            ]
            groups.append((check, rows))
            made += n

        if args.path == "json":  # built where the checks run, not on the writer's clock
            encoded = [(check, rows_json([row_values(r) for r in rows]), len(rows)) for check, rows in groups]
        started = time.perf_counter()
        with ResultWriter(db, run["run_id"], batch_size=args.batch_size) as writer:
            if args.path == "json":
                for check, data, count in encoded:
                    writer.add_json([(check, data, count, datetime.now(UTC), 100)])
            else:
                for check, rows in groups:
                    writer.add(check, rows, datetime.now(UTC), 100)
        written = time.perf_counter() - started
        t = time.perf_counter()
        finish_run(db, run["run_id"], "completed")
        finished = time.perf_counter() - t
        print(
            f"{db.dialect} ({args.path}): {writer.written:,} rows written in {written:.2f} s "
            f"({writer.written / written:,.0f} rows/s); finish_run (history GROUP BY) {finished:.2f} s"
        )
        db.dispose()


if __name__ == "__main__":
    main()
