"""Errors as RFC 9457 problem details (``application/problem+json``), never a traceback.

Every error the service answers has the same shape: ``type`` (a ``urn:kwa:problem:…`` name a
client can switch on), ``title`` (the HTTP reason), ``status``, ``detail`` (what was wrong, for a
person) and ``instance`` (the request's path); validation errors add ``errors``, one entry per bad
field (``location`` and ``message``; the rejected value is never echoed back). kwa's own
expected errors (unknown run, malformed cursor, wrong state) keep the messages the CLI prints.
Anything unexpected is logged (redacted, like every log line) and answered with a generic 500
that says nothing about the internals.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("kwa.service")

_PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
MAX_DETAIL = 2_000  # a message quoting a huge input is cut


class Problem(Exception):
    """An error answered as problem details."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.status, self.slug, self.detail, self.headers, self.extra = status, slug, detail, headers, extra


def problem_response(
    request: Request, status: int, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"urn:kwa:problem:{slug}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail[:MAX_DETAIL],
        "instance": request.url.path[:500],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
    422: "invalid-request",
    503: "unavailable",
}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors()[:20]:
        loc = [str(part) for part in err.get("loc", ())]
        out.append({"location": ".".join(loc)[:200], "message": str(err.get("msg", "invalid"))[:300]})
    return out


def install(app: FastAPI) -> None:
    """The handlers that turn every error into problem details."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.slug, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors[:3]) or "invalid request"
        return problem_response(request, 422, "invalid-request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = _SLUGS.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(request, exc.status_code, slug, detail, getattr(exc, "headers", None))

    async def _expected(request: Request, exc: Exception) -> JSONResponse:
        found = translate(exc)
        return unexpected(request, exc) if found is None else await _problem(request, found)

    from cli.errors import UsageError
    from storage.db import StorageUnavailable

    for kind in (LookupError, ValueError, UsageError, StorageUnavailable):
        app.add_exception_handler(kind, _expected)  # type: ignore[arg-type]


def unexpected(request: Request, exc: BaseException) -> JSONResponse:
    """A bug: the log gets the traceback (redacted by kwa's record factory), the client never does."""
    logger.error("unexpected error answering %s %s", request.method, request.url.path[:200], exc_info=exc)
    return problem_response(request, 500, "internal", "the service failed to answer this request; see its log")


def translate(exc: BaseException) -> Problem | None:
    """kwa's expected errors as problems (None: not one of them)."""
    from cli.errors import UsageError
    from storage.db import StorageUnavailable
    from storage.diff import Incomparable, NothingToCompare
    from storage.queries import ClusterNotFound, NoRuns, QueryError, ResultNotFound, RunNotFound
    from storage.scopes import ScopeError

    text = str(exc)
    if isinstance(exc, RunNotFound | ClusterNotFound | ResultNotFound | NoRuns):
        return Problem(404, "not-found", text)
    if isinstance(exc, NothingToCompare | Incomparable):
        return Problem(409, "conflict", text)
    if isinstance(exc, QueryError | ScopeError | UsageError):
        return Problem(400, "bad-request", text)
    if isinstance(exc, StorageUnavailable):
        return Problem(503, "unavailable", "kwa's database is unavailable")
    return None


def known_query(request: Request) -> None:
    """Refuse a query parameter the endpoint does not take (a dependency of every API route).

    Ignored, ``?cursor=`` on the offset-paged ``/runs`` answered its first page again and again
    (a client following it never ended), and a misspelt filter (``?sever1ty=high``) answered
    everything as if asked for it."""
    from redaction import redact

    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    taken: set[str] = set()
    todo = [dependant]
    while todo:  # the route's own parameters and those of its dependencies
        current = todo.pop()
        taken.update(p.alias for p in current.query_params)
        todo.extend(current.dependencies)
    unknown = sorted(set(request.query_params) - taken)
    if unknown:
        # Named only when it looks like a parameter name: a long one may be a token pasted into the URL.
        name = unknown[0]
        named = f" {redact(name)!r}" if _PARAMETER_NAME.fullmatch(name) else " (not shown: not a parameter name)"
        takes = ", ".join(sorted(taken)) if taken else "no query parameters"
        raise Problem(400, "bad-request", f"unknown query parameter{named}; {request.url.path[:200]} takes: {takes}")
