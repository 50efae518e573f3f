"""What a command needs before it does its work: kwa's database, a Prefect API, quiet Prefect logs.

Each helper imports its layer when called, so ``kwa checks list`` and ``kwa --help`` never load
Prefect or SQLAlchemy.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from kwa.errors import say_error
from kwa.exit_codes import ExitCode

# Seconds a configured Prefect API gets to answer before a run is refused. A busy server (twenty
# runs starting at once on two cores) took more than 3; a dead one is still said within seconds.
PREFECT_PATIENCE = 10.0


class PrefectMissing(Exception):
    """No Prefect API could be found or started (what was tried is already on stderr): exit 4."""


def quiet_prefect(verbose: bool) -> None:
    """Before anything imports Prefect: its logging is configured once, at import, from these settings."""
    from flows.prefect_link import bound_requests

    bound_requests()
    if not verbose:
        # Prefect's own console lines (per-task states, a failing check's traceback) drown the
        # result table; they still reach the Prefect UI and `--verbose` shows them here.
        for handler in ("CONSOLE", "CONSOLE_FLOW_RUNS", "CONSOLE_TASK_RUNS"):
            os.environ.setdefault(f"PREFECT_LOGGING_HANDLERS_{handler}_LEVEL", "CRITICAL")


def connect_prefect() -> int | None:
    """Make sure a Prefect API is there; returns an exit code when it cannot be.

    A configured API (``PREFECT_API_URL`` or a Prefect profile) that does not answer its health
    check within PREFECT_PATIENCE seconds refuses the run at once, before anything is stored,
    rather than after minutes of client retries.
    """
    from flows.server import PrefectServerError, ensure_api, health_status, version_of

    try:
        info = ensure_api()
    except PrefectServerError as exc:
        print(f"error: cannot start a local Prefect server: {exc}", file=sys.stderr)
        return ExitCode.FAILED
    if info.how in ("environment", "profile") and info.url:
        where = "PREFECT_API_URL" if info.how == "environment" else "the active Prefect profile"
        api, health = f"the Prefect API at {info.url} (from {where})", f"{info.url.rstrip('/')}/health"
        not_prefect = "that is not a Prefect API (its URL ends in /api, such as http://127.0.0.1:4200/api)"
        deadline = time.monotonic() + PREFECT_PATIENCE
        while (status := health_status(info.url, timeout=2.0)) != 200:
            if time.monotonic() >= deadline:
                if status is None:
                    say_error(
                        f"{api} is not answering; no run was started. Start that Prefect server, or unset "
                        "PREFECT_API_URL to let kwa start its own local one."
                    )
                else:  # something answers there, but not as a Prefect API (often: the URL lacks /api)
                    say_error(f"{api} answers HTTP {status} to {health}: {not_prefect}; no run was started.")
                return ExitCode.FAILED
            time.sleep(0.5)
        # Any web server may answer 200 to /health; a Prefect API also names its version (a busy
        # one may take its time: asked again until the same deadline while nothing answers).
        status, version = version_of(info.url)
        while status is None and time.monotonic() < deadline:
            time.sleep(0.5)
            status, version = version_of(info.url)
        if version is None:
            answer = "no answer" if status is None else f"HTTP {status} without a version"
            say_error(
                f"{api} answers {health} but gives {answer} at /admin/version, as a Prefect API would: "
                f"{not_prefect}; no run was started."
            )
            return ExitCode.FAILED
    if info.how == "started" and info.url:
        print(
            f"Started a local Prefect server at {info.url.removesuffix('/api')} (UI; reused by later runs).",
            file=sys.stderr,
        )
    return None


def open_database() -> Any:
    """kwa's database, without creating one where there is none (a query never needs an empty file)."""
    from storage.db import Database, default_data_dir
    from storage.queries import NoRuns

    url = os.environ.get("KWA_DATABASE_URL", "").strip()
    if not url:
        path = default_data_dir() / "kwa.db"
        if not path.exists():
            raise NoRuns()
        return Database(f"sqlite:///{path}")
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.exists():
            raise NoRuns()
    return Database(url)
