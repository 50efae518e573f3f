"""A run's failing results, most severe first: for reports and the Prefect UI's findings.

Severity ranks critical, high, medium, low, info; ties go by check id, then by how many objects
fail (:func:`top_failing_checks`) or by namespace and name (:func:`failing_results`).
:func:`run_findings` reads every failing and warning result of a run (what a baseline is made of
and compared with) and :func:`baseline_run` finds the run ``--baseline-run latest`` means.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from storage.archive import ensure_hot
from storage.db import Database
from storage.enums import BASELINE_STATES
from storage.models import assessments_table as A
from storage.models import runs_table as R


def failing_results(db: Database, run_id: str, limit: int = 300, per_check: int = 20) -> list[dict[str, Any]]:
    """Failing rows of a run for reports and the UI's findings artifact: most severe check first
    (then check id, namespace, name), at most ``per_check`` rows per check and ``limit`` in all.

    Each row carries what a reader acts on: the check's name, severity, pillar and remediation,
    the object, container and message, where the object is (``source``, ``source_line``,
    ``field_line``, ``field_path``) and ``check_failing``, how many failing rows its check has in
    all (so a report can say "… and N more").
    """
    rank = case({"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}, value=A.c.severity, else_=5)
    ns, name = func.coalesce(A.c.object_namespace, ""), func.coalesce(A.c.object_name, "")
    columns = (
        A.c.check_id,
        A.c.check_name,
        A.c.severity,
        A.c.pillar,
        A.c.object_kind,
        A.c.object_namespace,
        A.c.object_name,
        A.c.container,
        A.c.message,
        A.c.remediation,
        A.c.source,
        A.c.source_line,
        A.c.source_end_line,
        A.c.field_path,
        A.c.field_line,
    )
    numbered = (
        select(
            *columns,
            rank.label("rank"),
            func.row_number().over(partition_by=A.c.check_id, order_by=(ns, name, A.c.id)).label("n"),
            func.count().over(partition_by=A.c.check_id).label("check_failing"),
        )
        .where(A.c.run_id == run_id, A.c.status == "failing")
        .subquery()
    )
    query = (
        select(*(numbered.c[c.name] for c in columns), numbered.c.check_failing)
        .where(numbered.c.n <= per_check)
        .order_by(numbered.c.rank, numbered.c.check_id, numbered.c.n)
        .limit(limit)
    )
    with db.read() as conn:
        ensure_hot(conn, run_id)
        return [dict(r._mapping) for r in conn.execute(query)]


def top_failing_checks(db: Database, run_id: str, limit: int = 10) -> list[tuple[str, str, int]]:
    """``(check_id, check_name, failing objects)`` for the checks that failed, most severe first,
    then by how many objects fail."""
    rank = case({"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}, value=func.min(A.c.severity), else_=5)
    n = func.count()
    query = (
        select(A.c.check_id, A.c.check_name, n)
        .where(A.c.run_id == run_id, A.c.status == "failing")
        .group_by(A.c.check_id, A.c.check_name)
        .order_by(rank, n.desc(), A.c.check_id)
        .limit(limit)
    )
    with db.read() as conn:
        ensure_hot(conn, run_id)
        return [(r[0], r[1], int(r[2])) for r in conn.execute(query)]


FINDING_COLUMNS = (
    "check_id",
    "severity",
    "status",
    "object_kind",
    "object_namespace",
    "object_name",
    "container",
    "message",
    "field_path",
    "source",
    "source_line",
)


def run_findings(db: Database, run_id: str) -> list[dict[str, Any]]:
    """Every ``failing`` and ``warning`` result of a run, :data:`FINDING_COLUMNS` only, in id order.

    All of them, unbounded: a baseline accepts each finding, so none may be left out. One pass
    over the index ``assessments (run_id, status)``; an archived run's results are put back first.
    """
    columns = [A.c[name] for name in FINDING_COLUMNS]
    query = select(*columns).where(A.c.run_id == run_id, A.c.status.in_(("failing", "warning"))).order_by(A.c.id)
    with db.read() as conn:
        ensure_hot(conn, run_id)
        return [dict(r._mapping) for r in conn.execute(query)]


def baseline_run(db: Database, cluster_id: str) -> dict[str, Any] | None:
    """The latest run of ``cluster_id`` that ended ``completed`` or ``partial`` (the run
    ``--baseline-run latest`` compares with), or None. A failed or aborted run is passed over:
    its results are incomplete, and every finding it missed would look new."""
    query = (
        select(R)
        .where(R.c.cluster_id == cluster_id, R.c.state.in_(BASELINE_STATES))
        .order_by(R.c.requested_at.desc(), R.c.run_id.desc())
        .limit(1)
    )
    with db.read() as conn:
        row = conn.execute(query).first()
    return dict(row._mapping) if row is not None else None


__all__ = [
    "BASELINE_STATES",
    "FINDING_COLUMNS",
    "baseline_run",
    "failing_results",
    "run_findings",
    "top_failing_checks",
]
