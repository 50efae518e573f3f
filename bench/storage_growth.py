"""A year of runs in kwa's database: ``python -m bench.storage_growth``.

Simulates ``--days`` (365) of a ``--objects`` (10k) cluster that changes a little every hour
(bench.growth_data): a full run every day at 06:00 and a ``--hourly-pillar`` (security) run every
hour, through kwa's real storage code:

* the runs that end up hot — the newest ``--keep`` of each scope, plus two more full runs and the
  last ``--real-days`` of pillar runs so that real compactions happen — go through the real write
  path (``ResultWriter.add_json``, ``finish_run``) and, after each, the compaction the flow runs
  (``storage.archive.compact``, timed);
* every older run is archived directly from its generated rows (``storage.archive.archive_rows``,
  the same encoding and deduplication as compaction, without first writing rows it would delete
  at once: 9,000 runs × 25,000 rows through ``assessments`` would take hours).

Reports bytes per stored result (hot and archived), the database size over the year, what the
year would have cost without archiving (hot bytes per result × results), and query timings at the
end size: the first page of ``list`` and ``summary`` on the newest run and on an archived run (the
first query restores it), ``history`` over the year, ``diff`` of the newest run against one a year
old. Results go to ``bench/results/<date>-storage-growth.json`` and ``.md``.

``run(argv) -> dict`` is what the bench suite calls.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, insert, select, update

from bench.growth_data import Cluster, counts
from bench.query_bench import synthetic_scores
from storage.archive import archive_run, compact
from storage.archive_codec import CONTENT, FORMAT, IdScheme, digest
from storage.db import Database
from storage.diff import diff_runs
from storage.history import cluster_history
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.models import contents_table as C
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.query_model import AssessmentQuery
from storage.result_listing import list_assessments
from storage.results import ResultWriter, rows_json
from storage.runs import create_run, finish_run, start_run
from storage.summary import run_summary

ROOT = Path(__file__).resolve().parents[1]
CLUSTER = "growth-prod"
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


def _new_run(db: Database, cluster: Cluster, n: int, at: datetime, pillar: str | None) -> dict[str, Any]:
    checks = [c["id"] for c in cluster.checks if pillar is None or c["pillar"] == pillar]
    pillars = sorted({c["pillar"] for c in cluster.checks}) if pillar is None else [pillar]
    run = create_run(
        db,
        run_id=f"run_{at:%Y%m%d_%H%M%S}_{n:06x}",
        scope="full" if pillar is None else "pillar",
        pillars=pillars,
        check_ids=checks,
        cluster_id=CLUSTER,
        source="api",
        trigger="schedule",
        requested_at=at,
    )
    start_run(db, run["run_id"])
    return run


def _finish(db: Database, run_id: str, items: list[tuple[dict[str, Any], list[tuple[Any, ...]]]]) -> None:
    finish_run(db, run_id, "completed", history={"duration_ms": 90_000, "scores": synthetic_scores(counts(items))})


def _backdate(conn: Any, run_id: str, at: datetime, duration_s: int) -> None:
    done = at + timedelta(seconds=duration_s)
    conn.execute(update(R).where(R.c.run_id == run_id).values(started_at=at, completed_at=done))
    conn.execute(update(H).where(H.c.run_id == run_id).values(finished_at=done))


def write_real(db: Database, cluster: Cluster, n: int, at: datetime, pillar: str | None) -> dict[str, float]:
    """One run through the real write path, then the compaction the flow runs after it."""
    items = cluster.run_rows(None if pillar is None else {pillar})
    run = _new_run(db, cluster, n, at, pillar)
    t = time.perf_counter()
    with ResultWriter(db, run["run_id"]) as writer:
        writer.add_json(
            [(c, rows_json(rows), len(rows), at + timedelta(seconds=i), 40 + i) for i, (c, rows) in enumerate(items)]
        )
    write_s = time.perf_counter() - t
    finish_run(
        db, run["run_id"], "completed", history={"duration_ms": 90_000, "scores": synthetic_scores(counts(items))}
    )
    with db.begin() as conn:
        _backdate(conn, run["run_id"], at, 90)
    t = time.perf_counter()
    archived = compact(db, cluster_id=CLUSTER, limit=4)
    return {"write_s": write_s, "compact_s": time.perf_counter() - t, "archived": len(archived)}


_details_cache: dict[str, Any] = {}
# Per kind of run, its runs and assessment_history rows as the real path wrote the first one.
_TEMPLATES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}


def _details(text: str | None) -> Any:
    if text is None:
        return None
    found = _details_cache.get(text)
    if found is None:
        found = _details_cache[text] = orjson.loads(text)
    return found


def _content(check: dict[str, Any], v: tuple[Any, ...]) -> tuple[Any, ...]:
    """A generated row's content (storage.archive_codec.CONTENT), as ``assessments`` would return it."""
    head = (check["pillar"], check["id"], check["name"], check["severity"])
    return (*head, *v[:6], v[6] or check["remediation"], *v[7:13], _details(v[13]))


