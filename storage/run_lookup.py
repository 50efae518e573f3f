"""Finding runs: by id, the latest (of a cluster), how many are active, what a run warned about.

Split from storage.queries (which re-exports the public names): result listings, summaries, run
listings and storage.history all start by resolving which run they are about, and they must
agree on what "no runs", "unknown cluster" and "unknown run" mean. The history-row reader
(:func:`_history`) lives here for the same reason: every reader presents stored history through it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from storage.archive import ensure_hot
from storage.db import Database
from storage.enums import STATUSES, RunState
from storage.models import runs_table as R
from storage.query_model import ClusterNotFound, NoRuns, QueryError, _pillar_pos
from storage.runs import RunNotFound
from storage.scores import normalise, run_scores


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _history(row: Any) -> dict[str, Any] | None:
    """A history row with ``pillar_counts`` in a stable order: pillars as in :data:`PILLARS`, every
    status in :data:`STATUSES` order (the stored JSON keeps whatever order its GROUP BY produced)."""
    if row is None:
        return None
    h = _row(row)
    h.pop("check_counts", None)  # a whole row (storage.summary reads them): not a figure to show
    h["scores"] = normalise(h.get("scores"))  # version-1 history reads by the current rule
    counts = h.get("pillar_counts") or {}
    h["pillar_counts"] = {
        p: {s: int((counts[p] or {}).get(s, 0) or 0) for s in STATUSES} for p in sorted(counts, key=_pillar_pos)
    }
    return h


def _known_clusters(conn: Connection, limit: int = 10) -> list[str]:
    rows = conn.execute(select(R.c.cluster_id).group_by(R.c.cluster_id).order_by(R.c.cluster_id).limit(limit))
    return [r[0] for r in rows]


def _require_cluster(conn: Connection, cluster_id: str) -> None:
    if conn.execute(select(R.c.run_id).where(R.c.cluster_id == cluster_id).limit(1)).first() is None:
        if conn.execute(select(R.c.run_id).limit(1)).first() is None:
            raise NoRuns()
        raise ClusterNotFound(cluster_id, _known_clusters(conn))


def _latest(conn: Connection, cluster_id: str | None, n: int = 1, finished: bool = False) -> list[dict[str, Any]]:
    query = select(R)
    if cluster_id is not None:
        query = query.where(R.c.cluster_id == cluster_id)
    if finished:
        query = query.where(R.c.completed_at.is_not(None))
    rows = [_row(r) for r in conn.execute(query.order_by(R.c.requested_at.desc(), R.c.run_id.desc()).limit(n))]
    if not rows:
        if cluster_id is not None:
            _require_cluster(conn, cluster_id)
        elif conn.execute(select(R.c.run_id).limit(1)).first() is None:
            raise NoRuns()
    return rows


def _get_run(conn: Connection, run_id: str) -> dict[str, Any]:
    row = conn.execute(select(R).where(R.c.run_id == run_id)).first()
    if row is None:
        if conn.execute(select(R.c.run_id).limit(1)).first() is None:
            raise NoRuns()
        raise RunNotFound(run_id)
    return _row(row)


def resolve_run(db: Database, run_id: str | None = None, cluster_id: str | None = None) -> dict[str, Any]:
    """The run ``run_id``, else the latest run of ``cluster_id``, else the latest run of all."""
    with db.read() as conn:
        return _resolve(conn, run_id, cluster_id)


def _resolve(conn: Connection, run_id: str | None, cluster_id: str | None) -> dict[str, Any]:
    """The run a query is about, its results in ``assessments`` for the rest of ``conn``'s
    transaction (an archived run's are put back: storage.archive)."""
    if run_id is not None:
        run = _get_run(conn, run_id)
        if cluster_id is not None and run["cluster_id"] != cluster_id:
            raise QueryError(f"run {run_id} belongs to cluster {run['cluster_id']!r}, not {cluster_id!r}")
    else:
        runs = _latest(conn, cluster_id)
        if not runs:  # pragma: no cover - _latest raised already
            raise NoRuns()
        run = runs[0]
    ensure_hot(conn, run["run_id"])
    return run


def latest_runs(db: Database, cluster_id: str | None = None, n: int = 2) -> list[dict[str, Any]]:
    """The ``n`` latest finished runs of ``cluster_id`` (default: the cluster of the latest run)."""
    with db.read() as conn:
        if cluster_id is None:
            cluster_id = _resolve(conn, None, None)["cluster_id"]
        return _latest(conn, cluster_id, n, finished=True)


def active_run_count(db: Database, cluster_id: str | None = None) -> int:
    """Runs queued or running (of ``cluster_id``): what "nothing here yet" is waiting for."""
    query = select(func.count()).select_from(R).where(R.c.state.in_((RunState.QUEUED.value, RunState.RUNNING.value)))
    if cluster_id is not None:
        query = query.where(R.c.cluster_id == cluster_id)
    with db.read() as conn:
        return int(conn.execute(query).scalar_one())


def run_warnings(run: dict[str, Any], history: dict[str, Any] | None = None) -> list[str]:
    """What a finished run recorded besides its results (the warning indicator, docs/lifecycle.md#warnings); first, when
    it assessed nothing (storage.assessed, exit 9), why."""
    from storage.assessed import nothing_assessed

    facts = run.get("summary") or {}
    nothing = nothing_assessed(run, history)
    out = [f"nothing was assessed: {nothing}"] if nothing else []
    out += [f"skipped input: {p}" for p in facts.get("problems") or []]
    out += [f"not listed: {kind}: {why}" for kind, why in (facts.get("unavailable") or {}).items()]
    out += [
        f"check {cid} {info.get('outcome', 'not executed')}: {info.get('message', '')}".rstrip(": ")
        for cid, info in (facts.get("checks_not_executed") or {}).items()
    ]
    return out


def _scores(db: Database, run_id: str, history: dict[str, Any] | None) -> dict[str, Any] | None:
    """The history row's scores (normalised by :func:`_history`), else computed from the results now."""
    if history and history.get("scores"):
        return history["scores"]
    return run_scores(db, run_id)
