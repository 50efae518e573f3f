"""History, like compared with like: one cluster, one scope (moved out of storage.queries,
which re-exports these names).

The diff side — :func:`pick_pair`, :func:`require_comparable`, :func:`diff_runs` and their errors —
lives in :mod:`storage.diff` and is re-exported here, so ``from storage.history import diff_runs``
keeps working.

* :func:`cluster_history` — a cluster's finished runs of one scope, oldest first. Without a
  cluster: the one cluster there is, else :class:`ClusterChoice` (the CLI asks which, or exits 2
  listing them). Without a scope: ``full`` when the cluster has full runs in range, else the
  scope of its latest run; runs of other scopes are counted, never mixed in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.diff import (
    COMPARABLE_STATES,
    Incomparable,
    NothingToCompare,
    diff_runs,
    pick_pair,
    require_comparable,
)
from storage.models import history_shown, to_utc
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.query_model import MAX_HISTORY, NoRuns, QueryError
from storage.run_lookup import _history, _require_cluster, _row
from storage.scopes import ANY, FULL, Scope

__all__ = [
    "COMPARABLE_STATES",
    "ClusterChoice",
    "History",
    "Incomparable",
    "NothingToCompare",
    "cluster_history",
    "clusters_overview",
    "diff_runs",
    "pick_pair",
    "require_comparable",
]

CLUSTERS_LISTED = 20  # clusters a "which cluster?" message lists (the rest are counted)
_CHUNK = 500  # ids per IN (...) list: well inside every driver's bound-parameter limit


class ClusterChoice(QueryError):
    """Several clusters have runs and none was named: which one? (``clusters``: the overview)."""

    def __init__(self, clusters: list[dict[str, Any]], command: str = "history") -> None:
        self.clusters = clusters
        lines = [f"runs of {len(clusters)} clusters are stored: name one with --cluster ID"]
        lines += [f"  {cluster_line(c)}" for c in clusters[:CLUSTERS_LISTED]]
        if len(clusters) > CLUSTERS_LISTED:
            lines.append(f"  … and {len(clusters) - CLUSTERS_LISTED} more (kwa runs list shows every run)")
        super().__init__("\n".join(lines))
        self.command = command


def cluster_line(c: dict[str, Any]) -> str:
    """``prod-eu  12 runs  latest run_… 2026-02-11 09:00 UTC completed (full)``."""
    at = c["requested_at"]
    when = at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(at, datetime) else str(at)
    runs = f"{c['runs']} run{'s' if c['runs'] != 1 else ''}"
    return f"{c['cluster_id']}  {runs}  latest {c['run_id']} {when} {c['state']} ({c['scope']})"


def clusters_overview(db: Database) -> list[dict[str, Any]]:
    """Every cluster with runs: how many, and its latest run (id, time, state, scope); newest first."""
    with db.read() as conn:
        return _clusters(conn)


def _clusters(conn: Connection) -> list[dict[str, Any]]:
    counts = dict(conn.execute(select(R.c.cluster_id, func.count()).group_by(R.c.cluster_id)).all())
    out = []
    for cluster_id in counts:
        latest = conn.execute(
            select(R).where(R.c.cluster_id == cluster_id).order_by(R.c.requested_at.desc(), R.c.run_id.desc()).limit(1)
        ).first()
        run = _row(latest)
        out.append(
            {
                "cluster_id": cluster_id,
                "runs": int(counts[cluster_id]),
                "run_id": run["run_id"],
                "requested_at": run["requested_at"],
                "state": run["state"],
                "scope": Scope.of_run(run).label,
            }
        )
    out.sort(key=lambda c: (c["requested_at"], c["run_id"]), reverse=True)
    return out


def _one_cluster(conn: Connection, command: str) -> str:
    clusters = _clusters(conn)
    if not clusters:
        raise NoRuns()
    if len(clusters) > 1:
        raise ClusterChoice(clusters, command)
    return str(clusters[0]["cluster_id"])


# -- history ------------------------------------------------------------------------------------


@dataclass
class History:
    cluster_id: str
    scope: Scope  # the scope shown (ANY: every run)
    chosen: str  # how the scope was chosen: "asked", "full runs", "the latest run's", "any"
    rows: list[dict[str, Any]]  # history rows, oldest first, each with requested_at, trigger, scope
    other_scopes: dict[str, int] = field(default_factory=dict)  # label -> runs in range left out


def cluster_history(
    db: Database,
    cluster_id: str | None = None,
    since: datetime | None = None,
    limit: int = 1000,
    scope: Scope | None = None,
) -> History:
    """The finished runs of ``cluster_id`` with one scope, oldest first (``limit`` keeps the newest).

    ``scope`` None: ``full`` if the cluster has full runs in range, else its latest run's scope;
    :data:`~storage.scopes.ANY`: every run. Raises :class:`ClusterChoice` when ``cluster_id`` is
    None and several clusters have runs.
    """
    if not isinstance(limit, int) or not 1 <= limit <= MAX_HISTORY:
        raise QueryError(f"history limit must be between 1 and {MAX_HISTORY:,}, not {limit!r}")
    with db.read() as conn:
        if cluster_id is None:
            cluster_id = _one_cluster(conn, "history")
        else:
            _require_cluster(conn, cluster_id)
        # Every finished run in range, newest first: id and scope kind only (small rows); the
        # pillars/checks lists (JSON) are read for the runs that are not full runs only.
        query = select(H.c.run_id, R.c.scope).join(R, R.c.run_id == H.c.run_id).where(H.c.cluster_id == cluster_id)
        if since is not None:
            query = query.where(H.c.finished_at >= to_utc(since))
        kinds = [(r.run_id, r.scope) for r in conn.execute(query.order_by(H.c.finished_at.desc(), H.c.run_id.desc()))]
        partial = _scopes(conn, [rid for rid, kind in kinds if kind != FULL.kind])
        candidates = [(rid, FULL if kind == FULL.kind else partial.get(rid, Scope(kind))) for rid, kind in kinds]
        chosen = "asked" if scope is not None else "full runs"
        if scope is None:
            present = {s for _, s in candidates}
            scope = FULL if FULL in present or not candidates else candidates[0][1]
            chosen = "full runs" if scope == FULL else "the latest run's"
        elif scope.is_any:
            chosen = "any"
        picked = [rid for rid, s in candidates if scope.matches(s)][:limit]
        others: dict[str, int] = {}
        for _, s in candidates:
            if not scope.matches(s):
                others[s.label] = others.get(s.label, 0) + 1
        labels = {rid: s.label for rid, s in candidates}
        rows = list(_history_rows(conn, picked, labels))
    rows.sort(key=lambda r: (r["finished_at"], r["run_id"]))
    return History(cluster_id, scope, chosen, rows, dict(sorted(others.items(), key=lambda kv: (-kv[1], kv[0]))))


def _scopes(conn: Connection, run_ids: Sequence[str]) -> dict[str, Scope]:
    out: dict[str, Scope] = {}
    for start in range(0, len(run_ids), _CHUNK):
        ids = list(run_ids[start : start + _CHUNK])
        query = select(R.c.run_id, R.c.scope, R.c.pillars, R.c.check_ids).where(R.c.run_id.in_(ids))
        out.update((r.run_id, Scope.of_run(r._mapping)) for r in conn.execute(query))
    return out


def _history_rows(conn: Connection, run_ids: Sequence[str], labels: dict[str, str]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(run_ids), _CHUNK):
        ids = list(run_ids[start : start + _CHUNK])
        query = select(R.c.run_id, R.c.requested_at, R.c.trigger).where(R.c.run_id.in_(ids))
        extra = {r.run_id: (r.requested_at, r.trigger) for r in conn.execute(query)}
        for row in conn.execute(select(*history_shown).where(H.c.run_id.in_(ids))):
            h = _history(row)
            assert h is not None
            h["requested_at"], h["trigger"] = extra.get(h["run_id"], (None, None))
            h["scope"] = labels.get(h["run_id"])
            yield h


__all__ += ["ANY", "FULL", "Scope"]
