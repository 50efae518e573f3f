"""The FastAPI application: limits, error handling, routers, OpenAPI.

Limits, checked before a handler runs: a request body of at most :data:`MAX_BODY` bytes (413),
a query string of at most :data:`MAX_QUERY` characters and a path of at most :data:`MAX_PATH`
(414). Every request is logged in one line (method, path, status, milliseconds, token id) through
the ``kwa.service`` logger; the query string is not logged and the Authorization header never is,
and kwa's redaction layer masks anything token-shaped that reaches a log record anyway.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kwa.service import catalogue, control, dashboard, findings, frameworks, runs, schemas
from kwa.service.problems import PROBLEM_JSON, install, unexpected
from redaction import redact

MAX_BODY = 64 * 1024  # a run request is a few hundred bytes
MAX_QUERY = 8 * 1024
MAX_PATH = 2 * 1024
logger = logging.getLogger("kwa.service")

DESCRIPTION = """kwa's run service: request runs (handed to Prefect as deployment runs of
`kwa-assessment`), list and control them, and read their findings, history and diffs.
Every endpoint but `/healthz` needs `Authorization: Bearer <token>` (`kwa tokens create`);
errors are RFC 9457 problem details (`application/problem+json`)."""


class Limits:
    """Pure ASGI middleware: refuse oversized requests before any handler reads them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY or len(scope.get("raw_path") or b"") > MAX_PATH:
            await _refuse(
                scope,
                send,
                414,
                "uri-too-long",
                f"the path is at most {MAX_PATH:,} bytes and the query string at most {MAX_QUERY:,}",
            )
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            await _refuse(scope, send, 413, "too-large", f"a request body is at most {MAX_BODY:,} bytes")
            return
        received, too_large, refused = 0, False, False

        async def bounded() -> Message:
            nonlocal received, too_large
            if too_large:  # the app keeps reading: there is nothing more for it
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY:  # chunked bodies declare no length: counted as they come
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            # FastAPI turns any failure to read a body into its own 400: once the body was cut
            # short here, whatever the app answers is replaced by the 413 (sent once).
            nonlocal refused
            if not too_large:
                await send(message)
            elif not refused:
                refused = True
                await _refuse(scope, send, 413, "too-large", f"a request body is at most {MAX_BODY:,} bytes")

        try:
            await self.app(scope, bounded, answer)
        except Exception:
            if not too_large:
                raise
        if too_large and not refused:
            await _refuse(scope, send, 413, "too-large", f"a request body is at most {MAX_BODY:,} bytes")


async def _refuse(scope: Scope, send: Send, status: int, slug: str, detail: str) -> None:
    import json
    from http import HTTPStatus

    body = json.dumps(
        {
            "type": f"urn:kwa:problem:{slug}",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "instance": str(scope.get("path", ""))[:200],
        }
    ).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(db: Any = None, *, auth: bool = True) -> FastAPI:
    """The service over ``db`` (default: kwa's database, ``KWA_DATABASE_URL``); ``auth=False``
    only for ``--no-auth`` on loopback (``kwa serve`` checks the host)."""
    from storage.db import Database, kwa_version

    app = FastAPI(
        title="kwa run service",
        version=kwa_version(),
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        # No Swagger/ReDoc page: FastAPI's pull their scripts from a CDN, and kwa serves nothing
        # that needs the network (docs/api.md is the reference, generated from the document).
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = db if db is not None else Database()
    app.state.auth = auth
    install(app)
    app.add_middleware(Limits)

    @app.middleware("http")
    async def access_log(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception as exc:  # whatever no handler took: a generic 500, never a traceback
            response = unexpected(request, exc)
        token = getattr(request.state, "token_id", None)
        # The path may carry anything a client put there (a token pasted by mistake): redacted
        # here as well as by the process-wide layer kwa serve installs.
        logger.info(
            "%s %s %d %.1f ms token=%s",
            request.method,
            redact(request.url.path[:200]),
            response.status_code,
            (time.perf_counter() - started) * 1000,
            token or "-",
        )
        return response

    @app.get("/healthz", response_model=schemas.Health, tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers (no token needed; the database is not touched)."""
        return {"status": "ok", "version": kwa_version()}

    app.include_router(runs.router, tags=["runs"])
    app.include_router(control.router, tags=["control"])
    app.include_router(findings.router, tags=["findings"])
    app.include_router(catalogue.router, tags=["catalogue"])
    app.include_router(frameworks.router, tags=["frameworks"])
    dashboard.install(app)  # the pages at / read the routes above, nothing else
    return app
