"""The check catalogue and where each check fails across clusters; every cluster's latest scores.

``GET /api/v1/checks`` is ``kwa checks list -o json``, ``GET /api/v1/checks/{check_id}`` is
``kwa checks show`` plus, per cluster, the objects the check flags in the cluster's latest
finished (completed or partial) run — read with the same run listing and result query as
everything else (storage.queries). ``GET /api/v1/clusters`` lists every cluster with its latest
run and its latest finished run's scores and counts (a fleet view).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from kwa.service import schemas
from kwa.service.auth import READ
from kwa.service.formats import json_document
from kwa.service.problems import Problem, known_query
from kwa.service.runs import ERRORS

router = APIRouter(prefix="/api/v1", dependencies=[Depends(READ), Depends(known_query)])
FINISHED = ("completed", "partial")
AFFECTED = ("failing", "warning", "error", "timeout")


def latest_finished(db: Any, cluster_id: str) -> dict[str, Any] | None:
    """The cluster's newest completed or partial run (with its history row), or None."""
    from storage.queries import RunQuery, list_run_page

    items = list_run_page(db, RunQuery(cluster_id=cluster_id, state=FINISHED, limit=1)).items
    return items[0] if items else None


@router.get("/checks", response_model=None, responses={200: {"model": schemas.CheckList}, **ERRORS})
def list_checks(pillar: Annotated[list[schemas.Pillar], Query(max_length=6)] = []) -> Response:  # noqa: B006
    """Every registered check: id, pillar, name, severity, mode, description, remediation, peers."""
    from checks.registry import load_all

    return json_document("CheckList", {"items": [c.summary() for c in load_all().select(pillar or None, None)]})


@router.get("/checks/{check_id}", response_model=None, responses={200: {"model": schemas.CheckDetail}, **ERRORS})
def get_check(
    request: Request,
    check_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")],
    limit: Annotated[int, Query(ge=1, le=1000, description="affected results listed per cluster")] = 50,
) -> Response:
    """One check in full (its rule and remediation) and the objects it flags (failing, warning,
    error, timeout) in each cluster's latest finished run."""
    from checks.registry import load_all
    from kwa.commands.checks import describe
    from storage.history import clusters_overview
    from storage.queries import AssessmentQuery, list_assessments

    registry = load_all()
    wanted = check_id.strip().upper()
    if wanted not in registry:
        raise Problem(404, "not-found", f"no check {check_id!r} (GET /api/v1/checks lists them)")
    db = request.app.state.db
    clusters = []
    for cluster in clusters_overview(db):
        run = latest_finished(db, cluster["cluster_id"])
        if run is None or (run.get("check_ids") and wanted not in run["check_ids"]):
            continue  # never assessed by a finished run there: nothing to say either way
        page = list_assessments(
            db, AssessmentQuery(run_id=run["run_id"], check_id=[wanted], status=AFFECTED, limit=limit)
        )
        clusters.append(
            {
                "cluster_id": cluster["cluster_id"],
                "run_id": run["run_id"],
                "state": run["state"],
                "requested_at": run["requested_at"],
                "affected": page.total,
                "items": page.items,
            }
        )
    return json_document("Check", {"check": describe(registry.by_id(wanted)), "clusters": clusters})


@router.get("/clusters", response_model=None, responses={200: {"model": schemas.ClusterList}, **ERRORS})
def clusters_with_scores(request: Request) -> Response:
    """Every cluster with runs (newest first): how many, its latest run, and its latest finished
    (completed or partial) run's scores and counts."""
    from storage.history import clusters_overview

    db = request.app.state.db
    items = []
    for cluster in clusters_overview(db):
        run = latest_finished(db, cluster["cluster_id"])
        history = (run or {}).get("history") or {}
        brief = None
        if run is not None:
            brief = {
                "run_id": run["run_id"],
                "state": run["state"],
                "scope": run["scope"],
                "completed_at": run.get("completed_at"),
                "scores": history.get("scores"),
                "counts": {s: history.get(f"{s}_count") for s in (*AFFECTED, "passing", "skipped")},
            }
        items.append({**cluster, "latest_finished": brief})
    return json_document("ClusterList", {"items": items})
