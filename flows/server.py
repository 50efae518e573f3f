"""Make sure a Prefect API is there before any flow runs.

Without ``PREFECT_API_URL`` every Prefect process starts an ephemeral server: 5-8 s per command
and "database is locked" noise. kwa instead starts one local Prefect server on first use (in the
background, loopback only, its own ``PREFECT_HOME`` under kwa's data directory) and reuses it for
every later run, so the Prefect UI shows the history of runs too. An explicit ``PREFECT_API_URL``
(environment or active Prefect profile) always wins; ``KWA_PREFECT=ephemeral`` opts back into
Prefect's own ephemeral mode.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PORT = 4200
START_TIMEOUT = 120.0
# Every name Prefect reads the UI's API URL from (pydantic aliases of server.ui.api_url).
_UI_URL_ALIASES = ("PREFECT_SERVER_UI_API_URL", "PREFECT_UI_API_URL")


class PrefectServerError(RuntimeError):
    pass


@dataclass
class ApiInfo:
    url: str | None
    how: str  # "environment", "profile", "kwa-local", "started", "ephemeral"
    log: str | None = None


def kwa_home() -> Path:
    base = os.environ.get("KWA_HOME")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "kwa"


def server_dir() -> Path:
    return kwa_home() / "prefect-server"


def _state_file() -> Path:
    return server_dir() / "server.json"


def healthy(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` (a Prefect API) answers its health check."""
    return health_status(url, timeout) == 200


def health_status(url: str, timeout: float = 1.0) -> int | None:
    """The HTTP status ``url``'s ``/health`` answers with; None when nothing answers there."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def version_of(url: str, timeout: float = 2.0) -> tuple[int | None, str | None]:
    """``(HTTP status, Prefect version)`` of ``url``'s ``/admin/version``: a Prefect API answers 200
    with its version as a JSON string; anything else there is not one."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/admin/version", timeout=timeout) as resp:
            status, body = int(resp.status), resp.read(256)
    except urllib.error.HTTPError as exc:
        return int(exc.code), None
    except (OSError, ValueError):
        return None, None
    try:
        version = json.loads(body)
    except ValueError:
        return status, None
    return status, version if isinstance(version, str) and version[:1].isdigit() else None


def _profile_api_url() -> str | None:
    try:
        from prefect.settings import get_current_settings

        url = get_current_settings().api.url
    except Exception:
        return None
    return str(url) if url else None


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise PrefectServerError("no free port on 127.0.0.1")


def use_api(url: str | None) -> None:
    """Point this process's Prefect client at ``url`` (None: back to Prefect's own resolution).

    Prefect snapshots its settings when first imported, so an environment change after that
    needs the global settings context rebuilt; it is global, so every thread sees it.
    """
    if url:
        os.environ["PREFECT_API_URL"] = url
    else:
        os.environ.pop("PREFECT_API_URL", None)
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def _ours(url: str, timeout: float = 5.0) -> bool:
    """Whether the server answering at ``url`` is the one kwa keeps in this home.

    A health check only says that *a* Prefect answers: when kwa's own server has died (or lost a
    race for its port) another user's Prefect or kwa can hold the port, and its runs, UI and
    database would silently become this user's. Prefect reports its home directory in
    ``GET /api/admin/settings``; kwa's server runs with ``PREFECT_HOME`` in kwa's home.
    """
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/admin/settings", timeout=timeout) as resp:
            home = json.loads(resp.read()).get("home")
    except (OSError, ValueError, AttributeError):
        return False
    return bool(home) and Path(str(home)).resolve() == (server_dir() / "home").resolve()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # a server this process started and that died: reap it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (dead, not yet reaped by its parent) answers kill(0) but serves nothing
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _answering(state: dict, patience: float = 30.0) -> bool:
    """Whether the recorded server serves requests; a live but busy server is waited for.

    Starting a second server because the first was slow to answer one health check would leave
    two servers and two histories, so a server whose process lives gets ``patience`` seconds.
    """
    if healthy(state["url"]):
        return _ours(state["url"])  # someone else on the recorded port: start kwa's own again
    if not _alive(int(state.get("pid") or -1)):
        return False
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if healthy(state["url"], timeout=2.0):
            return _ours(state["url"])
        if not _alive(int(state["pid"])):
            return False
        time.sleep(0.5)
    raise PrefectServerError(
        f"the local Prefect server (pid {state['pid']}) is running but not answering at {state['url']}; "
        f"see {state.get('log')} or restart it with: kwa server stop && kwa server start"
    )


def read_state() -> dict | None:
    try:
        return json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None


