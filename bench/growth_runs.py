"""Writing the simulated runs of bench.storage_growth: through the real path, or straight into the archive.

Split from bench.storage_growth (the simulation's schedule, measurements and report).
"""

from __future__ import annotations

import operator
import time
import zlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import insert, select, update

from bench.growth_data import Cluster, counts
from bench.query_bench import synthetic_scores
from storage.archive import compact
from storage.archive_codec import CONTENT, FORMAT, IdScheme, digest
from storage.db import Database
from storage.models import archived_table as AR
from storage.models import assessments_table as A
from storage.models import contents_table as C
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.results import ResultWriter, rows_json
from storage.runs import create_run, finish_run, start_run

CLUSTER = "growth-prod"


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
    chosen = [ci for ci, c in enumerate(cluster.checks) if pillar is None or c["pillar"] == pillar]
    kind = "full" if pillar is None else "pillar"
    per_pillar: dict[str, dict[str, int]] = {}
    for ci in chosen:
        per = per_pillar.setdefault(cluster.checks[ci]["pillar"], {})
        for status, k in Counter(cluster.status[ci].values()).items():
            per[status] = per.get(status, 0) + k
    totals: Counter[str] = Counter()
    for per in per_pillar.values():
        totals.update(per)
    history = {
        "total": sum(totals.values()),
        **{f"{s}_count": totals.get(s, 0) for s in ("passing", "failing", "warning", "skipped")},
        "pillar_counts": per_pillar,
        "checks_executed": len(chosen),
        "scores": synthetic_scores(per_pillar),
    }
    run_id = f"run_{at:%Y%m%d_%H%M%S}_{n:06x}"
    done = at + timedelta(seconds=90)
    first_of_kind = kind not in _TEMPLATES
    if first_of_kind:  # the first of its kind through create/start/finish_run, the others like it
        _new_run(db, cluster, n, at, pillar)
        _finish(db, run_id, cluster.run_rows(None if pillar is None else {pillar}))
        with db.read() as conn:
            _TEMPLATES[kind] = (
                dict(conn.execute(select(R).where(R.c.run_id == run_id)).one()._mapping),
                dict(conn.execute(select(H).where(H.c.run_id == run_id)).one()._mapping),
            )
    with db.begin() as conn:
        if first_of_kind:
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
        # Contents of the rows that changed: digested, found or added, as archive_rows does.
        fresh: dict[str, tuple[Any, ...]] = {}
        todo: list[tuple[int, int, str]] = []
        for ci in chosen:
            cids = cluster.cids[ci]
            for oi in cluster.applies_set[ci] - cids.keys():
                content = _content(cluster.checks[ci], cluster.row(ci, oi))
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
        scheme = IdScheme(run_id, at)
        blocks, seq = [], 0
        for i, ci in enumerate(chosen):
            count = len(cluster.applies[ci])
            blocks.append((scheme.prefix(cluster.checks[ci]["id"]), seq, ci, i, count))
            seq += count
        blocks.sort()
        c: list[int] = []
        s: list[int] = []
        t: list[list[Any]] = []
        last_s = 0
        for _, start, ci, i, count in blocks:
            c += map(cluster.cids[ci].__getitem__, cluster.applies[ci])
            s += [start - last_s] + [1] * (count - 1)
            last_s = start + count - 1
            t.append([count, (at + timedelta(seconds=i)).isoformat(), 40 + i])
        deltas = [c[0], *map(operator.sub, c[1:], c[:-1])] if c else []
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
