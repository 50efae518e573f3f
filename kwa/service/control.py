"""Starting and controlling runs: request, abort, rerun, resume (tokens of scope ``run``).

The same paths as ``kwa run`` and ``kwa runs abort|rerun|resume``: :func:`flows.admission.request_run`
(dedup, the rerun/resume links) and :mod:`flows.control` (which runs may be aborted or repeated);
the difference is who executes the run: a Prefect worker, through :mod:`kwa.service.handoff`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response

from kwa.service import schemas
from kwa.service.auth import RUN
from kwa.service.formats import json_document
from kwa.service.gate import parse_gate
from kwa.service.handoff import hand_over, prefect_link, waiting_note
from kwa.service.problems import Problem, known_query
from kwa.service.runs import ERRORS, NewClusterId, RunId

router = APIRouter(prefix="/api/v1", dependencies=[Depends(RUN), Depends(known_query)])
CONTROL_ERRORS = {
    **ERRORS,
    409: {"model": schemas.ProblemDetails, "description": "the run is in the wrong state for this"},
    503: {"model": schemas.ProblemDetails, "description": "Prefect could not take the run (it is failed)"},
}


def _selected(pillars: list[str], checks: list[str]) -> list[Any]:
    from checks.registry import UnknownCheckError, UnknownPillarError, load_all

    try:
        return load_all().select(pillars or None, checks or None)
    except UnknownCheckError as exc:
        raise Problem(
            422,
            "invalid-request",
            f"unknown check id {exc.check_id[:64]!r} (GET /api/v1/runs/… "
            "lists the ids a run assessed; kwa checks list shows them all)",
        ) from None
    except UnknownPillarError as exc:
        raise Problem(422, "invalid-request", str(exc)[:300]) from None


def _source(req: schemas.SourceRequest) -> Any:
    from checks.sources.resolve import SourceSpec, choose

    if req.kind == "demo":
        return SourceSpec("demo")
    if req.kind == "live":
        return SourceSpec("live", context=req.context)
    return choose(None, None, req.context)


@router.post(
    "/clusters/{cluster:path}/runs",
    status_code=202,
    response_model=None,
    responses={
        202: {"model": schemas.RunAccepted, "description": "queued and handed to Prefect"},
        200: {"model": schemas.RunAccepted, "description": "an identical run is already active: that one"},
        **CONTROL_ERRORS,
    },
)
def request_run(
    request: Request,
    cluster: NewClusterId,
    body: Annotated[schemas.RunRequest, Body()] = None,  # type: ignore[assignment]
) -> Response:
    """Request a run of ``cluster``: created ``queued`` with trigger ``api`` and handed to Prefect as
    a deployment run of ``kwa-assessment``; an identical queued or running run is returned instead
    (``created: false``, 200) unless ``force_new``."""
    from flows.admission import request_run as enqueue
    from flows.admission import run_parameters

    body = body or schemas.RunRequest()
    selected = _selected(list(body.pillars), body.checks)
    if body.gate is not None:
        parse_gate(body.gate.model_dump())  # a bad gate is refused before anything is stored
    spec = _source(body.source)
    parameters = run_parameters(
        spec, list(body.pillars) or None, body.checks or None, body.check_timeout, body.run_timeout or None, None
    )
    if body.gate is not None:
        parameters["gate"] = body.gate.model_dump()
    db = request.app.state.db
    run, created = enqueue(
        db,
        selected=selected,
        pillars=list(body.pillars),
        checks=body.checks,
        cluster_id=cluster,
        source=spec.describe(),
        trigger="api",
        parameters=parameters,
        force_new=body.force_new,
    )
    if created:
        prefect = hand_over(db, run, parameters)
        run = _reload(db, run["run_id"])
    else:
        prefect = {"flow_run_id": run.get("prefect_flow_run_id")}
    prefect.update(prefect_link(request.app, prefect.get("flow_run_id")))
    note = waiting_note(prefect) if created else f"an identical run is already {run['state']}: this is that run"
    response = json_document("RunRequest", {"created": created, "run": run, "prefect": prefect, "note": note})
    response.status_code = 202 if created else 200
    response.headers["Location"] = f"/api/v1/runs/{run['run_id']}"
    return response


def _reload(db: Any, run_id: str) -> dict[str, Any]:
    from storage.runs import get_run

    return get_run(db, run_id) or {}


def _controlled(body: Callable[[], Response]) -> Response:
    """flows.control's expected errors as problems: no such run 404, wrong state 409."""
    from flows.control import ControlError, RunMissing

    try:
        return body()
    except RunMissing as exc:
        raise Problem(404, "not-found", str(exc)) from None
    except ControlError as exc:
        raise Problem(409, "conflict", str(exc)) from None


@router.post(
    "/runs/{run_id}/abort", response_model=None, responses={200: {"model": schemas.RunControlled}, **CONTROL_ERRORS}
)
def abort_run(request: Request, run_id: RunId) -> Response:
    """End a queued or running run as ``aborted`` and cancel its Prefect flow run."""
    from flows import control

    def body() -> Response:
        run = control.abort(request.app.state.db, run_id, "aborted over the API (POST /api/v1/runs/{id}/abort)")
        return json_document("RunControl", {"action": "abort", "run": run, "of": None})

    return _controlled(body)


def _again(request: Request, run_id: str, resume: bool) -> Response:
    from checks.metadata import CheckRegistrationError
    from flows.admission import request_again

    db = request.app.state.db

    def body() -> Response:
        try:
            run, params, _ = request_again(
                db, run_id, resume=resume, trigger="api", select=lambda p, c: _selected(p or [], c or [])
            )
        except CheckRegistrationError as exc:
            raise Problem(409, "conflict", f"the run's CEL checks no longer load: {exc}"[:300]) from None
        prefect = hand_over(db, run, params)
        prefect.update(prefect_link(request.app, prefect["flow_run_id"]))
        action = "resume" if resume else "rerun"
        payload = {
            "action": action,
            "run": _reload(db, run["run_id"]),
            "of": run_id,
            "prefect": prefect,
            "note": waiting_note(prefect),
        }
        response = json_document("RunControl", payload)
        response.status_code = 202
        response.headers["Location"] = f"/api/v1/runs/{run['run_id']}"
        return response

    return _controlled(body)


@router.post(
    "/runs/{run_id}/rerun",
    status_code=202,
    response_model=None,
    responses={202: {"model": schemas.RunControlled}, **CONTROL_ERRORS},
)
def rerun_run(request: Request, run_id: RunId) -> Response:
    """Run again with the same scope and source, as a new run linked to this one (``rerun_of``)."""
    return _again(request, run_id, resume=False)


@router.post(
    "/runs/{run_id}/resume",
    status_code=202,
    response_model=None,
    responses={202: {"model": schemas.RunControlled}, **CONTROL_ERRORS},
)
def resume_run(request: Request, run_id: RunId) -> Response:
    """Run only the checks that errored, timed out or never ran, as a new run (``resume_of``)."""
    return _again(request, run_id, resume=True)
