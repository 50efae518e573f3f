"""Shared fixtures: an isolated kwa home and database per test process, a real Prefect server.

Nothing here touches the user's ~/.prefect, ~/.local/share/kwa or a real cluster: every test
session gets its own directories, and the Prefect server (started through kwa's own launcher,
on 127.0.0.1 and a free port) is stopped at the end.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"

_session_home = Path(tempfile.mkdtemp(prefix="kwa-test-"))
os.environ["KWA_HOME"] = str(_session_home / "kwa")
os.environ["PREFECT_HOME"] = str(_session_home / "prefect-client")
# Always this process's own database: under pytest-xdist each worker inherits the controller's
# environment, and a database shared between workers lets one worker's reaper fail another's runs
# (it asks its own Prefect server about flow runs that live on the other's).
os.environ["KWA_DATABASE_URL"] = f"sqlite:///{_session_home / 'kwa.db'}"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
# A developer's own ~/.config/kwa/config.yaml must not change what the tests see.
os.environ["XDG_CONFIG_HOME"] = str(_session_home / "config")
# ... nor its cache (checks/schema_bundles.py keeps reduced Kubernetes schemas under $XDG_CACHE_HOME/kwa).
os.environ["XDG_CACHE_HOME"] = str(_session_home / "cache")
os.environ.pop("KWA_CONFIG", None)
os.environ.pop("PREFECT_API_URL", None)
# No cluster for tests unless a test builds one: never pick up the developer's kubeconfig.
os.environ["KUBECONFIG"] = str(_session_home / "no-kubeconfig")
os.environ.pop("KUBERNETES_SERVICE_HOST", None)


@pytest.fixture(scope="session")
def prefect_api():
    """A real ``prefect server start`` for the whole session (SQLite, loopback, free port)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from flows.server import start_local_server, stop_local_server, use_api

    info = start_local_server(port=0)
    use_api(info.url)
    # Flows run here the way `kwa run` runs them: without heartbeats (a sync flow otherwise waits
    # up to a second joining its heartbeat thread; Prefect's own test suite does the same).
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield info.url
    try:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all(timeout=10)
        EventsWorker.drain_all(timeout=10)
    except Exception:
        pass
    stop_local_server()
    use_api(None)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is not available next to this checkout")
    return CORPUS
