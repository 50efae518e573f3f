"""History and diffs, like compared with like: one cluster, one scope (moved out of storage.queries,
which re-exports these names).

* :func:`cluster_history` — a cluster's finished runs of one scope, oldest first. Without a
  cluster: the one cluster there is, else :class:`ClusterChoice` (the CLI asks which, or exits 2
  listing them). Without a scope: ``full`` when the cluster has full runs in range, else the
  scope of its latest run; runs of other scopes are counted, never mixed in.
* :func:`pick_pair` — the two runs ``diff`` compares by default: the latest run that assessed
  anything comparable (``completed`` or ``partial``) and the one before it with the same cluster
  and scope.
* :func:`require_comparable` — two runs named by the user must be of one cluster and one scope
  unless the caller allows otherwise (``--any-cluster``, ``--any-scope``): :class:`Incomparable`.
* :func:`diff_runs` — what changed between two runs, keyed by (check, object, container).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from storage.db import Database
from storage.enums import RunState
from storage.models import assessments_table as A
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.models import to_utc
from storage.query_model import MAX_HISTORY, NoRuns, QueryError, _severity_pos
from storage.run_lookup import _get_run, _history, _require_cluster, _row
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

COMPARABLE_STATES = (RunState.COMPLETED.value, RunState.PARTIAL.value)  # runs with results to compare
_ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)
CLUSTERS_LISTED = 20  # clusters a "which cluster?" message lists (the rest are counted)
_CHUNK = 500  # ids per IN (...) list: well inside every driver's bound-parameter limit
# When one (check, object, container) has several results in a run, the diff keeps the worst.
_STATUS_RANK = {"failing": 0, "error": 1, "timeout": 2, "warning": 3, "passing": 4, "skipped": 5}


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


class Incomparable(QueryError):
    """Two runs of different clusters or scopes, and the caller did not allow that."""


class NothingToCompare(QueryError):
    """Fewer than two like runs: a diff has nothing to compare yet."""


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
        for row in conn.execute(select(H).where(H.c.run_id.in_(ids))):
            h = _history(row)
            assert h is not None
            h["requested_at"], h["trigger"] = extra.get(h["run_id"], (None, None))
            h["scope"] = labels.get(h["run_id"])
            yield h


# -- which runs a diff compares -----------------------------------------------------------------


def require_comparable(
    a: dict[str, Any], b: dict[str, Any], any_scope: bool = False, any_cluster: bool = False
) -> None:
    """Refuse to compare unlike runs unless told to (:class:`Incomparable`, a usage error)."""
    if a["cluster_id"] != b["cluster_id"] and not any_cluster:
        raise Incomparable(
            f"runs {a['run_id']} and {b['run_id']} are of different clusters ({a['cluster_id']!r} and "
            f"{b['cluster_id']!r}): a diff would report one's objects as gone and the other's as new. Compare "
            "two runs of one cluster, or pass --any-cluster to compare them anyway."
        )
    sa, sb = Scope.of_run(a), Scope.of_run(b)
    if sa != sb and not any_scope:
        raise Incomparable(
            f"runs {a['run_id']} ({sa.label}) and {b['run_id']} ({sb.label}) assessed different scopes: every "
            "check outside the smaller one would show as gone or new. Compare two runs of one scope "
            "(kwa query assessments history --scope LABEL lists them), or pass --any-scope to compare them anyway."
        )


def pick_pair(
    db: Database, cluster_id: str | None = None, scope: Scope | None = None
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``(older, newer, how)``: the latest comparable run (of ``cluster_id``, of ``scope``) and the one
    before it with the same cluster and the same scope (any scope when ``scope`` is ANY)."""
    with db.read() as conn:
        if cluster_id is not None:
            _require_cluster(conn, cluster_id)
        query = select(R).where(R.c.state.in_(COMPARABLE_STATES))
        if cluster_id is not None:
            query = query.where(R.c.cluster_id == cluster_id)
        newer: dict[str, Any] | None = None
        others: dict[str, int] = {}
        for row in conn.execute(query.order_by(R.c.requested_at.desc(), R.c.run_id.desc())):
            run = _row(row)
            run_scope = Scope.of_run(run)
            if newer is None:
                if scope is None or scope.matches(run_scope):
                    newer = run
                continue
            if run["cluster_id"] != newer["cluster_id"]:
                continue
            wanted = scope if scope is not None and scope.is_any else Scope.of_run(newer)
            if wanted.matches(run_scope):
                what = "runs" if wanted.is_any else f"{wanted.label} runs"
                return run, newer, f"the latest two finished {what} of cluster {newer['cluster_id']}"
            others[run_scope.label] = others.get(run_scope.label, 0) + 1
        if newer is None and conn.execute(select(R.c.run_id).limit(1)).first() is None:
            raise NoRuns()
        active = select(func.count()).select_from(R).where(R.c.state.in_(_ACTIVE))
        which = cluster_id if newer is None else newer["cluster_id"]
        if which is not None:
            active = active.where(R.c.cluster_id == which)
        waiting = int(conn.execute(active).scalar_one())
    raise NothingToCompare(_nothing_to_compare(newer, cluster_id, scope, others, waiting))


