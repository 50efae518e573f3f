"""Reading runs: clusters, a cluster's runs (cursor), all runs (offset), one run in full.

The same storage functions as ``kwa runs list|get`` (storage.queries) and the same JSON documents
(kwa.views: ``RunList``, ``Run``), with what a client of the run service also wants from one run:
its phases with their timestamps, the exemption audit, the Prefect flow-run link and, when gates
were asked for, whether they passed or rejected it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from kwa.service import schemas
from kwa.service.auth import READ
from kwa.service.formats import FORMAT_HELP, csv_document, json_document, negotiate
from kwa.service.problems import Problem, known_query

router = APIRouter(prefix="/api/v1", dependencies=[Depends(READ), Depends(known_query)])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": schemas.ProblemDetails, "description": what}
    for code, what in (
        (400, "a value kwa cannot use (malformed cursor, bad date)"),
        (401, "no token, or an unknown or revoked one"),
        (403, "the token's scope does not allow this"),
        (404, "no such run or cluster"),
        (406, "the format asked for is not offered"),
        (422, "a parameter out of its range or enum"),
    )
}
MAX_PAGE = 10_000  # storage.queries.MAX_LIMIT
ClusterId = Annotated[str, Path(min_length=1, max_length=253, pattern=schemas.ANY_CLUSTER_ID)]
NewClusterId = Annotated[str, Path(min_length=1, max_length=253, pattern=schemas.CLUSTER_ID)]
RunId = Annotated[str, Path(min_length=5, max_length=100, pattern=r"^run_[A-Za-z0-9_]+$")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size (at most {MAX_PAGE:,})")]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
Since = Annotated[
    str | None, Query(max_length=64, description="ISO 8601 (2026-02-16T10:00Z) or a duration back from now (7d)")
]
States = Annotated[list[schemas.State], Query(max_length=6, description="repeat for several")]
Triggers = Annotated[list[schemas.Trigger], Query(max_length=5, description="repeat for several")]
TabularFormat = Annotated[Literal["json", "csv"] | None, Query(description=FORMAT_HELP)]


def since_value(text: str | None) -> datetime | None:
    from cli.errors import UsageError
    from kwa.values import parse_since

    if text is None:
        return None
    try:
        return parse_since(text, "since")
    except UsageError as exc:
        raise Problem(400, "bad-request", str(exc)) from None


def _list(request: Request, fmt: str | None, paging: str, **query: Any) -> Response:
    from kwa.views.runs import RUN_COLUMNS, _flat
    from storage.queries import RunQuery, list_run_page

    chosen = negotiate(request, fmt, ("json", "csv"))
    db = request.app.state.db
    q = RunQuery(**query)
    page = list_run_page(db, q)
    if chosen == "csv":
        return csv_document(RUN_COLUMNS, [_flat(r) for r in page.items], "runs.csv")
    if paging == "cursor":
        pagination: dict[str, Any] = {"limit": page.limit, "next_cursor": page.next_cursor}
    else:
        from storage.counts import count_runs

        total = count_runs(db, q)
        after = q.offset + len(page.items)
        pagination = {
            "limit": page.limit,
            "offset": q.offset,
            "total": total,
            "next_offset": after if after < total else None,
        }
    return json_document("RunList", {"items": page.items, "pagination": pagination})


@router.get("/clusters/{cluster:path}/runs", response_model=None, responses={200: {"model": schemas.RunPage}, **ERRORS})
def list_cluster_runs(
    request: Request,
    cluster: ClusterId,
    state: States = [],  # noqa: B006 - FastAPI copies query defaults
    trigger: Triggers = [],  # noqa: B006
    since: Since = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    format: TabularFormat = None,
) -> Response:
    """A cluster's runs, newest first, cursor-paginated (``pagination.next_cursor``)."""
    return _list(
        request,
        format,
        "cursor",
        cluster_id=cluster,
        state=state,
        trigger=trigger,
        since=since_value(since),
        limit=limit,
        cursor=cursor,
    )


@router.get("/runs", response_model=None, responses={200: {"model": schemas.RunPage}, **ERRORS})
def list_runs(
    request: Request,
    state: States = [],  # noqa: B006
    trigger: Triggers = [],  # noqa: B006
    since: Since = None,
    cluster: Annotated[str | None, Query(max_length=253, pattern=schemas.ANY_CLUSTER_ID)] = None,
    limit: Limit = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    format: TabularFormat = None,
) -> Response:
    """Runs of every cluster, newest first, offset-paginated (``pagination.total``, ``next_offset``)."""
    return _list(
        request,
        format,
        "offset",
        cluster_id=cluster,
        state=state,
        trigger=trigger,
        since=since_value(since),
        limit=limit,
        offset=offset,
    )


@router.get("/runs/{run_id}", response_model=None, responses={200: {"model": schemas.RunDetail}, **ERRORS})
def get_run(
    request: Request,
    run_id: RunId,
    fail_on: Annotated[schemas.Severity | None, Query(description="judge the run by this gate instead")] = None,
    min_score: Annotated[list[str], Query(max_length=7, description="N or PILLAR=N")] = [],  # noqa: B006
    min_coverage: Annotated[list[str], Query(max_length=7, description="N or PILLAR=N")] = [],  # noqa: B006
) -> Response:
    """One run in full: phases and their timestamps, timings, scores, counts per status and pillar,
    the exemption audit, the Prefect flow-run link and the gate's outcome (the gates given here,
    else those the run was requested with)."""
    from kwa.service.gate import gate_outcome
    from kwa.service.handoff import prefect_link
    from kwa.views.assessments import run_payload
    from storage.phases import phases
    from storage.queries import run_detail

    db = request.app.state.db
    detail = run_detail(db, run_id)
    run = detail["run"]
    payload = run_payload(detail)
    payload["phases"] = [{"phase": name, "at": at} for name, at in phases(run)]
    payload["exemption_audit"] = list((run.get("summary") or {}).get("exemption_audit") or [])
    payload["prefect"] = prefect_link(request.app, run.get("prefect_flow_run_id"))
    asked = {"fail_on": fail_on, "min_score": min_score, "min_coverage": min_coverage}
    stored = (run.get("parameters") or {}).get("gate")
    gate = asked if (fail_on or min_score or min_coverage) else stored
    if gate:
        payload["gate"] = gate_outcome(db, run, gate)
    return json_document("Run", payload)
