"""``kwa server start|stop|status``: the local Prefect server kwa starts on first use."""

from __future__ import annotations

import typer

from kwa.commands.common import CONTEXT, GROUP_SETTINGS
from kwa.errors import guarded, say_error
from kwa.exit_codes import ExitCode

app = typer.Typer(help="The local Prefect server (and UI) kwa starts on first use.", **GROUP_SETTINGS)


@app.command(context_settings=CONTEXT)
def start() -> int:
    """Start it (or find it running); print its URL and the PREFECT_API_URL to export."""

    def body() -> int:
        from flows.server import PrefectServerError, start_local_server

        try:
            info = start_local_server()
        except PrefectServerError as exc:
            say_error(exc)
            return ExitCode.FAILED  # as when `kwa run` cannot start it: the Prefect API is unavailable
        print(f"Prefect server at {info.url} (log: {info.log})")
        print(f"export PREFECT_API_URL={info.url}")
        return ExitCode.OK

    return guarded(body)


@app.command(context_settings=CONTEXT)
def stop() -> int:
    """Stop the server kwa started (a server kwa did not start is left alone)."""

    def body() -> int:
        from flows.server import stop_local_server

        print("stopped" if stop_local_server() else "no kwa-managed Prefect server is running")
        return ExitCode.OK

    return guarded(body)


@app.command(context_settings=CONTEXT)
def status() -> int:
    """Whether kwa's server is running and healthy (exit 0), or not (exit 4: no Prefect API)."""

    def body() -> int:
        from flows.server import healthy, read_state

        state = read_state()
        if state and healthy(state["url"]):
            print(f"running: {state['url']} (pid {state['pid']}, log {state['log']})")
            return ExitCode.OK
        print("not running")
        return ExitCode.FAILED

    return guarded(body)