def _nothing_to_compare(
    newer: dict[str, Any] | None, cluster_id: str | None, scope: Scope | None, others: dict[str, int], waiting: int
) -> str:
    where = f" of cluster {cluster_id}" if cluster_id else ""
    active = f" ({waiting} queued or running)" if waiting else ""
    if newer is None:
        what = f"{scope.label} run" if scope is not None and not scope.is_any else "run"
        return f"no completed or partial {what}{where}{active}: nothing to compare yet"
    label = Scope.of_run(newer).label
    text = (
        f"cluster {newer['cluster_id']} has one completed or partial {label} run ({newer['run_id']}){active}: "
        "nothing to compare it with yet"
    )
    if others:
        listed = ", ".join(f"{lbl} ×{n}" for lbl, n in sorted(others.items(), key=lambda kv: (-kv[1], kv[0])))
        text += f" (other scopes: {listed}; --scope LABEL picks one, --any-scope compares across scopes)"
    return text


# -- diff ---------------------------------------------------------------------------------------

_DIFF_COLUMNS = (
    A.c.check_id,
    A.c.object_kind,
    A.c.object_namespace,
    A.c.object_name,
    A.c.container,
    A.c.status,
    A.c.severity,
    A.c.pillar,
    A.c.check_name,
    A.c.message,
    A.c.id,
)


