"""Diffs, like compared with like: which two runs ``diff`` compares, and what changed between them.

Split out of :mod:`storage.history` (which re-exports these names, as :mod:`storage.queries` does
lazily) so that history — a cluster's runs of one scope over time — and diffs — two runs side by
side — each read on their own; they share only the "one cluster, one scope" rule.

* :func:`pick_pair` — the two runs ``diff`` compares by default: the latest run that assessed
  anything comparable (``completed`` or ``partial``) and the one before it with the same cluster
  and scope.
* :func:`require_comparable` — two runs named by the user must be of one cluster and one scope
  unless the caller allows otherwise (``--any-cluster``, ``--any-scope``): :class:`Incomparable`.
* :func:`diff_runs` — what changed between two runs, keyed by (check, object, container).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from storage.archive import ensure_hot
from storage.db import Database
from storage.diff_rows import Row, Unordered, check_rows, paired_objects, run_checks
from storage.enums import RunState
from storage.models import assessments_table as A
from storage.models import runs_table as R
from storage.query_model import NoRuns, QueryError, _severity_pos
from storage.run_lookup import _get_run, _require_cluster, _row
from storage.scopes import Scope

__all__ = [
    "COMPARABLE_STATES",
    "Incomparable",
    "NothingToCompare",
    "diff_runs",
    "pick_pair",
    "previous_comparable",
    "require_comparable",
]

COMPARABLE_STATES = (RunState.COMPLETED.value, RunState.PARTIAL.value)  # runs with results to compare
_ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)
# When one (check, object, container) has several results in a run, the diff keeps the worst.
_STATUS_RANK = {"failing": 0, "error": 1, "timeout": 2, "warning": 3, "passing": 4, "skipped": 5}


class Incomparable(QueryError):
    """Two runs of different clusters or scopes, and the caller did not allow that."""


class NothingToCompare(QueryError):
    """Fewer than two like runs: a diff has nothing to compare yet."""


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


def previous_comparable(db: Database, run_id: str) -> dict[str, Any] | None:
    """The run ``diff`` would compare ``run_id`` with: the latest ``completed`` or ``partial`` run of its
    cluster and scope requested before it (in :func:`pick_pair`'s order), or None."""
    with db.read() as conn:
        run = _get_run(conn, run_id)
        wanted = Scope.of_run(run)
        query = (
            select(R)
            .where(R.c.cluster_id == run["cluster_id"], R.c.state.in_(COMPARABLE_STATES), R.c.run_id != run_id)
            .where(
                (R.c.requested_at < run["requested_at"])
                | ((R.c.requested_at == run["requested_at"]) & (R.c.run_id < run_id))
            )
            .order_by(R.c.requested_at.desc(), R.c.run_id.desc())
        )
        for row in conn.execute(query):
            candidate = _row(row)
            if Scope.of_run(candidate) == wanted:
                return candidate
    return None


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


def _worst(rows: list[Row]) -> dict[tuple[Any, ...], Row]:
    """(check, kind, namespace, name, container) → the row of its worst result."""
    out: dict[tuple[Any, ...], Row] = {}
    rank = _STATUS_RANK
    for row in rows:
        key = row[:5]
        have = out.get(key)
        if have is None or rank.get(row[5], 9) < rank.get(have[5], 9):
            out[key] = row
    return out


def _worst_per_object(rows: dict[tuple[Any, ...], Row], objects: set[tuple[Any, ...]]) -> dict[tuple[Any, ...], Row]:
    """(check, kind, namespace, name) → the worst of its rows across containers, for ``objects``."""
    out: dict[tuple[Any, ...], Row] = {}
    if not objects:
        return out
    for key, row in rows.items():
        if key[:4] not in objects:
            continue
        have = out.get(key[:4])
        if have is None or _STATUS_RANK.get(row[5], 9) < _STATUS_RANK.get(have[5], 9):
            out[key[:4]] = row
    return out


def _stored_first(row: Row) -> str:
    return row[10]


class _Changes:
    """What changed, added up one object (or one check) at a time."""

    def __init__(self) -> None:
        self.new_failures: list[dict[str, Any]] = []
        self.fixed: list[dict[str, Any]] = []
        self.still: list[dict[str, Any]] = []
        self.changed: list[dict[str, Any]] = []
        self.gone: list[dict[str, Any]] = []
        self.objects_a: set[tuple[Any, ...]] = set()
        self.objects_b: set[tuple[Any, ...]] = set()

    def _lists(self) -> tuple[list[dict[str, Any]], ...]:
        return self.new_failures, self.fixed, self.still, self.changed, self.gone

    def mark(self) -> tuple[int, ...]:
        return tuple(map(len, self._lists()))

    def back_to(self, mark: tuple[int, ...]) -> None:
        """Forget the changes found since ``mark`` (the objects seen stay: they were seen)."""
        for items, n in zip(self._lists(), mark, strict=True):
            del items[n:]

    def compare(self, rows_a: list[Row], rows_b: list[Row]) -> None:
        """Classify the results of ``rows_a`` (run A) against ``rows_b`` (run B). Every match is
        within one (check, object), so any partition of the rows along that line gives the same."""
        if len(rows_a) == 1 and len(rows_b) == 1 and rows_a[0][:5] == rows_b[0][:5]:
            self._one(rows_a[0], rows_b[0])  # one result each side, the same key: most of a diff
            return
        # By id: of equally bad results (within a key, or across an object's containers) the
        # first stored is shown, whatever order the rows came in.
        before, after = _worst(sorted(rows_a, key=_stored_first)), _worst(sorted(rows_b, key=_stored_first))
        self.objects_a.update(k[1:4] for k in before if k[1] is not None)
        self.objects_b.update(k[1:4] for k in after if k[1] is not None)
        # A check may name the container when it fails and not when it passes (``SEC-001`` failing
        # on Deployment/web:app, passing on Deployment/web): an object's results are matched across
        # containers when its exact key is missing on the other side, or a fix would read as
        # "no longer reported" and never as fixed.
        only_a, only_b = before.keys() - after.keys(), after.keys() - before.keys()  # usually both empty
        before_obj = _worst_per_object(before, {k[:4] for k in only_b if k[1] is not None})
        after_obj = _worst_per_object(after, {k[:4] for k in only_a if k[1] is not None})
        for key, row in after.items():
            old = before.get(key)
            if row[5] == "failing":
                prior = old if old is not None else before_obj.get(key[:4]) if key[1] is not None else None
                failing_before = prior is not None and prior[5] == "failing"
                (self.still if failing_before else self.new_failures).append(_diff_item(key, prior, row))
            elif old is not None and old[5] == "failing":
                self.fixed.append(_diff_item(key, old, row))
            elif old is not None and old[5] != row[5]:
                self.changed.append(_diff_item(key, old, row))
        for key in only_a:
            row = before[key]
            now = after_obj.get(key[:4]) if key[1] is not None else None
            if now is None:
                self.gone.append(_diff_item(key, row, None))
            elif row[5] == "failing" and now[5] != "failing":
                self.fixed.append(_diff_item(key, row, now))
            elif row[5] != now[5] and now[5] != "failing":  # failing now: counted above, as new or still failing
                self.changed.append(_diff_item(key, row, now))

    def _one(self, old: Row, row: Row) -> None:
        """:meth:`compare` of one row each side with the same key, without the dictionaries."""
        if row[1] is not None:
            self.objects_a.add(old[1:4])
            self.objects_b.add(row[1:4])
        status, before = row[5], old[5]
        if status == "failing":
            (self.still if before == "failing" else self.new_failures).append(_diff_item(row[:5], old, row))
        elif before == "failing":
            self.fixed.append(_diff_item(row[:5], old, row))
        elif before != status:
            self.changed.append(_diff_item(row[:5], old, row))


def _compare_check(conn: Connection, run_a: str, run_b: str, check_id: str, found: _Changes) -> None:
    """One check's changes, merging the two runs' rows object by object; should the database not
    return them in the order the merge needs, from all of the check's rows at once."""
    mark = found.mark()
    try:
        for rows_a, rows_b in paired_objects(check_rows(conn, run_a, check_id), check_rows(conn, run_b, check_id)):
            found.compare(rows_a, rows_b)
    except Unordered:
        found.back_to(mark)
        found.compare(list(check_rows(conn, run_a, check_id, False)), list(check_rows(conn, run_b, check_id, False)))


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
        ensure_hot(conn, run_a)
        ensure_hot(conn, run_b)
        checks_a, checks_b = run_checks(conn, run_a), run_checks(conn, run_b)
        found = _Changes()
        for check_id in sorted(checks_a | checks_b):
            _compare_check(conn, run_a, run_b, check_id, found)
    new_failures, fixed, still, changed, gone = found.new_failures, found.fixed, found.still, found.changed, found.gone
    objects_a, objects_b = found.objects_a, found.objects_b

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


_KEY = (A.c.check_id, A.c.object_kind, A.c.object_namespace, A.c.object_name, A.c.container)


def new_failures(db: Database, run_a: str, run_b: str) -> list[dict[str, Any]]:
    """The keys of ``diff_runs(db, run_a, run_b)["new_failures"]``, each with its check and
    severity (what a run's events count), read from the failing rows only.

    ``diff_runs`` reads every result of both runs (146,000 rows for two runs of 10k objects) to
    list every kind of change. A key is failing in a run exactly when one of its rows is failing
    ("failing" ranks worst), so this needs the failing rows of both runs and, for a key B fails
    that A fails only under another container of the same object, whether A has the exact key
    (``diff_runs`` matches across containers only then). The severity is that of a failing row of
    the key: one check has one severity within a run. ``tests/storage/test_new_failures.py``
    holds it to ``diff_runs``.
    """
    failing = A.c.status == "failing"
    with db.read() as conn:
        _get_run(conn, run_a), _get_run(conn, run_b)  # an unknown run raises, as in diff_runs
        ensure_hot(conn, run_a)
        ensure_hot(conn, run_b)
        after: dict[tuple[Any, ...], Any] = {}
        for row in conn.execute(select(*_KEY, A.c.severity).where(A.c.run_id == run_b, failing)):
            after.setdefault(tuple(row[:5]), row[5])
        before = {tuple(row) for row in conn.execute(select(*_KEY).where(A.c.run_id == run_a, failing))}
        failing_objects = {key[:4] for key in before}
        unsure = {k for k in after if k not in before and k[1] is not None and k[:4] in failing_objects}
        present: set[tuple[Any, ...]] = set()
        if unsure:
            checks = sorted({k[0] for k in unsure})
            rows = conn.execute(select(*_KEY).where(A.c.run_id == run_a, A.c.check_id.in_(checks)))
            present = {key for key in map(tuple, rows) if key in unsure}
    names = ("check_id", "object_kind", "object_namespace", "object_name", "container")
    return [
        {**dict(zip(names, k, strict=True)), "severity": severity}
        for k, severity in after.items()
        if k not in before and (k not in unsure or k in present)
    ]
