"""Child process for the concurrency tests: ``python -m tests.storage._writer_proc URL GO_FILE ROWS BATCH``.

Waits for GO_FILE (so siblings start together, racing on the first migration too), then opens the
database, runs one run through its lifecycle writing ROWS results in batches, and prints the run id.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

from storage.db import Database
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, start_run


def main() -> None:
    url, go_file, rows, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        time.sleep(0.005)
    db = Database(url)
    run = create_run(
        db, scope="full", pillars=["security"], check_ids=["SEC-001"], cluster_id="proc", source="p", trigger="ci"
    )
    start_run(db, run["run_id"])
    check = {"id": "SEC-001", "pillar": "security", "name": "n", "severity": "low", "remediation": "r"}
    with ResultWriter(db, run["run_id"], batch_size=batch) as writer:
        for start in range(0, rows, 100):
            chunk = [
                {"status": "passing", "message": f"row {i}", "object_name": f"o{i}", "details": {"i": i}}
                for i in range(start, min(rows, start + 100))
            ]
            writer.add(check, chunk, datetime.now(UTC), 1)
    finish_run(db, run["run_id"], "completed")
    db.dispose()
    print(run["run_id"])


if __name__ == "__main__":
    main()
