"""The findings dashboard: static pages served at ``/`` by the same process as the API.

The assets (``kwa/service/static/``: one HTML page, a stylesheet and plain ES modules) are
package data, so an installed kwa serves them offline; nothing is built and nothing is fetched
from another origin. The pages read the JSON API under ``/api/v1`` with the caller's token, so
the assets themselves need none: they hold no data. Every dashboard answer carries a strict
Content-Security-Policy (scripts, styles and connections from this origin only, no inline
script), a second line of defence behind the pages' escaping of every value they show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).with_name("static")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def install(app: FastAPI) -> None:
    """``GET /`` (the page; its view and filters are in the query) and ``/ui/*`` (its assets)."""
    app.mount("/ui", StaticFiles(directory=ASSETS), name="ui")

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(ASSETS / "index.html", media_type="text/html; charset=utf-8")

    @app.middleware("http")
    async def dashboard_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        path = request.url.path
        if path == "/" or path.startswith("/ui/"):
            response.headers.update(HEADERS)
        return response
