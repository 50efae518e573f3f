"""A year of runs in kwa's database: ``python -m bench.storage_growth``.

Simulates ``--days`` (365) of a ``--objects`` (10k) cluster that changes a little every hour
(bench.growth_data): a full run every day at 06:00 and a ``--hourly-pillar`` (security) run every
hour, through kwa's real storage code:

* the runs that end up hot — the newest ``--keep`` of each scope, plus two more full runs and the
  last ``--real-days`` of pillar runs so that real compactions happen — go through the real write
  path (``ResultWriter.add_json``, ``finish_run``) and, after each, the compaction the flow runs
  (``storage.archive.compact``, timed);
* every older run goes straight into the archive (bench.growth_runs.write_archived): its run and
  history rows like the first run's, its results in the archive's format and tables with the same
  digests as ``storage.archive.archive_rows``, digesting only the results the generator changed
  since (a year of 221 million rows through ``assessments`` and back out would take hours here).
  Every 30th day one of them is restored through ``ensure_hot``, compared row by row with what was
  generated, and archived again through ``archive_run``.

Runtime at 10k objects with hourly runs: ~16 min for the year's runs plus a few minutes of
queries (measured on a shared, loaded two-core machine); ``--days 30`` for a quicker look.

Reports bytes per stored result (hot and archived), the database size over the year, what the
year would have cost without archiving (hot bytes per result × results), and query timings at the
end size: the first page of ``list`` and ``summary`` on the newest run and on an archived run (the
first query restores it), ``history`` over the year, ``diff`` of the newest run against one a year
old. Results go to ``bench/results/<date>-storage-growth.json`` and ``.md``.

``run(argv) -> dict`` is what the bench suite calls.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.growth_data import Cluster
from bench.growth_runs import CLUSTER, verify, write_archived, write_real
from storage.archive import archive_run
from storage.db import Database
from storage.diff import diff_runs
from storage.history import cluster_history
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.models import contents_table as C
from storage.models import runs_table as R
from storage.query_model import AssessmentQuery
from storage.result_listing import list_assessments
from storage.summary import run_summary

ROOT = Path(__file__).resolve().parents[1]
FULL_HOUR = 6


def parse_count(text: str) -> int:
    text = text.strip().lower()
    return int(float(text[:-1]) * 1000) if text.endswith("k") else int(text)


def options(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.storage_growth", description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--objects", type=parse_count, default=10_000)
    p.add_argument("--hourly-pillar", default="security", help="pillar of the hourly runs ('none': no hourly runs)")
    p.add_argument("--keep", type=int, default=14, help="hot runs per scope (KWA_HOT_RUNS)")
    p.add_argument("--real-days", type=int, default=2, help="days of pillar runs through the real write path")
    p.add_argument("--db", type=Path, default=Path("/tmp/kwa-storage-growth.db"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--repeat", type=int, default=5)
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(f"[storage-growth] {msg}", file=sys.stderr, flush=True)


def schedule(days: int, hourly: str | None, start: datetime) -> list[tuple[datetime, str | None]]:
    """``(requested_at, pillar or None for full)`` of every run, oldest first."""
    out: list[tuple[datetime, str | None]] = []
    for h in range(days * 24):
        at = start + timedelta(hours=h)
        if h % 24 == FULL_HOUR:
            out.append((at, None))
        if hourly:
            out.append((at + timedelta(minutes=30), hourly))
    return out


def sizes(path: Path) -> dict[str, Any]:
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        per = dict(con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        tables = dict(con.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
    finally:
        con.close()
    by_table: dict[str, int] = {}
    for name, size in per.items():
        table = tables.get(name, name)
        by_table[table] = by_table.get(table, 0) + int(size)
    return {"file_bytes": path.stat().st_size, "tables": by_table}


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {"median_ms": round(statistics.median(samples), 1), "worst_ms": round(max(samples), 1)}


def once(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return round((time.perf_counter() - t) * 1000, 1)


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    hourly = None if args.hourly_pillar in ("", "none") else args.hourly_pillar
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{args.db}")
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=args.days)
    plan = schedule(args.days, hourly, start)
    full_times = [at for at, p in plan if p is None]
    real_full_from = full_times[-min(len(full_times), args.keep + 2)]
    pillar_times = [at for at, p in plan if p is not None]
    real_pillar_from = (
        pillar_times[-min(len(pillar_times), max(args.keep, args.real_days * 24))] if pillar_times else end
    )
    cluster = Cluster(args.objects)
    cache: dict[str, int] = {}
    growth, real = [], {"full": [], "pillar": []}
    results = {"full": 0, "pillar": 0}
    hour, started, verified = 0, time.perf_counter(), 0
    for n, (at, pillar) in enumerate(plan):
        while start + timedelta(hours=hour) < at.replace(minute=0):
            cluster.step_hour()
            hour += 1
        kind = "full" if pillar is None else "pillar"
        results[kind] += sum(len(a) for c, a in zip(cluster.checks, cluster.applies, strict=True)
                             if pillar is None or c["pillar"] == pillar)  # fmt: skip
        if at >= (real_full_from if pillar is None else real_pillar_from):
            real[kind].append(write_real(db, cluster, n, at, pillar))
        else:
            write_archived(db, cluster, n, at, pillar, cache)
            if pillar is None and (at - start).days % 30 == 0:  # now and then: decodes to what was made
                run_id = f"run_{at:%Y%m%d_%H%M%S}_{n:06x}"
                verify(db, cluster, run_id, at, pillar)
                archive_run(db, run_id)
                verified += 1
        if pillar is None and (len(growth) == 0 or (at - start).days % 30 == 0 or at == full_times[-1]):
            size = sizes(args.db)
            growth.append({"day": (at - start).days + 1, "file_mb": round(size["file_bytes"] / 1e6, 1)})
            log(f"day {growth[-1]['day']}: {growth[-1]['file_mb']} MB, {time.perf_counter() - started:.0f} s")
    return {
        "db": db,
        "start": start,
        "growth": growth,
        "real": real,
        "results": results,
        "hourly": hourly,
        "verified_runs": verified,
    }


def measure(db: Database, args: argparse.Namespace, sim: dict[str, Any]) -> dict[str, Any]:
    with db.read() as conn:
        hot_rows = conn.execute(select(func.count()).select_from(A)).scalar_one()
        cold = conn.execute(
            select(func.count(), func.sum(AR.c.results), func.sum(func.length(AR.c.data))).where(
                AR.c.restored_at.is_(None)
            )
        ).one()
        full = [r[0] for r in conn.execute(select(R.c.run_id).where(R.c.scope == "full").order_by(R.c.requested_at))]
        cold_full = [
            r[0]
            for r in conn.execute(
                select(R.c.run_id)
                .join(AR, AR.c.run_id == R.c.run_id)
                .where(R.c.scope == "full", AR.c.restored_at.is_(None))
                .order_by(R.c.requested_at)
            )
        ]
        contents = conn.execute(select(func.count()).select_from(C)).scalar_one()
        hot_runs = conn.execute(select(func.count(func.distinct(A.c.run_id)))).scalar_one()
    size = sizes(args.db)
    t = size["tables"]
    hot_bytes = t.get("assessments", 0)
    cold_bytes = t.get("result_contents", 0) + t.get("archived_runs", 0)
    per_hot = hot_bytes / hot_rows if hot_rows else None
    total_results = sim["results"]["full"] + sim["results"]["pillar"]
    newest, year_old = full[-1], full[0]
    mid = cold_full[len(cold_full) // 2] if cold_full else full[0]
    r = args.repeat
    q = {
        "list first page, newest run": timed(lambda: list_assessments(db, AssessmentQuery(run_id=newest)), r),
        "list first page failing, newest run": timed(
            lambda: list_assessments(db, AssessmentQuery(run_id=newest, status=("failing",))), r
        ),
        "summary, newest run": timed(lambda: run_summary(db, newest), r),
        "list first page, archived run (first query: restores it)": once(
            lambda: list_assessments(db, AssessmentQuery(run_id=mid))
        ),
        "list first page, archived run (restored)": timed(lambda: list_assessments(db, AssessmentQuery(run_id=mid)), r),
        "summary, archived run (restored)": timed(lambda: run_summary(db, mid), r),
        "history, full runs over the year": timed(lambda: cluster_history(db, CLUSTER, since=sim["start"]), r),
        "diff newest vs a year old (first: restores the old run)": once(lambda: diff_runs(db, year_old, newest)),
        "diff newest vs a year old (restored)": timed(lambda: diff_runs(db, year_old, newest), r),
    }
    if sim["hourly"]:
        from storage.scopes import Scope

        scope = Scope("pillar", (sim["hourly"],))
        q[f"history, {sim['hourly']} runs over the year"] = timed(
            lambda: cluster_history(db, CLUSTER, since=sim["start"], scope=scope, limit=100_000), r
        )

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    return {
        "hot": {"runs": hot_runs, "results": hot_rows, "bytes": hot_bytes, "bytes_per_result": per_hot},
        "archived": {
            "runs": cold[0],
            "results": int(cold[1] or 0),
            "contents": contents,
            "bytes": cold_bytes,
            "run_rows_bytes": int(cold[2] or 0),
            "bytes_per_result": cold_bytes / cold[1] if cold[1] else None,
        },
        "results_stored": total_results,
        "file_bytes": size["file_bytes"],
        "tables_bytes": t,
        "without_archive_bytes_estimate": int(per_hot * total_results) if per_hot else None,
        "queries_ms": q,
        "real_path": {
            k: {
                "runs": len(v),
                "write_s_median": med([x["write_s"] for x in v]),
                "compact_s_median": med([x["compact_s"] for x in v if x["archived"]]),
            }
            for k, v in sim["real"].items()
        },
    }


def markdown(result: dict[str, Any]) -> str:
    m, a = result["measured"], result["args"]
    gb = 1e9
    lines = [
        f"# Storage growth: {a['days']} days, {a['objects']:,} objects, hourly {a['hourly_pillar']}, keep {a['keep']}",
        "",
        f"- results stored over the period: {m['results_stored']:,}",
        f"- database at the end: {m['file_bytes'] / 1e6:,.0f} MB "
        f"(without archiving, estimated: {m['without_archive_bytes_estimate'] / gb:,.1f} GB)",
        f"- hot results (`assessments`): {m['hot']['results']:,}, {m['hot']['bytes_per_result']:.0f} bytes each "
        "with indexes",
        f"- archived: {m['archived']['runs']:,} runs, {m['archived']['results']:,} results in "
        f"{m['archived']['contents']:,} distinct contents: {m['archived']['bytes_per_result']:.2f} bytes per result",
        "",
        "| query | median ms | worst ms |",
        "|---|---:|---:|",
    ]
    for name, v in m["queries_ms"].items():
        if isinstance(v, dict):
            lines.append(f"| {name} | {v['median_ms']} | {v['worst_ms']} |")
        else:
            lines.append(f"| {name} | {v} | (once) |")
    lines += ["", "| day | database MB |", "|---:|---:|"]
    lines += [f"| {g['day']} | {g['file_mb']} |" for g in result["growth"]]
    lines += ["", "Real write path (median seconds):", ""]
    for k, v in m["real_path"].items():
        lines.append(f"- {k}: {v['runs']} runs, write {v['write_s_median']} s, compaction {v['compact_s_median']} s")
    return "\n".join(lines) + "\n"


def run(argv: list[str] | None = None) -> dict[str, Any]:
    args = options(argv)
    t = time.perf_counter()
    sim = simulate(args)
    db = sim.pop("db")
    measured = measure(db, args, sim)
    db.dispose()
    result = {
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "growth": sim["growth"],
        "verified_runs": sim["verified_runs"],
        "measured": measured,
        "seconds": round(time.perf_counter() - t, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{datetime.now(UTC):%Y-%m-%d}-storage-growth"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    log(f"done in {result['seconds']} s: {stem}.json")
    return result


if __name__ == "__main__":
    print(markdown(run()))
