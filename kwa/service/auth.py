"""Who may call what: bearer tokens with scopes (storage.tokens), checked on every endpoint.

``read`` lists and reads runs, results, history and diffs; ``run`` adds starting, aborting,
rerunning and resuming runs; ``admin`` adds nothing more today but is the scope future
administrative endpoints (token management over HTTP, retention) will require — tokens themselves
are managed only with ``kwa tokens`` on the service's host. ``/healthz`` needs no token.

With ``--no-auth`` (refused unless the service listens on loopback only) every request is
treated as an ``admin`` token: the machine's own users are trusted as they are by the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request

from kwa.service.problems import Problem

BEARER = "bearer"
MAX_AUTHORIZATION = 512  # a kwa token is 61 characters; anything much longer is not one


def _challenge(error: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="kwa"' + (f', error="{error}"' if error else "")
    return {"WWW-Authenticate": value}


def caller(request: Request) -> dict[str, Any]:
    """The token behind the request (its row), or a 401 problem."""
    state = request.app.state
    if not state.auth:
        return {"token_id": None, "name": "no-auth", "scope": "admin"}
    header = request.headers.get("authorization")
    if not header:
        raise Problem(401, "unauthorized", "this endpoint needs a bearer token (kwa tokens create)", _challenge())
    scheme, _, token = header.partition(" ")
    if scheme.lower() != BEARER or not token.strip() or len(header) > MAX_AUTHORIZATION:
        raise Problem(401, "unauthorized", "expected 'Authorization: Bearer <token>'", _challenge("invalid_request"))
    from storage.tokens import verify_token

    found = verify_token(state.db, token.strip())
    if found is None:
        raise Problem(401, "unauthorized", "the token is unknown or revoked", _challenge("invalid_token"))
    request.state.token_id = found["token_id"]
    return found


def require(scope: str) -> Callable[[Request], dict[str, Any]]:
    """A dependency: the caller's token when its scope covers ``scope``, else 401/403."""
    from storage.tokens import scope_allows

    def dependency(request: Request) -> dict[str, Any]:
        found = caller(request)
        if not scope_allows(found["scope"], scope):
            raise Problem(
                403,
                "forbidden",
                f"this endpoint needs a token of scope {scope} (this one is {found['scope']})",
                _challenge("insufficient_scope"),
            )
        return found

    dependency.__name__ = f"require_{scope}"
    return dependency


READ, RUN, ADMIN = require("read"), require("run"), require("admin")
