"""Measure bulk result persistence: ``python -m bench.persist_bench [--rows N] [--url URL]``.

Creates a fresh run, streams ``N`` result rows (default 1,000,000) through a :class:`ResultWriter`
in check-sized groups (about 60 checks × N/60 objects, every 10th row with ``details``), then
finishes the run and prints the timings: from the counts the writer kept (as ``kwa run`` does:
each check's rows counted where it ran, ``storage.row_tally.count_values``), and, for comparison,
by the history GROUP BY on a second run with the same rows. Without ``--url`` it uses a
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
from storage.row_tally import count_values
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

        if args.path == "json":  # built (and counted) where the checks run, not on the writer's clock
            encoded = []
            for check, rows in groups:
                values = [row_values(r) for r in rows]
                encoded.append((check, rows_json(values), len(rows), count_values(values)))

        def write(run_id: str) -> tuple[ResultWriter, float]:
            started = time.perf_counter()
            with ResultWriter(db, run_id, batch_size=args.batch_size) as writer:
                if args.path == "json":
                    for check, data, count, counts in encoded:
                        writer.add_json([(check, data, count, datetime.now(UTC), 100, counts)])
                else:
                    for check, rows in groups:
                        writer.add(check, rows, datetime.now(UTC), 100)
            return writer, time.perf_counter() - started

        writer, written = write(run["run_id"])
        t = time.perf_counter()
        finish_run(db, run["run_id"], "completed", tallies=writer.tallies())
        finished = time.perf_counter() - t
        again = create_run(
            db, scope="full", pillars=list(PILLARS), check_ids=[], cluster_id="bench", source="bench", trigger="manual"
        )
        start_run(db, again["run_id"])
        write(again["run_id"])
        t = time.perf_counter()
        finish_run(db, again["run_id"], "completed")
        grouped = time.perf_counter() - t
        print(
            f"{db.dialect} ({args.path}): {writer.written:,} rows written in {written:.2f} s "
            f"({writer.written / written:,.0f} rows/s); finish_run with the writer's counts {finished:.2f} s; "
            f"finish_run (history GROUP BY) {grouped:.2f} s"
        )
        db.dispose()


if __name__ == "__main__":
    main()
