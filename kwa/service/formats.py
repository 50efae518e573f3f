"""Response formats: JSON by default, SARIF, JUnit and CSV where the CLI has them.

Chosen by ``?format=`` first, else by the ``Accept`` header (``application/json``,
``application/sarif+json``, ``application/xml`` or ``application/junit+xml``, ``text/csv``;
``*/*`` or none: JSON). A format the endpoint does not have is a 406 problem. Every body is
written by the CLI's formatters (cli/formatters), so ``kwa query … -o FORMAT`` and the API give
the same documents.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response

from kwa.service.problems import Problem

Format = Literal["json", "sarif", "junit", "csv"]
MEDIA: dict[str, str] = {
    "json": "application/json",
    "sarif": "application/sarif+json",
    "junit": "application/xml",
    "csv": "text/csv; charset=utf-8",
}
_ACCEPTED: dict[str, str] = {
    "application/json": "json",
    "application/sarif+json": "sarif",
    "application/xml": "junit",
    "application/junit+xml": "junit",
    "text/xml": "junit",
    "text/csv": "csv",
}
MAX_ACCEPT = 1_000


def _accept(header: str, allowed: Iterable[str]) -> str | None:
    """The first format the ``Accept`` header names (q-values aside) that the endpoint has."""
    allowed = list(allowed)
    for part in header[:MAX_ACCEPT].split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in ("*/*", "application/*", ""):
            return "json" if "json" in allowed else allowed[0]
        found = _ACCEPTED.get(media)
        if found in allowed:
            return found
    return None


def negotiate(request: Request, requested: str | None, allowed: tuple[str, ...]) -> str:
    """The format to answer in, or a 406 problem naming the ones there are."""
    if requested is not None:
        if requested not in allowed:
            raise Problem(406, "not-acceptable", f"format {requested!r} is not offered here: {', '.join(allowed)}")
        return requested
    header = request.headers.get("accept")
    if not header:
        return "json"
    found = _accept(header, allowed)
    if found is None:
        offered = ", ".join(MEDIA[f].split(";")[0] for f in allowed)
        raise Problem(406, "not-acceptable", f"none of the media types accepted is offered here: {offered}")
    return found


def render(fmt: str, write: Callable[[io.StringIO], Any], filename: str | None = None) -> Response:
    """Run ``write`` on a buffer and answer with what it wrote, typed for ``fmt``."""
    buffer = io.StringIO()
    write(buffer)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename and fmt != "json" else None
    return Response(buffer.getvalue(), media_type=MEDIA[fmt], headers=headers)


def json_document(kind: str, payload: Mapping[str, Any]) -> Response:
    from cli.formatters.structured import write_json

    return render("json", lambda out: write_json(kind, dict(payload), out))


def csv_document(columns: Iterable[str], rows: Iterable[Mapping[str, Any]], filename: str) -> Response:
    from cli.formatters.csvout import write_csv

    return render("csv", lambda out: write_csv(list(columns), [dict(r) for r in rows], out), filename)


FORMAT_HELP = "json (default), or sarif, junit, csv where offered; else chosen by the Accept header"