def write_archived(
    db: Database, cluster: Cluster, n: int, at: datetime, pillar: str | None, cache: dict[str, int]
) -> None:
    """One run straight into the archive: its run and history rows as the real path writes them,
    its results as storage.archive.archive_rows would archive them (same contents table, same
    digests, same format, checked by :func:`verify`), without re-digesting the rows the
    generator knows did not change since it last archived them."""
    items = cluster.run_rows(None if pillar is None else {pillar})
    kind = "full" if pillar is None else "pillar"
    per_pillar = counts(items)
    totals: dict[str, int] = {}
    for per in per_pillar.values():
        for status, k in per.items():
            totals[status] = totals.get(status, 0) + k
    history = {
        "total": sum(totals.values()),
        **{f"{s}_count": totals.get(s, 0) for s in ("passing", "failing", "warning", "skipped")},
        "pillar_counts": per_pillar,
        "checks_executed": len(items),
        "scores": synthetic_scores(per_pillar),
    }
    run_id = f"run_{at:%Y%m%d_%H%M%S}_{n:06x}"
    done = at + timedelta(seconds=90)
    first = kind not in _TEMPLATES
    if first:  # the first of its kind through create/start/finish_run, the others like it
        _new_run(db, cluster, n, at, pillar)
        _finish(db, run_id, items)
        with db.read() as conn:
            _TEMPLATES[kind] = (
                dict(conn.execute(select(R).where(R.c.run_id == run_id)).one()._mapping),
                dict(conn.execute(select(H).where(H.c.run_id == run_id)).one()._mapping),
            )
    with db.begin() as conn:
        if first:
            conn.execute(update(H).where(H.c.run_id == run_id).values(**history))
            _backdate(conn, run_id, at, 90)
        else:
            run_row, hist_row = _TEMPLATES[kind]
            conn.execute(
                insert(R).values(
                    {**run_row, "run_id": run_id, "requested_at": at, "started_at": at, "completed_at": done}
                )
            )
            conn.execute(insert(H).values({**hist_row, **history, "run_id": run_id, "finished_at": done}))
        scheme = IdScheme(run_id, at)
        index = {c["id"]: ci for ci, c in enumerate(cluster.checks)}
        # Contents of the rows that changed: digested, found or added, as archive_rows does.
        fresh: dict[str, tuple[Any, ...]] = {}
        todo: list[tuple[int, int, str]] = []
        for check, _ in items:
            ci = index[check["id"]]
            cids = cluster.cids[ci]
            for oi in cluster.applies[ci]:
                if oi not in cids:
                    content = _content(check, cluster.row(ci, oi))
                    key = digest(content)
                    if key in cache:
                        cids[oi] = cache[key]
                    else:
                        fresh.setdefault(key, content)
                        todo.append((ci, oi, key))
        if fresh:
            conn.execute(
                insert(C),
                [{"cluster_id": CLUSTER, "digest": k, **dict(zip(CONTENT, v, strict=True))} for k, v in fresh.items()],
            )
            for key, cid in conn.execute(select(C.c.digest, C.c.id).where(C.c.id > max(cache.values(), default=0))):
                cache[key] = cid
            for ci, oi, key in todo:
                cluster.cids[ci][oi] = cache[key]
        # The run in id order: checks by id prefix, each check's results by sequence number.
        blocks, seq = [], 0
        for i, (check, rows) in enumerate(items):
            blocks.append((scheme.prefix(check["id"]), seq, index[check["id"]], i, len(rows)))
            seq += len(rows)
        blocks.sort()
        c: list[int] = []
        s: list[int] = []
        t: list[list[Any]] = []
        last_s = 0
        for _, first, ci, i, count in blocks:
            cids = cluster.cids[ci]
            c += [cids[oi] for oi in cluster.applies[ci]]
            s += [first - last_s] + [1] * (count - 1)
            last_s = first + count - 1
            t.append([count, (at + timedelta(seconds=i)).isoformat(), 40 + i])
        deltas = [c[0]] + [b - a for a, b in itertools.pairwise(c)] if c else []
        data = zlib.compress(orjson.dumps({"v": FORMAT, "c": deltas, "s": s, "t": t, "x": {}}), 6)
        conn.execute(
            insert(AR).values(
                run_id=run_id, cluster_id=CLUSTER, results=len(c), data=data, archived_at=at, restored_at=None
            )
        )


def verify(db: Database, cluster: Cluster, run_id: str, at: datetime, pillar: str | None) -> None:
    """The archived run decodes to exactly the rows the generator made (guards the fast path)."""
    from storage.archive import ensure_hot

    items = cluster.run_rows(None if pillar is None else {pillar})
    expected = sorted((IdScheme(run_id, at).result_id(c["id"], k), _content(c, v)) for k, (c, v) in _numbered(items))
    with db.read() as conn:
        ensure_hot(conn, run_id)
        got = [
            (r[0], tuple(r[1:]))
            for r in conn.execute(
                select(A.c.id, *(A.c[k] for k in CONTENT)).where(A.c.run_id == run_id).order_by(A.c.id)
            )
        ]
    if got != expected:
        raise AssertionError(f"archived run {run_id} does not decode to the rows it was made of")


def _numbered(items: list[tuple[dict[str, Any], list[tuple[Any, ...]]]]) -> list[tuple[int, tuple[Any, Any]]]:
    out, k = [], 0
    for c, rows in items:
        for v in rows:
            out.append((k, (c, v)))
            k += 1
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
