"""Compliance frameworks: the catalogue, and one run read as a framework's controls.

``GET /api/v1/frameworks`` is ``kwa frameworks list -o json``; ``GET
/api/v1/runs/{run_id}/frameworks/{name}`` is ``kwa query assessments summary --run RUN_ID
--framework NAME -o json`` (rules: docs/frameworks.md). ``?framework=NAME`` on
``/runs/{run_id}/results`` (kwa/service/findings.py) keeps the framework's checks and tags each
result with its control ids.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from kwa.service import schemas
from kwa.service.auth import READ
from kwa.service.formats import json_document
from kwa.service.problems import Problem, known_query
from kwa.service.runs import ERRORS, RunId

router = APIRouter(prefix="/api/v1", dependencies=[Depends(READ), Depends(known_query)])
NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"
FrameworkName = Annotated[str, Path(min_length=1, max_length=63, pattern=NAME, description="e.g. nsa, cis")]


def framework_or_problem(name: str, status: int = 404) -> Any:
    """The shipped framework ``name``; otherwise a problem naming the valid ones."""
    from kwa.frameworks import FrameworkError, UnknownFrameworkError, load

    try:
        return load(name)
    except UnknownFrameworkError as exc:
        raise Problem(status, "not-found" if status == 404 else "bad-request", str(exc)) from None
    except FrameworkError as exc:
        raise Problem(500, "internal", f"framework {name!r} cannot be used: {exc}") from None


@router.get("/frameworks", response_model=None, responses={200: {"model": schemas.FrameworkList}, **ERRORS})
def list_frameworks() -> Response:
    """Every shipped framework: name (the ``framework`` value), title, version, controls, checks."""
    from kwa.frameworks import names

    return json_document("FrameworkList", {"items": [framework_or_problem(n).brief() for n in names()]})


@router.get(
    "/runs/{run_id}/frameworks/{name}",
    response_model=None,
    responses={200: {"model": schemas.FrameworkStatus}, **ERRORS},
)
def run_framework(request: Request, run_id: RunId, name: FrameworkName) -> Response:
    """The run's control-by-control status in a framework: each control's status, failing checks
    and counts, the framework score and coverage (not-assessed and not-evaluated controls count
    against coverage, never as passing)."""
    from kwa.views.frameworks import report_payload, run_report

    framework = framework_or_problem(name)
    run, report = run_report(request.app.state.db, framework, run_id)
    return json_document("FrameworkStatus", report_payload(run, report))
