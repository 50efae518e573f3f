"""Findings: a run's results (the query CLI's filters, cursor), a cluster's history, a diff.

``GET /api/v1/runs/{run_id}/results`` is ``kwa query assessments list --run RUN_ID``: the same
:class:`storage.queries.AssessmentQuery`, the same findings-first order and cursor, answered as
JSON, SARIF 2.1.0, JUnit XML or CSV. History is ``kwa query assessments history --cluster``,
diff ``kwa query assessments diff RUN_A RUN_B`` (like with like unless ``any_scope``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from kwa.service import schemas
from kwa.service.auth import READ
from kwa.service.formats import FORMAT_HELP, csv_document, json_document, negotiate, render
from kwa.service.problems import Problem, known_query
from kwa.service.runs import ERRORS, MAX_PAGE, ClusterId, Cursor, RunId, Since, since_value

router = APIRouter(prefix="/api/v1", dependencies=[Depends(READ), Depends(known_query)])
Many = Annotated[list[str], Query(max_length=50, description="repeat for several")]
Values = Annotated[list[str], Query(max_length=500, description="repeat for several")]


def _values(values: list[str], what: str, size: int = 253) -> list[str]:
    """Every value within ``size`` characters and printable (the filters are bound parameters, so
    this is about sane input, not about SQL)."""
    for v in values:
        if not v or len(v) > size or not v.isprintable():
            raise Problem(422, "invalid-request", f"{what}: each value is 1 to {size} printable characters")
    return values


@router.get(
    "/runs/{run_id}/results",
    response_model=None,
    responses={200: {"model": schemas.ResultPage, "description": "JSON; or SARIF, JUnit XML, CSV"}, **ERRORS},
)
def list_results(
    request: Request,
    run_id: RunId,
    pillar: Annotated[list[schemas.Pillar], Query(max_length=6)] = [],  # noqa: B006 - FastAPI copies defaults
    status: Annotated[list[schemas.Status], Query(max_length=6)] = [],  # noqa: B006
    severity: Annotated[list[schemas.Severity], Query(max_length=5)] = [],  # noqa: B006
    check: Values = [],  # noqa: B006
    namespace: Values = [],  # noqa: B006
    kind: Many = [],  # noqa: B006
    sort: Literal["severity", "id"] = "severity",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    cursor: Cursor = None,
    framework: Annotated[
        str | None,
        Query(
            max_length=63,
            pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
            description="only the checks of this compliance framework (nsa, cis, …), each result with its control ids",
        ),
    ] = None,
    format: Annotated[Literal["json", "sarif", "junit", "csv"] | None, Query(description=FORMAT_HELP)] = None,
) -> Response:
    """A run's results, findings first (severity, check, object; ``sort=id``: as stored),
    filtered like ``kwa query assessments list`` and paged by ``pagination.next_cursor``.
    With ``framework``: the framework's checks only, each result carrying ``controls`` (and, in
    SARIF and JUnit, the control ids as rule properties and tags)."""
    from cli.formatters.common import run_brief
    from kwa.views.assessments import RESULT_COLUMNS, group_by_run
    from storage.queries import AssessmentQuery, list_assessments

    chosen = negotiate(request, format, ("json", "sarif", "junit", "csv"))
    db = request.app.state.db
    checks = _values(check, "check", 64)
    fw = None
    if framework is not None:
        from kwa.service.frameworks import framework_or_problem

        fw = framework_or_problem(framework, 400)
        mapped = fw.check_ids()
        checks = [c for c in mapped if not checks or c.upper() in {x.upper() for x in checks}] or ["-"]
    q = AssessmentQuery(
        run_id=run_id,
        pillar=pillar,
        status=status,
        severity=severity,
        check_id=checks,
        namespace=_values(namespace, "namespace"),
        kind=_values(kind, "kind", 100),
        sort=sort,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )
    page = list_assessments(db, q)
    if fw is not None:
        from kwa.views.frameworks import tag_rows

        page.items = tag_rows(fw, page.items)
    headers = {"Link": f'<?cursor={page.next_cursor}>; rel="next"'} if page.next_cursor else {}
    if chosen == "json":
        pagination = {
            "limit": page.limit,
            "offset": page.offset,
            "total": page.total,
            "returned": len(page.items),
            "next_cursor": page.next_cursor,
        }
        response = json_document(
            "AssessmentList",
            {
                "scope": page.scope,
                "run": run_brief(page.run),
                **({"framework": fw.name} if fw is not None else {}),
                "items": page.items,
                "pagination": pagination,
            },
        )
    elif chosen == "csv":
        response = csv_document(RESULT_COLUMNS, page.items, f"{run_id}.csv")
    elif chosen == "sarif":
        import io

        from cli.formatters.sarif import write_sarif

        groups = group_by_run(db, page.items, page.run)
        response = render("sarif", lambda out: write_sarif(groups, out, warn=io.StringIO()), f"{run_id}.sarif")
    else:
        from cli.formatters.junit import write_junit

        response = render("junit", lambda out: write_junit(page.items, out), f"{run_id}.xml")
    response.headers.update(headers)
    return response


Scope = Annotated[str | None, Query(max_length=200, description="full, pillar:P[,P] or check:ID[,ID]")]


def _scope(scope: str | None, any_scope: bool) -> Any:
    from storage.scopes import ANY, Scope, ScopeError

    if any_scope:
        if scope:
            raise Problem(400, "bad-request", "scope and any_scope exclude each other")
        return ANY
    if not scope:
        return None
    try:
        return Scope.parse(scope)
    except ScopeError as exc:
        raise Problem(400, "bad-request", str(exc)) from None


@router.get(
    "/clusters/{cluster:path}/history", response_model=None, responses={200: {"model": schemas.History}, **ERRORS}
)
def cluster_history(
    request: Request,
    cluster: ClusterId,
    scope: Scope = None,
    any_scope: bool = False,
    since: Since = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    format: Annotated[Literal["json", "csv"] | None, Query(description=FORMAT_HELP)] = None,
) -> Response:
    """One row per finished run of the cluster and one scope, oldest first: scores, counts and the
    change since the run before (``kwa query assessments history``)."""
    from cli import history
    from storage.history import cluster_history as read_history

    chosen = negotiate(request, format, ("json", "csv"))
    found = read_history(request.app.state.db, cluster, since_value(since), limit, _scope(scope, any_scope))
    pillars, records, _ = history.aggregate(found.rows)
    if chosen == "csv":
        from kwa.views.compare import history_csv_rows

        columns, rows = history_csv_rows(records, pillars)
        return csv_document(columns, rows, "history.csv")
    payload = {
        "cluster_id": found.cluster_id,
        "scope": found.scope.label,
        "scope_chosen": found.chosen,
        "other_scopes": found.other_scopes,
        "pillars": pillars,
        "items": records,
    }
    return json_document("AssessmentHistory", payload)


@router.get("/runs/{run_a}/diff/{run_b}", response_model=None, responses={200: {"model": schemas.Diff}, **ERRORS})
def diff(
    request: Request,
    run_a: RunId,
    run_b: RunId,
    any_scope: bool = False,
    any_cluster: bool = False,
    format: Annotated[Literal["json", "csv"] | None, Query(description=FORMAT_HELP)] = None,
) -> Response:
    """What changed from ``run_a`` (older) to ``run_b``, keyed by check, object and container."""
    from cli.formatters.common import run_brief
    from kwa.views.compare import DIFF_COLUMNS
    from storage.history import diff_runs, require_comparable
    from storage.queries import resolve_run

    chosen = negotiate(request, format, ("json", "csv"))
    db = request.app.state.db
    a, b = resolve_run(db, run_a), resolve_run(db, run_b)
    require_comparable(a, b, any_scope=any_scope, any_cluster=any_cluster)
    found = diff_runs(db, a["run_id"], b["run_id"])
    found["compared"].update(how="the two runs asked for", picked=False)
    if chosen == "csv":
        rows = [
            {**item, "change": key}
            for key in ("new_failures", "fixed", "still_failing", "changed", "results_disappeared")
            for item in found[key]
        ]
        return csv_document(DIFF_COLUMNS, rows, "diff.csv")
    return json_document(
        "AssessmentDiff", {**found, "run_a": run_brief(found["run_a"]), "run_b": run_brief(found["run_b"])}
    )
