"""Read-only queries for the presentation layer (``kwa query …``, ``kwa runs …``).

Every filter value travels as a bound parameter (SQLAlchemy Core expressions; no SQL text is
ever built from input), so quotes, ``%``, ``_`` or ``'; DROP TABLE`` in a filter are just
strings that match nothing.

Ordering and pagination
-----------------------
Results are listed findings first (``sort="severity"``, the default): run by run (oldest first),
then by severity (critical to info), check id, object (kind, namespace, name) and container, and
last by result id, so the order is total. ``sort="id"`` keeps the order the run stored them in,
``(run_id, id)``: check by check as the checks wrote them (the id is
``asm_<run stamp>_<check slug>_<run hex><sequence>``). Runs are ordered newest request first,
``(requested_at, run_id)`` descending. Every order is total, so pages never overlap or skip rows.

Two ways to page: ``offset`` (the AssessmentQuery contract, docs/query.md#pagination) and an opaque ``cursor``
(as run listings page): URL-safe base64 of the last row's key plus a fingerprint of the
filters and the order, so a cursor replayed with other filters is refused instead of silently
paging a different list. Keyset paging reads the next page from where the last one ended
however deep it is (for the severity order, the last row's sort values are read back by its id).

Errors
------
:class:`~storage.runs.RunNotFound`, :class:`ResultNotFound`, :class:`ClusterNotFound`,
:class:`NoRuns` (the database has no run at all) and :class:`QueryError` (a malformed cursor or
an unknown filter value) carry messages meant for the user.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, true, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from storage import listing
from storage.db import Database
from storage.enums import STATUSES, RunState, Trigger
from storage.models import assessments_table as A
from storage.models import history_table as H
from storage.models import runs_table as R
from storage.models import to_utc
from storage.runs import RunNotFound
from storage.scores import normalise, run_scores

__all__ = [
    "PILLARS",
    "SEVERITIES",
    "AssessmentQuery",
    "ClusterNotFound",
    "NoRuns",
    "Page",
    "QueryError",
    "ResultNotFound",
    "RunNotFound",
    "RunQuery",
    "active_run_count",
    "get_result",
    "latest_runs",
    "list_assessments",
    "list_run_page",
    "resolve_run",
    "run_detail",
    "run_results",
    "run_summary",
    "run_warnings",
]

PILLARS: tuple[str, ...] = (
    "security",
    "reliability",
    "performance",
    "cost",
    "operational-excellence",
    "sustainability",
)
# Most severe first; gates compare positions in this tuple.
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
MAX_LIMIT = 10_000
MAX_OFFSET = 1_000_000_000  # deeper than that is a job for the cursor (and would overflow some drivers)
MAX_HISTORY = 100_000
MAX_CURSOR_CHARS = 2_048  # a real cursor is ~150 characters
TOP_FAILING = 10
TOP_OBJECTS = 3  # failing objects shown with each of the top failing checks
SORTS = ("severity", "id")


class QueryError(ValueError):
    """Input the query cannot use (malformed cursor, unknown status, bad limit)."""


class ResultNotFound(LookupError):
    def __init__(self, result_id: str) -> None:
        super().__init__(f"result {result_id} does not exist")
        self.result_id = result_id


class ClusterNotFound(LookupError):
    def __init__(self, cluster_id: str, known: Sequence[str] = ()) -> None:
        hint = f" (known clusters: {', '.join(known)})" if known else ""
        super().__init__(f"no runs recorded for cluster {cluster_id!r}{hint}")
        self.cluster_id = cluster_id


class NoRuns(LookupError):
    def __init__(self) -> None:
        super().__init__("no runs yet")


# -- query objects ------------------------------------------------------------------------------


def _tuple(values: str | Iterable[str] | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(dict.fromkeys(str(v) for v in values))  # de-duplicated, order kept


def _check_values(values: tuple[str, ...], allowed: Sequence[str], what: str) -> None:
    bad = [v for v in values if v not in allowed]
    if bad:
        raise QueryError(f"unknown {what} {', '.join(map(repr, bad))} (expected: {', '.join(allowed)})")


@dataclass(frozen=True)
class AssessmentQuery:
    """The AssessmentQuery contract plus kwa's extra filters and a cursor.

    Scope: ``run_id`` → that run; else ``since`` → every run of ``cluster_id`` (or of all clusters)
    with results assessed at or after ``since``; else the latest run of ``cluster_id`` (or the
    latest run of all).
    """

    run_id: str | None = None
    pillar: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int = 50
    offset: int = 0
    check_id: tuple[str, ...] = ()
    namespace: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    cluster_id: str | None = None
    cursor: str | None = None
    sort: str = "severity"

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueryError(f"unknown sort {self.sort!r} (expected: {', '.join(SORTS)})")
        for name in ("pillar", "status", "check_id", "namespace", "kind", "severity"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))
        _check_values(self.status, STATUSES, "status")
        _check_values(self.severity, SEVERITIES, "severity")
        _check_values(self.pillar, PILLARS, "pillar")
        if not isinstance(self.limit, int) or not 0 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT:,} (0: no limit), not {self.limit!r}")
        if not isinstance(self.offset, int) or not 0 <= self.offset <= MAX_OFFSET:
            raise QueryError(
                f"offset must be between 0 and {MAX_OFFSET:,} (deeper: use the cursor), not {self.offset!r}"
            )
        if self.cursor and self.offset:
            raise QueryError("use either a cursor or an offset, not both")

    def with_cursor(self, cursor: str | None) -> AssessmentQuery:
        return replace(self, cursor=cursor, offset=0)

    def fingerprint(self) -> str:
        """Identifies the filters (not the page): a cursor is only valid for the same filters."""
        key = [
            self.run_id,
            self.pillar,
            self.status,
            self.since.isoformat() if self.since else None,
            self.check_id,
            self.namespace,
            self.kind,
            self.severity,
            self.cluster_id,
            self.sort,
        ]
        return hashlib.sha256(json.dumps(key, default=list).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunQuery:
    state: tuple[str, ...] = ()
    cluster_id: str | None = None
    trigger: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int = 20
    cursor: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _tuple(self.state))
        object.__setattr__(self, "trigger", _tuple(self.trigger))
        _check_values(self.state, [s.value for s in RunState], "state")
        _check_values(self.trigger, [t.value for t in Trigger], "trigger")
        if not isinstance(self.limit, int) or not 0 <= self.limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT:,} (0: no limit), not {self.limit!r}")

    def fingerprint(self) -> str:
        key = [self.state, self.cluster_id, self.trigger, self.since.isoformat() if self.since else None]
        return hashlib.sha256(json.dumps(key, default=list).encode()).hexdigest()[:12]


@dataclass
class Page:
    """One page of rows; ``next_cursor`` is None on the last page, ``total`` None when not counted."""

    items: list[dict[str, Any]]
    limit: int
    offset: int = 0
    next_cursor: str | None = None
    total: int | None = None
    run: dict[str, Any] | None = None  # the run a result listing was scoped to
    scope: dict[str, Any] = field(default_factory=dict)


# -- cursors ------------------------------------------------------------------------------------


def encode_cursor(fingerprint: str, key: Sequence[str]) -> str:
    raw = json.dumps({"v": 1, "f": fingerprint, "k": list(key)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str, size: int) -> list[str]:
    """The sort key a cursor carries; :class:`QueryError` for anything :func:`encode_cursor` did not make."""
    ok, data, key = False, {}, []
    if isinstance(cursor, str) and 0 < len(cursor) <= MAX_CURSOR_CHARS and cursor.isascii():
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            data = json.loads(raw)
            if isinstance(data, dict):
                key = data.get("k")
                ok = (
                    data.get("v") == 1
                    and isinstance(key, list)
                    and len(key) == size
                    and all(isinstance(k, str) and 0 < len(k) <= 512 for k in key)
                )
        # RecursionError: JSON nested thousands deep
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError):
            ok = False
    if not ok:
        raise QueryError("invalid cursor: pass the next_cursor value of a previous page unchanged")
    if data.get("f") != fingerprint:
        raise QueryError("this cursor belongs to a listing with other filters: repeat the same filters, or drop it")
    return key


# -- helpers ------------------------------------------------------------------------------------


def _row(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


def _history(row: Any) -> dict[str, Any] | None:
    """A history row with ``pillar_counts`` in a stable order: pillars as in :data:`PILLARS`, every
    status in :data:`STATUSES` order (the stored JSON keeps whatever order its GROUP BY produced)."""
    if row is None:
        return None
    h = _row(row)
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
    if run_id is not None:
        run = _get_run(conn, run_id)
        if cluster_id is not None and run["cluster_id"] != cluster_id:
            raise QueryError(f"run {run_id} belongs to cluster {run['cluster_id']!r}, not {cluster_id!r}")
        return run
    runs = _latest(conn, cluster_id)
    if not runs:  # pragma: no cover - _latest raised already
        raise NoRuns()
    return runs[0]


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


# -- results ------------------------------------------------------------------------------------


def _filters(q: AssessmentQuery) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for column, values in (
        (A.c.pillar, q.pillar),
        (A.c.status, q.status),
        (A.c.check_id, q.check_id),
        (A.c.object_namespace, q.namespace),
        (A.c.object_kind, q.kind),
        (A.c.severity, q.severity),
    ):
        if len(values) == 1:
            where.append(column == values[0])
        elif values:
            where.append(column.in_(values))
    if q.since is not None:
        where.append(A.c.assessed_at >= to_utc(q.since))
    return where


def list_assessments(db: Database, q: AssessmentQuery) -> Page:
    """One page of results for ``q`` (see :class:`AssessmentQuery` for its scope)."""
    with db.read() as conn:
        run: dict[str, Any] | None = None
        where = _filters(q)
        filters = and_(true(), *where)
        if q.run_id is not None or q.since is None:
            run = _resolve(conn, q.run_id, q.cluster_id)
            run_ids = [run["run_id"]]
            where.append(A.c.run_id == run["run_id"])
            scope = {"run_id": run["run_id"], "cluster_id": run["cluster_id"]}
        else:
            since = to_utc(q.since)
            if q.cluster_id is not None:
                _require_cluster(conn, q.cluster_id)
            # A run's results are assessed before it completes: older finished runs cannot match.
            runs = select(R.c.run_id).where(or_(R.c.completed_at.is_(None), R.c.completed_at >= since))
            if q.cluster_id is not None:
                runs = runs.where(R.c.cluster_id == q.cluster_id)
            run_ids = [r[0] for r in conn.execute(runs.order_by(R.c.run_id))]
            where.append(A.c.run_id.in_(runs.scalar_subquery()))
            scope = {"since": since.isoformat(), "cluster_id": q.cluster_id}
        base = and_(*where)
        if q.sort == "severity":
            # Check by check (storage/listing.py): a page reads only the checks it shows.
            after = tuple(decode_cursor(q.cursor, q.fingerprint(), 2)) if q.cursor else None
            found = listing.page(conn, filters, run_ids, q.limit, q.offset, after)  # type: ignore[arg-type]
            if found is None:
                raise QueryError("the result this cursor continues from no longer exists: start again without it")
            items, more, counted = found
            total = (counted or 0) if run else None
            cursor = encode_cursor(q.fingerprint(), [items[-1]["run_id"], items[-1]["id"]]) if more else None
            return Page(
                items=items, limit=q.limit, offset=q.offset, next_cursor=cursor, total=total, run=run, scope=scope
            )
        query: Select[Any] = select(A).where(base)
        if q.cursor:
            last_run, last_id = decode_cursor(q.cursor, q.fingerprint(), 2)
            query = query.where(tuple_(A.c.run_id, A.c.id) > tuple_(last_run, last_id))
        query = query.order_by(A.c.run_id, A.c.id)
        if q.limit:
            query = query.limit(q.limit + 1)
        if q.offset:
            query = query.offset(q.offset)
        items = [_row(r) for r in conn.execute(query)]
        more = bool(q.limit) and len(items) > q.limit
        items = items[: q.limit] if q.limit else items
        # Counting a run's matches is cheap (index range); counting across many runs is not.
        total = conn.execute(select(func.count()).select_from(A).where(base)).scalar_one() if run else None
    cursor = encode_cursor(q.fingerprint(), [items[-1]["run_id"], items[-1]["id"]]) if more else None
    return Page(items=items, limit=q.limit, offset=q.offset, next_cursor=cursor, total=total, run=run, scope=scope)


def get_result(db: Database, result_id: str) -> dict[str, Any]:
    with db.read() as conn:
        row = conn.execute(select(A).where(A.c.id == result_id)).first()
        if row is None:
            if conn.execute(select(R.c.run_id).limit(1)).first() is None:
                raise NoRuns()
            raise ResultNotFound(result_id)
        result = _row(row)
        result["run"] = _row(conn.execute(select(R).where(R.c.run_id == result["run_id"])).one())
    return result


def run_results(db: Database, run_id: str, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every result of a run in listing order (for SARIF/JUnit/CSV exports of a whole run)."""
    query = select(A).where(A.c.run_id == run_id)
    if statuses:
        query = query.where(A.c.status.in_(list(statuses)))
    with db.read() as conn:
        return [_row(r) for r in conn.execute(query.order_by(A.c.run_id, A.c.id))]


