"""What the CI gates read, built from result rows held in memory (``kwa lint``) instead of SQL.

:func:`storage.gates.evaluate_gates` judges a summary dict; for a stored run that dict comes from
:func:`storage.summary.run_summary` and the listed objects from :func:`storage.gates.gate_findings`.
:func:`gate_summary` and :func:`gate_findings_from_rows` give the same fields, in the same order,
from the rows a lint kept, so a lint and a stored run are rejected for the same reasons with the
same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from storage.enums import STATUSES
from storage.gate_options import SEVERITIES

_FINDING_KEYS = ("check_id", "severity", "object_kind", "object_namespace", "object_name", "container")


def gate_summary(
    run: Mapping[str, Any],
    history: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    passing: Mapping[tuple[str, str, str], int] | None = None,
) -> dict:
    """``run``, ``state``, ``scores``, ``failing_by_severity`` and ``checks`` (id, severity, counts).

    ``passing``: passing rows per (check id, pillar, severity) that ``rows`` leaves out."""
    checks: dict[str, dict[str, Any]] = {}
    failing = dict.fromkeys(SEVERITIES, 0)
    for (check_id, _, severity), count in (passing or {}).items():
        c = checks.setdefault(
            check_id, {"check_id": check_id, "severity": severity, "counts": dict.fromkeys(STATUSES, 0)}
        )
        c["counts"]["passing"] += count
    for r in rows:
        c = checks.get(r["check_id"])
        if c is None:
            c = checks[r["check_id"]] = {
                "check_id": r["check_id"],
                "severity": r["severity"],
                "counts": dict.fromkeys(STATUSES, 0),
            }
        c["counts"][r["status"]] += 1
        if r["status"] == "failing":
            failing[r["severity"]] = failing.get(r["severity"], 0) + 1
    return {
        "run": dict(run),
        "state": run.get("state"),
        "scores": history.get("scores"),
        "failing_by_severity": failing,
        "checks": sorted(checks.values(), key=lambda c: c["check_id"]),
    }


def gate_findings_from_rows(
    rows: Iterable[Mapping[str, Any]], fail_on: str | None, per_severity: int
) -> list[dict[str, Any]]:
    """The failing results a ``--fail-on`` gate lists: per severity at or above ``fail_on``, the
    first ``per_severity`` by check id and object, most severe first (as ``gate_findings``)."""
    if fail_on is None:
        return []
    wanted = SEVERITIES[: SEVERITIES.index(fail_on) + 1]
    by_severity: dict[str, list[dict[str, Any]]] = {s: [] for s in wanted}
    for r in rows:
        if r["status"] == "failing" and r["severity"] in by_severity:
            by_severity[r["severity"]].append({k: r.get(k) for k in _FINDING_KEYS})

    def order(f: Mapping[str, Any]) -> tuple[str, ...]:
        return (f["check_id"], *(str(f.get(k) or "") for k in _FINDING_KEYS[2:]))

    return [f for s in wanted for f in sorted(by_severity[s], key=order)[:per_severity]]