def ensure_api(start: bool = True) -> ApiInfo:
    """Point this process at a Prefect API, starting kwa's local server when there is none."""
    if os.environ.get("PREFECT_API_URL"):
        return ApiInfo(os.environ["PREFECT_API_URL"], "environment")
    if os.environ.get("KWA_PREFECT", "").lower() == "ephemeral":
        return ApiInfo(None, "ephemeral")
    profile_url = _profile_api_url()
    if profile_url:
        return ApiInfo(profile_url, "profile")
    state = read_state()
    if state and _answering(state):
        use_api(state["url"])
        return ApiInfo(state["url"], "kwa-local", state.get("log"))
    if not start:
        raise PrefectServerError("no Prefect server is running (start one with: kwa server start)")
    info = start_local_server()
    use_api(info.url)
    return info


def start_local_server(port: int | None = None, timeout: float = START_TIMEOUT) -> ApiInfo:
    """Start the local server in the background (or find the one another process just started)."""
    try:
        return _start_local_server(port, timeout)
    except OSError as exc:  # an unwritable or full data directory, a log file that cannot be opened
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise PrefectServerError(f"{exc.strerror or exc}{where}") from None


def _start_local_server(port: int | None, timeout: float) -> ApiInfo:
    directory = server_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs starting at once share one server
        state = read_state()
        if state and _answering(state):
            return ApiInfo(state["url"], "kwa-local", state.get("log"))
        preferred = port if port is not None else _preferred_port()
        log_path = directory / "server.log"
        try:
            return _launch(directory, _free_port(preferred), log_path, timeout)
        except _PortTaken:
            # Another server bound the port between the check and our server's bind (two first
            # runs at once): take any free port instead.
            return _launch(directory, _free_port(0), log_path, timeout)


def _preferred_port() -> int:
    """``KWA_PREFECT_PORT`` (0: any free port), else 4200; anything else stops the command, named."""
    raw = os.environ.get("KWA_PREFECT_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if raw.isascii() and raw.isdigit() and int(raw) <= 65535:
        return int(raw)
    raise PrefectServerError(f"KWA_PREFECT_PORT must be a TCP port number from 0 to 65535 (got {raw[:20]!r})")


class _PortTaken(Exception):
    pass


def _launch(directory: Path, chosen: int, log_path: Path, timeout: float) -> ApiInfo:
    """Start kwa's server on ``chosen`` and wait until it (not whoever else holds the port) answers."""
    url = f"http://127.0.0.1:{chosen}/api"
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    for name in _UI_URL_ALIASES:  # a URL meant for another server must not reach this one's UI
        env.pop(name, None)
    env.update(
        {
            "PREFECT_HOME": str(directory / "home"),
            # The UI asks `GET /ui-settings` where its API is; Prefect answers from its settings
            # (server.api.host/port, default 4200), not from the --port the server was started
            # with. On another port the UI would call whatever listens on 4200 (another user's
            # Prefect: their runs, and a 404 for ours), so the server is told its own URL.
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(chosen),
            "PREFECT_SERVER_UI_API_URL": url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            # Keep the server's own DB small over time (flow runs are kept 90 days).
            "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": env.get(
                "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED", "events,flow_runs"
            ),
        }
    )
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flows.prefect_server", "--host", "127.0.0.1", "--port", str(chosen)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # survives the CLI process; stopped by `kwa server stop`
            cwd=str(Path(__file__).resolve().parent.parent),
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if healthy(url) and not _ours(url):
                raise _PortTaken(chosen)
            cause = _last_error(log_path)
            raise PrefectServerError(
                f"Prefect server exited with code {proc.returncode}{f' ({cause})' if cause else ''}; see {log_path}"
            )
        if healthy(url, timeout=0.5) and _ours(url):
            break
        time.sleep(0.2)
    else:
        proc.kill()
        raise PrefectServerError(f"Prefect server did not become healthy within {timeout:.0f}s; see {log_path}")
    state = {"pid": proc.pid, "port": chosen, "url": url, "log": str(log_path), "started": time.time()}
    _state_file().write_text(json.dumps(state))
    return ApiInfo(url, "started", str(log_path))


def _last_error(log_path: Path) -> str | None:
    """The last exception line of the server's log ("OperationalError: unable to open database file")."""
    import re

    try:
        with open(log_path, "rb") as f:
            f.seek(max(0, os.path.getsize(log_path) - 65536))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception): ", line):
            return re.sub(r"://[^/\s:@]+:[^@\s]+@", "://***@", line.strip())[:300]  # no password from a DB URL
    return None


def stop_local_server(timeout: float = 3.0) -> bool:
    state = read_state()
    if not state:
        return False
    pid = int(state["pid"])
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        _state_file().unlink()
    return True
