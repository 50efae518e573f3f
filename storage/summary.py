"""A run's summary: counts per pillar and check, scores, coverage, top failing checks with examples.

Split from storage.queries (which re-exports :func:`run_summary`). The dict it returns is the input
of :func:`storage.gates.evaluate_gates` and of every summary formatter, so its shape is a contract;
it is built from a few GROUP BY queries, never by reading every result row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from storage.archive import ensure_hot
from storage.db import Database
from storage.enums import STATUSES, RunState
from storage.models import assessments_table as A
from storage.models import history_table as H
from storage.query_model import SEVERITIES, TOP_FAILING, TOP_OBJECTS, _pillar_pos, _severity_pos
from storage.run_lookup import _history, _resolve, _scores, run_warnings


def run_summary(db: Database, run_id: str | None = None, cluster_id: str | None = None) -> dict[str, Any]:
    """Per pillar and per check counts by status, scores, coverage, top failing checks, state.

    The dict is the input of :func:`storage.gates.evaluate_gates` and of every summary formatter.
    """
    with db.read() as conn:
        run = _resolve(conn, run_id, cluster_id)
        rid = run["run_id"]
        row = conn.execute(select(H).where(H.c.run_id == rid)).first()  # one read: counts and history
        grouped, names = _check_counts(conn, rid, None if row is None else row.check_counts)
        failing_objects = _failing_objects(conn, rid)
        history = _history(row)
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


def _check_counts(
    conn: Connection, run_id: str, stored: list[Any] | None
) -> tuple[list[tuple[Any, ...]], dict[str, str]]:
    """Results per (check, pillar, severity, status), and each check's name: as counted when the
    run ended (``stored``: ``check_counts`` of its history row), else by grouping its rows now (runs
    still in progress, and runs that ended before migration 0009). At 732,000 results the two
    ``GROUP BY`` take 1.2 s; the stored counts are one row (``tests/storage/test_check_counts.py``)."""
    if stored is not None:
        grouped = [(c, pillar, severity, s, n) for c, _, pillar, severity, counts in stored for s, n in counts.items()]
        return grouped, {c: name for c, name, *_ in stored}
    grouped = conn.execute(
        select(A.c.check_id, A.c.pillar, A.c.severity, A.c.status, func.count())
        .where(A.c.run_id == run_id)
        .group_by(A.c.check_id, A.c.pillar, A.c.severity, A.c.status)
    ).all()
    names = conn.execute(
        select(A.c.check_id, func.min(A.c.check_name)).where(A.c.run_id == run_id).group_by(A.c.check_id)
    ).all()
    return [tuple(r) for r in grouped], dict(names)  # type: ignore[arg-type]


def _failing_objects(conn: Connection, run_id: str) -> dict[str, int]:
    """Distinct failing objects per check. Counted here from the failing rows, which the
    ``(run_id, status)`` index finds; the same count as a ``GROUP BY check_id`` in SQL, which the
    database answered by reading every row of the run through the check index (400k objects:
    1.8 s against 0.36)."""
    seen: dict[str, set[str]] = {}
    rows = conn.execute(
        select(A.c.check_id, A.c.object_kind, A.c.object_namespace, A.c.object_name).where(
            A.c.run_id == run_id, A.c.status == "failing"
        )
    )
    for check_id, kind, namespace, name in rows:
        # One text per object as the count used to build it (a NULL part as empty).
        seen.setdefault(check_id, set()).add(f"{kind or ''}/{namespace or ''}/{name or ''}")
    return {check_id: len(objects) for check_id, objects in seen.items()}


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
        ensure_hot(conn, run_id)  # its own transaction: the run may have been archived since
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
