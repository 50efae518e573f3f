"""``kwa serve``: the run service over HTTP (docs/api.md).

Loopback (127.0.0.1) unless ``--host`` says otherwise; every endpoint but ``/healthz`` needs a
bearer token (``kwa tokens create``) unless ``--no-auth``, which is refused on any address other
people can reach. The service needs a Prefect API to hand runs to (as ``kwa run`` does, it starts
kwa's local Prefect server when none is configured) and a worker polling the deployment's pool
to execute them; without one, requested runs wait ``queued``.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
from typing import Annotated, Any

import typer

from cli.errors import UsageError
from kwa.errors import guarded
from kwa.exit_codes import ExitCode


def is_loopback(host: str) -> bool:
    """Whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def uvicorn_config(app: Any, host: str, port: int, log_level: str = "info") -> Any:
    """How ``kwa serve`` runs uvicorn. Its own access log is off: it would write each request's
    query string; the service logs one line per request itself, without it (kwa.service.app)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level=log_level.lower(), access_log=False, server_header=False)


def serve(
    host: Annotated[str, typer.Option(metavar="HOST", help="address to listen on (loopback by default)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="P", min=1, max=65535, help="TCP port")] = 8765,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="no tokens needed (loopback only: refused on any other address)")
    ] = False,
    log_level: Annotated[str, typer.Option(metavar="LEVEL", help="uvicorn's log level")] = "info",
) -> int:
    """Serve kwa's run service over HTTP: request, list and control runs, read findings."""

    def body() -> int:
        if no_auth and not is_loopback(host):
            raise UsageError(
                f"--no-auth is refused on {host}: only a loopback address (127.0.0.1, ::1) may run without tokens"
            )
        if log_level.lower() not in ("critical", "error", "warning", "info", "debug"):
            raise UsageError(f"--log-level {log_level!r}: choose from critical, error, warning, info, debug")
        import uvicorn

        from flows.server import PrefectServerError, ensure_api
        from kwa.service.app import create_app

        try:
            info = ensure_api()
            where = f"Prefect API {info.url}" if info.url else "an ephemeral Prefect API"
        except PrefectServerError as exc:
            where = f"no Prefect API ({exc}): runs cannot be requested until one is up"
        service_log = logging.getLogger("kwa.service")  # one line per request, and unexpected errors
        service_log.setLevel(log_level.upper())
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        service_log.addHandler(handler)
        service_log.propagate = False
        app = create_app(auth=not no_auth)
        auth = "no tokens needed (--no-auth, loopback)" if no_auth else "bearer tokens required (kwa tokens create)"
        print(
            f"kwa serve on http://{host}:{port} — {auth}; {where}; OpenAPI document at /api/v1/openapi.json",
            file=sys.stderr,
        )
        uvicorn.Server(uvicorn_config(app, host, port, log_level)).run()
        return ExitCode.OK

    return guarded(body)