def _diff_rows(conn: Connection, run_id: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """(check, kind, namespace, name, container) → the row of its worst result in the run."""
    out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    rank = _STATUS_RANK
    for row in conn.execute(select(*_DIFF_COLUMNS).where(A.c.run_id == run_id)):
        key = row[:5]
        have = out.get(key)
        if have is None or rank.get(row[5], 9) < rank.get(have[5], 9):
            out[key] = tuple(row)
    return out


def _worst_per_object(
    rows: dict[tuple[Any, ...], tuple[Any, ...]], objects: set[tuple[Any, ...]]
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """(check, kind, namespace, name) → the worst of its rows across containers, for ``objects``."""
    out: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    if not objects:
        return out
    for key, row in rows.items():
        if key[:4] not in objects:
            continue
        have = out.get(key[:4])
        if have is None or _STATUS_RANK.get(row[5], 9) < _STATUS_RANK.get(have[5], 9):
            out[key[:4]] = row
    return out


def _diff_item(key: tuple[Any, ...], before: tuple[Any, ...] | None, after: tuple[Any, ...] | None) -> dict[str, Any]:
    row = after or before
    assert row is not None
    return {
        "check_id": key[0],
        "object_kind": key[1],
        "object_namespace": key[2],
        "object_name": key[3],
        "container": key[4],
        "severity": row[6],
        "pillar": row[7],
        "check_name": row[8],
        "before": before[5] if before else None,
        "after": after[5] if after else None,
        "message": row[9],
        "id": row[10],
    }


def diff_runs(db: Database, run_a: str, run_b: str) -> dict[str, Any]:
    """What changed from run A to run B, keyed by (check, object, container).

    ``new_failures``: failing in B and not failing (or absent) in A; ``fixed``: failing in A,
    present and not failing in B; ``still_failing``: failing in both; ``changed``: other status
    changes of keys present in both; checks and objects that appeared in B or disappeared from A.
    ``compared``: the two runs' cluster and scope (callers add how they were picked).
    """
    with db.read() as conn:
        a, b = _get_run(conn, run_a), _get_run(conn, run_b)
        before, after = _diff_rows(conn, run_a), _diff_rows(conn, run_b)

    # A check may name the container when it fails and not when it passes (``SEC-001`` failing
    # on Deployment/web:app, passing on Deployment/web): an object's results are matched across
    # containers when its exact key is missing on the other side, or a fix would read as
    # "no longer reported" and never as fixed.
    only_a, only_b = before.keys() - after.keys(), after.keys() - before.keys()  # usually both empty
    before_obj = _worst_per_object(before, {k[:4] for k in only_b if k[1] is not None})
    after_obj = _worst_per_object(after, {k[:4] for k in only_a if k[1] is not None})
    new_failures, fixed, still, changed, gone = [], [], [], [], []
    for key, row in after.items():
        old = before.get(key)
        if row[5] == "failing":
            prior = old if old is not None else before_obj.get(key[:4]) if key[1] is not None else None
            (still if prior is not None and prior[5] == "failing" else new_failures).append(_diff_item(key, prior, row))
        elif old is not None and old[5] == "failing":
            fixed.append(_diff_item(key, old, row))
        elif old is not None and old[5] != row[5]:
            changed.append(_diff_item(key, old, row))
    for key in only_a:
        row = before[key]
        now = after_obj.get(key[:4]) if key[1] is not None else None
        if now is None:
            gone.append(_diff_item(key, row, None))
        elif row[5] == "failing" and now[5] != "failing":
            fixed.append(_diff_item(key, row, now))
        elif row[5] != now[5] and now[5] != "failing":  # failing now: counted above, as new or still failing
            changed.append(_diff_item(key, row, now))

    checks_a, checks_b = {k[0] for k in before}, {k[0] for k in after}
    objects_a = {k[1:4] for k in before if k[1] is not None}
    objects_b = {k[1:4] for k in after if k[1] is not None}

    def objs(keys: set[tuple[Any, ...]]) -> list[dict[str, Any]]:
        return [
            {"kind": k, "namespace": ns, "name": n}
            for k, ns, n in sorted(keys, key=lambda t: tuple("" if v is None else str(v) for v in t))
        ]

    def order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(
            items,
            key=lambda d: (
                _severity_pos(d["severity"]),
                d["check_id"],
                *("" if d[k] is None else str(d[k]) for k in ("object_kind", "object_namespace", "object_name")),
                d["container"] or "",
            ),
        )

    scope_a, scope_b = Scope.of_run(a).label, Scope.of_run(b).label
    return {
        "run_a": a,
        "run_b": b,
        "compared": {
            "cluster_id": a["cluster_id"] if a["cluster_id"] == b["cluster_id"] else None,
            "clusters": [a["cluster_id"], b["cluster_id"]],
            "scope": scope_a if scope_a == scope_b else None,
            "scopes": [scope_a, scope_b],
        },
        "counts": {
            "new_failures": len(new_failures),
            "fixed": len(fixed),
            "still_failing": len(still),
            "changed": len(changed),
            "results_disappeared": len(gone),
            "checks_appeared": len(checks_b - checks_a),
            "checks_disappeared": len(checks_a - checks_b),
            "objects_appeared": len(objects_b - objects_a),
            "objects_disappeared": len(objects_a - objects_b),
        },
        "new_failures": order(new_failures),
        "fixed": order(fixed),
        "still_failing": order(still),
        "changed": order(changed),
        "results_disappeared": order(gone),
        "checks_appeared": sorted(checks_b - checks_a),
        "checks_disappeared": sorted(checks_a - checks_b),
        "objects_appeared": objs(objects_b - objects_a),
        "objects_disappeared": objs(objects_a - objects_b),
    }


__all__ += ["ANY", "FULL", "Scope"]
