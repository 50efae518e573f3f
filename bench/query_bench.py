"""Time the presentation layer's queries on a large database: ``python -m bench.query_bench``.

Builds (once; the file is reused by later invocations) a SQLite database of 5,000,000 result rows:
100 runs of one cluster, each 100 checks × 500 objects (50,000 results), statuses drifting from
run to run so that ``diff`` has real work. Rows go in through storage's own bulk path
(:class:`storage.results.ResultWriter`, as ``bench.persist_bench`` does) and every run is finished
through ``finish_run`` so ``assessment_history`` is the real thing. History rows carry synthetic
scores (derived from the counts) so ``history`` renders score columns and trends.

Then it times each command's work in-process — the storage query plus the formatter, output
discarded — ``--repeat`` times and prints the median and the worst, against the targets of
issue 4. Process start and imports are measured separately (one ``python -m kwa`` subprocess per
command). ``--url`` points at another database (for example PostgreSQL) to build and time there.

Usage::

    python -m bench.query_bench [--db /tmp/kwa-query-bench.db] [--runs 100] [--checks 100]
                                [--objects 500] [--repeat 7] [--rebuild] [--build-only]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.db import Database
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, list_runs, start_run

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = Path("/tmp/kwa-query-bench.db")
CLUSTER = "bench-prod"
# The catalogue's shape: checks per pillar (31 + 23 + 14 + 13 + 11 + 8 = 100).
PILLARS = (
    ("security", "SEC", 31),
    ("reliability", "REL", 23),
    ("performance", "PERF", 14),
    ("cost", "COST", 13),
    ("operational-excellence", "OPS", 11),
    ("sustainability", "SUS", 8),
)
SEVERITIES = ("critical", "high", "high", "medium", "medium", "medium", "low", "low", "info")
KINDS = ("Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Service", "Namespace")
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet"}
START = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)

TARGETS_MS = {
    "list (first page, filters)": 100,
    "summary (one run)": 500,
    "history (100 runs)": 200,
    "diff (two 50,000-result runs)": 2000,
}


def catalogue(n_checks: int) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    scale = n_checks / 100
    for pillar, prefix, count in PILLARS:
        for i in range(max(1, round(count * scale))):
            cid = f"{prefix}-{i + 1:03d}"
            checks.append(
                {
                    "id": cid,
                    "pillar": pillar,
                    "name": f"{pillar} check {i + 1}",
                    "severity": SEVERITIES[(len(checks) * 5) % len(SEVERITIES)],
                    "remediation": f"Fix what {cid} reports.",
                }
            )
    return checks[:n_checks]


def objects(n: int) -> list[tuple[str, str, str]]:
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        out.append((kind, f"ns-{i % 50:02d}", f"app-{i:04d}"))
    return out


def build(url: str, n_runs: int, n_checks: int, n_objects: int) -> float:
    """Create the runs and their results; returns the seconds it took."""
    db = Database(url)
    checks = catalogue(n_checks)
    objs = objects(n_objects)
    started = time.perf_counter()
    for r in range(n_runs):
        requested = START + timedelta(days=r)
        run_id = f"run_{requested:%Y%m%d_%H%M%S}_{r:06x}"
        create_run(
            db,
            run_id=run_id,
            scope="full",
            pillars=[p for p, _, _ in PILLARS],
            check_ids=[c["id"] for c in checks],
            cluster_id=CLUSTER,
            source="api",
            trigger="schedule" if r % 4 else "ci",
            requested_at=requested,
        )
        start_run(db, run_id)
        rng = random.Random(r)
        # Fewer failures as the runs go on (a team fixing things), with noise: diffs see both ways.
        fail_rate = 0.30 - 0.15 * r / max(1, n_runs - 1)
        counts: dict[str, dict[str, int]] = {}
        with ResultWriter(db, run_id, batch_size=10_000) as writer:
            for ci, check in enumerate(checks):
                rows = []
                for oi, (kind, ns, name) in enumerate(objs):
                    x = rng.random()
                    if (ci + oi) % 23 == 0:
                        status = "skipped"
                    elif x < fail_rate:
                        status = "failing"
                    elif x < fail_rate + 0.1:
                        status = "warning"
                    else:
                        status = "passing"
                    per = counts.setdefault(check["pillar"], {})
                    per[status] = per.get(status, 0) + 1
                    rows.append(
                        {
                            "status": status,
                            "object_kind": kind,
                            "object_namespace": ns,
                            "object_name": name,
                            "container": "app" if kind in WORKLOADS else None,
                            "message": f"{kind} {ns}/{name}: {check['id']} {status}",
                            "reason": "requires-live" if status == "skipped" else None,
                            "source": "api",
                            "details": {"field": "spec.template.spec", "value": oi} if oi % 10 == 0 else None,
                        }
                    )
                writer.add(check, rows, requested + timedelta(seconds=ci), 5)
        finish_run(
            db,
            run_id,
            "completed",
            history={"duration_ms": 60_000 + r * 100, "scores": synthetic_scores(counts)},
            summary={"objects": n_objects, "problems": [], "unavailable": {}, "checks_not_executed": {}},
        )
        backdate(db, run_id, requested)
        if (r + 1) % 10 == 0:
            print(f"  {r + 1}/{n_runs} runs, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    db.dispose()
    return time.perf_counter() - started


def backdate(db: Database, run_id: str, requested: datetime) -> None:
    """Give a built run the timings it would have had on its day (finish_run stamps "now").

    Without this all 100 runs would have finished within the same few minutes, which makes
    history's time axis and ``--since`` filters (bounded by completion times) unrealistic.
    """
    from sqlalchemy import update

    from storage.models import history_table, runs_table

    started, completed = requested + timedelta(seconds=2), requested + timedelta(seconds=62)
    with db.begin() as conn:
        conn.execute(
            update(runs_table).where(runs_table.c.run_id == run_id).values(started_at=started, completed_at=completed)
        )
        conn.execute(update(history_table).where(history_table.c.run_id == run_id).values(finished_at=completed))


def synthetic_scores(counts: dict[str, dict[str, int]]) -> dict[str, Any]:
    """Scores of the shape storage.scores writes, derived from counts (bench data only)."""

    def score(c: dict[str, int]) -> float:
        judged = c.get("passing", 0) + c.get("failing", 0) + c.get("warning", 0)
        return round(100 * (c.get("passing", 0) + 0.5 * c.get("warning", 0)) / judged, 1) if judged else 0.0

    def grade(s: float) -> str:
        return "A" if s >= 90 else "B" if s >= 80 else "C" if s >= 70 else "D" if s >= 60 else "F"

    pillars = {p: {"score": score(c), "grade": grade(score(c)), "coverage": 1.0} for p, c in counts.items()}
    total: dict[str, int] = {}
    for c in counts.values():
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    overall = score(total)
    return {"overall": {"score": overall, "grade": grade(overall), "coverage": 1.0}, "pillars": pillars}


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        sink = io.StringIO()
        t = time.perf_counter()
        with redirect_stdout(sink):
            fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples)


def measure(url: str, repeat: int) -> list[tuple[str, str, float, float, int | None]]:
    """(name, command, median ms, worst ms, target ms) for each command, in-process."""
    from kwa.app import call as cli_main

    db = Database(url)
    runs = list_runs(db, cluster_id=CLUSTER, limit=2)
    latest, previous = runs[0]["run_id"], runs[1]["run_id"]
    os.environ["KWA_DATABASE_URL"] = url
    cases = [
        (
            "list (first page, filters)",
            [
                "query",
                "assessments",
                "list",
                "--status",
                "failing",
                "--severity",
                "high,critical",
                "--namespace",
                "ns-07",
                "--pillar",
                "security,reliability",
                "--limit",
                "50",
                "-o",
                "json",
            ],
        ),
        ("list (first page, no filter)", ["query", "assessments", "list", "--limit", "50", "-o", "table"]),
        ("list (page 20 by cursor)", None),
        (
            "list (since, across runs)",
            ["query", "assessments", "list", "--since", "2026-11-01", "--check", "SEC-001", "-o", "json"],
        ),
        ("summary (one run)", ["query", "assessments", "summary", "-o", "json"]),
        ("summary (table)", ["query", "assessments", "summary"]),
        ("history (100 runs)", ["query", "assessments", "history", "--cluster", CLUSTER, "-o", "json"]),
        ("diff (two 50,000-result runs)", ["query", "assessments", "diff", previous, latest, "-o", "json"]),
        ("get (one result)", None),
        ("runs list", ["runs", "list", "-o", "json"]),
    ]
    from storage.queries import AssessmentQuery, list_assessments

    q = AssessmentQuery(run_id=latest, limit=50)
    cursor = None
    for _ in range(19):
        cursor = list_assessments(db, q.with_cursor(cursor)).next_cursor
    first_id = list_assessments(db, AssessmentQuery(run_id=latest, limit=1)).items[0]["id"]
    out = []
    for name, argv in cases:
        if name == "list (page 20 by cursor)":
            # --limit: without it -o json streams every result from the cursor on (49,000 here), not a page
            argv = ["query", "assessments", "list", "--run", latest, "--cursor", cursor or "", "--limit", "50"]
            argv += ["-o", "json"]
        if name == "get (one result)":
            argv = ["query", "assessments", "get", first_id, "-o", "json"]
        assert argv is not None

        def call(argv: list[str] = argv) -> None:
            code = cli_main(argv)
            if code != 0:
                raise SystemExit(f"{' '.join(argv)} exited {code}")

        median, worst = timed(call, repeat)
        out.append((name, "kwa " + " ".join(argv), median, worst, TARGETS_MS.get(name)))
    db.dispose()
    return out


def process_times(url: str) -> list[tuple[str, float]]:
    env = {**os.environ, "KWA_DATABASE_URL": url}
    out = []
    for argv in (["query", "assessments", "summary", "-o", "json"], ["query", "assessments", "history"]):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kwa", *argv], cwd=ROOT, env=env, check=True, capture_output=True)
        out.append(("python -m kwa " + " ".join(argv), (time.perf_counter() - t) * 1000))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"SQLite file to build or reuse ({DEFAULT_DB})")
    p.add_argument("--url", help="any database URL instead of --db (built when it has no runs)")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--checks", type=int, default=100)
    p.add_argument("--objects", type=int, default=500)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--rebuild", action="store_true", help="delete the SQLite file and build it again")
    p.add_argument("--build-only", action="store_true")
    a = p.parse_args(argv)

    url = a.url or f"sqlite:///{a.db}"
    if a.url is None and a.rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{a.db}{suffix}").unlink(missing_ok=True)
    db = Database(url)
    have = list_runs(db, cluster_id=CLUSTER, limit=1)
    db.dispose()
    if not have:
        rows = a.runs * a.checks * a.objects
        print(f"building {rows:,} result rows ({a.runs} runs) in {url} …", file=sys.stderr)
        seconds = build(url, a.runs, a.checks, a.objects)
        print(f"built in {seconds:.0f} s ({rows / seconds:,.0f} rows/s, history included)", file=sys.stderr)
    if a.build_only:
        return 0
    with Database(url) as db, db.read() as conn:
        total = conn.exec_driver_sql("SELECT count(*) FROM assessments").scalar_one()
    print(f"database: {url} ({total:,} result rows)")
    print(f"{'command':34} {'median':>9} {'worst':>9} {'target':>8}")
    failed = 0
    for name, _cmd, median, worst, target in measure(url, a.repeat):
        verdict = ""
        if target is not None:
            ok = median < target
            failed += not ok
            verdict = "ok" if ok else "SLOW"
        tgt = f"{target} ms" if target else "-"
        print(f"{name:34} {median:7.1f} ms {worst:7.1f} ms {tgt:>8} {verdict}")
    print("end to end, one process each (interpreter start and imports included):")
    for cmd, ms in process_times(url):
        print(f"  {cmd:60} {ms:7.0f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