# -- summary ------------------------------------------------------------------------------------


def _scores(db: Database, run_id: str, history: dict[str, Any] | None) -> dict[str, Any] | None:
    """The history row's scores (normalised by :func:`_history`), else computed from the results now."""
    if history and history.get("scores"):
        return history["scores"]
    return run_scores(db, run_id)


def run_summary(db: Database, run_id: str | None = None, cluster_id: str | None = None) -> dict[str, Any]:
    """Per pillar and per check counts by status, scores, coverage, top failing checks, state.

    The dict is the input of :func:`storage.gates.evaluate_gates` and of every summary formatter.
    """
    with db.read() as conn:
        run = _resolve(conn, run_id, cluster_id)
        rid = run["run_id"]
        grouped = conn.execute(
            select(A.c.check_id, A.c.pillar, A.c.severity, A.c.status, func.count())
            .where(A.c.run_id == rid)
            .group_by(A.c.check_id, A.c.pillar, A.c.severity, A.c.status)
        ).all()
        names = dict(
            conn.execute(
                select(A.c.check_id, func.min(A.c.check_name)).where(A.c.run_id == rid).group_by(A.c.check_id)
            ).all()
        )
        failing_objects = dict(
            conn.execute(
                select(
                    A.c.check_id,
                    # coalesce: one NULL part (a cluster-scoped object's namespace) would null the key
                    func.count(
                        func.distinct(
                            func.coalesce(A.c.object_kind, "")
                            + "/"
                            + func.coalesce(A.c.object_namespace, "")
                            + "/"
                            + func.coalesce(A.c.object_name, "")
                        )
                    ),
                )
                .where(A.c.run_id == rid, A.c.status == "failing")
                .group_by(A.c.check_id)
            ).all()
        )
        history = _history(conn.execute(select(H).where(H.c.run_id == rid)).first())
    scores = _scores(db, rid, history)

    checks: dict[str, dict[str, Any]] = {}
    for check_id, pillar, severity, status, n in grouped:
        c = checks.setdefault(
            check_id,
            {
                "check_id": check_id,
                "check_name": names.get(check_id, ""),
                "pillar": pillar,
                "severity": severity,
                "counts": dict.fromkeys(STATUSES, 0),
                "results": 0,
                "failing_objects": failing_objects.get(check_id, 0),
            },
        )
        c["counts"][status] = c["counts"].get(status, 0) + n
        c["results"] += n
    check_list = sorted(checks.values(), key=lambda c: (_pillar_pos(c["pillar"]), c["check_id"]))

    pillars: dict[str, dict[str, Any]] = {}
    totals = dict.fromkeys(STATUSES, 0)
    for c in check_list:
        p = pillars.setdefault(c["pillar"], {"checks": 0, "counts": dict.fromkeys(STATUSES, 0), "score": None})
        p["checks"] += 1
        for status, n in c["counts"].items():
            p["counts"][status] = p["counts"].get(status, 0) + n
            totals[status] = totals.get(status, 0) + n
    scored = (scores or {}).get("pillars") or {}
    for name in scored:  # a pillar whose checks left no row (never reported) is still shown, incomplete
        pillars.setdefault(name, {"checks": 0, "counts": dict.fromkeys(STATUSES, 0), "score": None})
    for name, p in pillars.items():
        p["score"] = scored.get(name)

    failing_by_severity = dict.fromkeys(SEVERITIES, 0)
    for c in check_list:
        failing_by_severity[c["severity"]] = failing_by_severity.get(c["severity"], 0) + c["counts"]["failing"]
    # Findings first: the most severe checks lead whatever their counts (two critical failures
    # outrank forty low ones), then the checks that fail on the most objects.
    top = sorted(
        (c for c in check_list if c["counts"]["failing"]),
        key=lambda c: (_severity_pos(c["severity"]), -c["failing_objects"], c["check_id"]),
    )[:TOP_FAILING]
    examples = _failing_examples(db, rid, [c["check_id"] for c in top])

    h = history or {}
    total_checks = h.get("checks_total") or max(len(run.get("check_ids") or []), len(check_list))
    executed = h.get("checks_executed", len(check_list))
    overall = (scores or {}).get("overall")
    overall = overall if isinstance(overall, dict) else {}
    coverage = {
        # What the scores call coverage: applicable checks evaluated (docs/scoring.md).
        "percent": overall.get("coverage"),
        "checks_applicable": overall.get("checks_applicable"),
        "checks_evaluated": overall.get("checks_evaluated"),
        "checks_not_applicable": overall.get("checks_not_applicable"),
        "incomplete_pillars": list((scores or {}).get("incomplete_pillars") or []),
        # Checks that ran at all, of those selected (a check that ran into a 403 ran: see percent).
        "checks_total": total_checks,
        "checks_executed": executed,
        "checks_errored": h.get("checks_errored", sum(1 for c in check_list if c["counts"]["error"])),
        "checks_timed_out": h.get("checks_timed_out", sum(1 for c in check_list if c["counts"]["timeout"])),
        "ratio": round(executed / total_checks, 4) if total_checks else None,
    }
    warnings = run_warnings(run, history)
    return {
        "run": run,
        "state": run["state"],
        "warnings": warnings,
        "warning_indicator": run["state"] == RunState.COMPLETED.value and bool(warnings),
        "duration_ms": h.get("duration_ms"),
        "totals": {**totals, "results": sum(totals.values())},
        "pillars": dict(sorted(pillars.items(), key=lambda kv: _pillar_pos(kv[0]))),
        "checks": check_list,
        "failing_by_severity": failing_by_severity,
        "top_failing": [
            {k: c[k] for k in ("check_id", "check_name", "pillar", "severity", "failing_objects")}
            | {"failing": c["counts"]["failing"], "objects": examples.get(c["check_id"], [])}
            for c in top
        ],
        "scores": scores,
        "coverage": coverage,
    }


