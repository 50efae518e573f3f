"""Where a stored result's CPU goes in SQLite: ``python -m bench.write_cost [--rows N] [--repeat R]``.

``kwa run``'s writer hands SQLite each check's rows as one JSON array and lets it unpack them
(``storage.results``: one ``INSERT … SELECT … FROM json_each(?)`` per check, no GIL held). This
takes that statement apart, each step on a fresh database file with kwa's pragmas, and prints the
CPU microseconds per row of each (medians of ``--repeat``):

* ``enumerate``: ``json_each`` walking the array, nothing read from the rows;
* ``extract``: the same plus reading the row's fields as kwa's statement does (``value->>i`` for
  each of the 16 per-result columns), inserted into a table without a key or index;
* ``insert, primary key only``: kwa's statement into ``assessments`` with its four secondary
  indexes dropped;
* ``insert, as kwa does``: kwa's statement into ``assessments`` as migrated;
* ``executemany``: the rows decoded by orjson in Python and inserted as tuples, for comparison.

The rows look like a manifest run's (``source``, line and column on every row, a container and
``details`` on one in seven, three in four passing).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from storage.db import Database
from storage.result_rows import COLUMNS, ROW_FIELDS
from storage.results import _SQLITE_JSON_INSERT, _SQLITE_ROW_FIELDS
from storage.runs import create_run, start_run

SECONDARY = (
    "ix_assessments_run_id_status",
    "ix_assessments_run_id_check_id",
    "ix_assessments_run_id_pillar",
    "ix_assessments_run_id_id",
)
CHECKS = 60


def rows(count: int, check: int) -> list[list[object]]:
    out: list[list[object]] = []
    for i in range(count):
        rare = i % 7 == 0
        status = "passing" if i % 4 else "failing"
        verb = "meets" if status == "passing" else "violates"
        out.append(
            [
                status, "Deployment", f"team-{i % 500}", f"app-{i}-frontend", "app" if rare else None,
                f"Deployment team-{i % 500}/app-{i}-frontend {verb} check {check}", None, None,
                "dump.json", 1000 + i * 40, 5, 1000 + i * 40 + 38,
                "spec.template.spec.containers[0]" if rare else None, 1010 + i * 40 if rare else None,
                9 if rare else None, {"limit": "500m", "observed": None} if rare else None,
            ]
        )  # fmt: skip
    return out


def _database(directory: Path) -> tuple[sqlite3.Connection, str]:
    db = Database(f"sqlite:///{directory}/w.db")
    run = create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="bench", source="bench", trigger="manual")
    start_run(db, run["run_id"])
    db.dispose()
    con = sqlite3.connect(directory / "w.db", isolation_level=None)
    for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -65536", "foreign_keys = ON"):
        con.execute(f"PRAGMA {pragma}")
    return con, run["run_id"]


def _params(run_id: str, check: int, seq: int, payload: bytes) -> tuple[object, ...]:
    return (f"asm_x_chk{check:03d}_", seq, run_id, "security", f"CHK-{check:03d}", "A check", "high",
            "Do the right thing.", "2026-12-07 10:00:00", 5, payload)  # fmt: skip


def _step(name: str, payloads: list[bytes], per: int) -> float:
    """CPU seconds of one step over every check's payload, on a fresh database."""
    with tempfile.TemporaryDirectory(prefix="kwa-write-cost-") as tmp:
        con, run_id = _database(Path(tmp))
        if name == "extract":
            con.execute(f"CREATE TABLE heap ({', '.join(ROW_FIELDS)})")
        if name == "insert, primary key only":
            for index in SECONDARY:
                con.execute(f"DROP INDEX {index}")
        run: Callable[[int, bytes], object]
        if name == "enumerate":
            run = lambda c, p: con.execute("SELECT count(*) FROM json_each(?)", (p,)).fetchone()  # noqa: E731
        elif name == "extract":
            sql = f"INSERT INTO heap SELECT {_SQLITE_ROW_FIELDS.replace('?8', 'NULL')} FROM json_each(?)"
            run = lambda c, p: con.execute(sql, (p,))  # noqa: E731
        elif name == "executemany":
            sql = f"INSERT INTO assessments ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

            def run(c: int, p: bytes) -> object:
                head = (run_id, "security", f"CHK-{c:03d}", "A check", "high")
                tail = ("2026-12-07 10:00:00", 5)
                return con.executemany(
                    sql,
                    (
                        (f"asm_x_chk{c:03d}_{c * per + k:06x}", *head, *v[:6], v[6] or "Do the right thing.",
                         *v[7:15], None if v[15] is None else orjson.dumps(v[15]).decode(), *tail)
                        for k, v in enumerate(orjson.loads(p))
                    ),
                )  # fmt: skip
        else:
            run = lambda c, p: con.execute(_SQLITE_JSON_INSERT, _params(run_id, c, c * per, p))  # noqa: E731
        started = time.process_time()
        for check, payload in enumerate(payloads):
            con.execute("BEGIN IMMEDIATE")
            run(check, payload)
            con.execute("COMMIT")
        spent = time.process_time() - started
        con.close()
        return spent


STEPS = ("enumerate", "extract", "insert, primary key only", "insert, as kwa does", "executemany")


def measure(total: int, repeat: int) -> dict[str, float]:
    """CPU µs per row of each step (median of ``repeat``)."""
    per = max(1, total // CHECKS)
    payloads = [orjson.dumps(rows(per, c)) for c in range(CHECKS)]
    count = per * CHECKS
    return {name: statistics.median(_step(name, payloads, per) for _ in range(repeat)) / count * 1e6 for name in STEPS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"SQLite {sqlite3.sqlite_version}, {args.rows:,} rows in {CHECKS} checks, pid {os.getpid()}")
    for name, micros in measure(args.rows, args.repeat).items():
        print(f"{name:28s} {micros:6.2f} CPU-µs per row")


if __name__ == "__main__":
    main()