def _failing_examples(db: Database, run_id: str, check_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The first :data:`TOP_OBJECTS` failing objects of each check (by namespace and name), each
    with where it is: ``{"object": "Deployment/shop/web", "container": …, "source": …, "line": …}``.

    One query for all the checks (a window function per check), reading only failing rows of
    this run through the ``(run_id, status)`` index.
    """
    if not check_ids:
        return {}
    ns, name = func.coalesce(A.c.object_namespace, ""), func.coalesce(A.c.object_name, "")
    numbered = (
        select(
            A.c.check_id,
            A.c.object_kind,
            A.c.object_namespace,
            A.c.object_name,
            A.c.container,
            A.c.source,
            A.c.source_line,
            A.c.field_line,
            func.row_number()
            .over(partition_by=A.c.check_id, order_by=(ns, name, func.coalesce(A.c.object_kind, ""), A.c.id))
            .label("n"),
        )
        .where(A.c.run_id == run_id, A.c.status == "failing", A.c.check_id.in_(check_ids))
        .subquery()
    )
    # A few more rows than shown: one object may fail once per container.
    query = select(numbered).where(numbered.c.n <= TOP_OBJECTS * 4).order_by(numbered.c.check_id, numbered.c.n)
    out: dict[str, list[dict[str, Any]]] = {}
    with db.read() as conn:
        for row in conn.execute(query):
            kind, namespace, obj_name = row.object_kind, row.object_namespace, row.object_name
            ref = "/".join(str(p) for p in (kind, namespace, obj_name) if p) or "-"
            shown = out.setdefault(row.check_id, [])
            if len(shown) >= TOP_OBJECTS or any(o["object"] == ref for o in shown):
                continue
            shown.append(
                {
                    "object": ref,
                    "container": row.container,
                    "source": row.source,
                    "line": row.field_line or row.source_line,
                }
            )
    return out


def _pillar_pos(pillar: str) -> tuple[int, str]:
    return (PILLARS.index(pillar) if pillar in PILLARS else len(PILLARS), pillar)


def _severity_pos(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


# -- runs ---------------------------------------------------------------------------------------


def list_run_page(db: Database, q: RunQuery) -> Page:
    """Runs newest first, keyset-paged on ``(requested_at, run_id)``; each with its history row."""
    query = select(R)
    if q.cluster_id is not None:
        query = query.where(R.c.cluster_id == q.cluster_id)
    if q.state:
        query = query.where(R.c.state.in_(q.state))
    if q.trigger:
        query = query.where(R.c.trigger.in_(q.trigger))
    if q.since is not None:
        query = query.where(R.c.requested_at >= to_utc(q.since))
    if q.cursor:
        at, run_id = decode_cursor(q.cursor, q.fingerprint(), 2)
        try:
            last = to_utc(datetime.fromisoformat(at))
        except (ValueError, OverflowError):
            raise QueryError("invalid cursor: pass the next_cursor value of a previous page unchanged") from None
        query = query.where(or_(R.c.requested_at < last, and_(R.c.requested_at == last, R.c.run_id < run_id)))
    query = query.order_by(R.c.requested_at.desc(), R.c.run_id.desc())
    if q.limit:
        query = query.limit(q.limit + 1)
    with db.read() as conn:
        if q.cluster_id is not None:
            _require_cluster(conn, q.cluster_id)
        runs = [_row(r) for r in conn.execute(query)]
        more = bool(q.limit) and len(runs) > q.limit
        runs = runs[: q.limit] if q.limit else runs
        ids = [r["run_id"] for r in runs]
        hist = {r.run_id: _history(r) for r in conn.execute(select(H).where(H.c.run_id.in_(ids)))} if ids else {}
        empty = not runs and conn.execute(select(R.c.run_id).limit(1)).first() is None
    for r in runs:
        r["history"] = hist.get(r["run_id"])
        r["warnings"] = run_warnings(r, r["history"])
    cursor = (
        encode_cursor(q.fingerprint(), [runs[-1]["requested_at"].isoformat(), runs[-1]["run_id"]]) if more else None
    )
    return Page(items=runs, limit=q.limit, next_cursor=cursor, scope={"empty_database": empty})


def run_detail(db: Database, run_id: str) -> dict[str, Any]:
    """One run in full: its row, history (per-pillar breakdown, scores), timings and warnings."""
    with db.read() as conn:
        run = _get_run(conn, run_id)
        history = _history(conn.execute(select(H).where(H.c.run_id == run_id)).first())
    scores = _scores(db, run_id, history)
    started, completed = run.get("started_at"), run.get("completed_at")
    timings = {
        "requested_at": run["requested_at"],
        "started_at": started,
        "completed_at": completed,
        "queued_ms": int((started - run["requested_at"]).total_seconds() * 1000) if started else None,
        "duration_ms": (history or {}).get("duration_ms")
        or (int((completed - started).total_seconds() * 1000) if started and completed else None),
    }
    warnings = run_warnings(run, history)
    return {
        "run": run,
        "history": history,
        "scores": scores,
        "timings": timings,
        "warnings": warnings,
        "warning_indicator": run["state"] == RunState.COMPLETED.value and bool(warnings),
    }


# -- history and diff (storage.history; re-exported here for callers) ---------------------------

_MOVED = frozenset({"cluster_history", "diff_runs", "pick_pair", "require_comparable", "clusters_overview"})


def __getattr__(name: str) -> Any:
    # Lazily: storage.history builds on this module's helpers, so it cannot be imported at the top.
    if name in _MOVED:
        from storage import history

        return getattr(history, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
