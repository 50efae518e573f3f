"""The Prefect UI a run can be looked at in: its address, and whether it shows this run.

``kwa run`` ends by printing the link to its flow run's page (``<ui>/runs/flow-run/<id>``), but
only when that link works: a Prefect server that serves a UI (not an ephemeral API, not a server
started with the UI off) whose UI talks to the API this run used. The last part is checked, not
assumed: a UI asks ``GET /ui-settings`` where its API is, and a server that answers with another
server's URL (Prefect answers from its settings, whatever port it listens on) would show somebody
else's runs and a 404 for ours. One request of one second at most, once per run.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

PROBE_TIMEOUT = 1.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@dataclass(frozen=True)
class UiCheck:
    """What a server's ``/ui-settings`` said: whether it serves a UI, and the API URL that UI calls."""

    serves_ui: bool
    api_url: str | None = None
    problem: str | None = None  # why the UI cannot show this run (None: it can, or we cannot tell)


def ui_base_url(api_url: str | None = None) -> str | None:
    """The UI's address for an API URL (Prefect's own rule: ``PREFECT_UI_URL``, else the API URL
    without its ``/api``; Prefect Cloud's API maps to its app URL). None without an API."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if api_url is None:
        url = settings.ui_url
        return str(url).rstrip("/") if url else None
    if settings.ui_url and settings.api.url and str(settings.api.url).rstrip("/") == api_url.rstrip("/"):
        return str(settings.ui_url).rstrip("/")
    base = api_url.rstrip("/")
    return base[: -len("/api")] if base.endswith("/api") else None


def flow_run_url(ui_base: str, flow_run_id: str) -> str:
    return f"{ui_base.rstrip('/')}/runs/flow-run/{flow_run_id}"


def same_api(a: str | None, b: str | None) -> bool:
    """Whether two API URLs name the same server (loopback spellings and a trailing slash aside)."""
    if not a or not b:
        return False
    if a.startswith("/"):  # a UI behind a proxy calls its API relative to its own origin
        return urlsplit(b).path.rstrip("/") == a.rstrip("/")
    pa, pb = urlsplit(a), urlsplit(b)
    return (
        pa.scheme == pb.scheme
        and _host(pa) == _host(pb)
        and _port(pa) == _port(pb)
        and pa.path.rstrip("/") == pb.path.rstrip("/")
    )


def _host(url: SplitResult) -> str:
    name = (url.hostname or "").lower()
    return "loopback" if name in _LOOPBACK else name


def _port(url: SplitResult) -> int | None:
    try:
        return url.port or {"http": 80, "https": 443}.get(url.scheme)
    except ValueError:  # not a number
        return None


def check_ui(ui_base: str, api_url: str, timeout: float = PROBE_TIMEOUT) -> UiCheck:
    """Ask the server behind ``ui_base`` whether it serves a UI and which API that UI calls."""
    try:
        with urllib.request.urlopen(f"{ui_base.rstrip('/')}/ui-settings", timeout=timeout) as resp:
            body = json.loads(resp.read(65536) or b"{}")
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):  # a UI behind authentication: it exists, its settings are private
            return UiCheck(True)
        return UiCheck(False)  # 404: an API without a UI (PREFECT_SERVER_UI_ENABLED=false)
    except (OSError, ValueError):
        return UiCheck(False)
    ui_api = body.get("api_url") if isinstance(body, dict) else None
    if not isinstance(ui_api, str) or not ui_api:
        return UiCheck(True)
    if same_api(ui_api, api_url):
        return UiCheck(True, ui_api)
    return UiCheck(
        True,
        ui_api,
        f"the Prefect UI at {ui_base} calls the API at {ui_api}, not {api_url} where this run is recorded",
    )


def run_page(flow_run_id: str | None, warn: Callable[[str], None] | None = None) -> str | None:
    """The link to a flow run's page in the Prefect UI, when a UI that shows it is there (else None;
    ``warn`` hears why a UI that exists cannot show it, and what to do)."""
    if not flow_run_id:
        return None
    try:
        from flows.prefect_link import LINK, api_url

        api = api_url()
        if not api or LINK.down:
            return None
        base = ui_base_url(api)
    except Exception:  # Prefect's settings unreadable: no link, the run itself is unaffected
        return None
    if not base:
        return None
    if urlsplit(api).hostname in ("api.prefect.cloud",):  # Prefect Cloud: its app always has the UI
        return flow_run_url(base, flow_run_id)
    verdict = check_ui(base, api)
    if not verdict.serves_ui:
        return None
    if verdict.problem:
        if warn is not None:
            warn(f"warning: {verdict.problem}; {_remedy(api)}")
        return None
    return flow_run_url(base, flow_run_id)


def _remedy(api: str) -> str:
    """What fixes a UI that calls another API: kwa's own server is restarted, anyone else's is
    configured (PREFECT_UI_API_URL)."""
    from flows.server import read_state

    state = read_state() or {}
    if state.get("url") and same_api(str(state["url"]), api):
        return "restart kwa's Prefect server (kwa server stop && kwa server start) so that its UI shows kwa's runs"
    return f"set PREFECT_UI_API_URL={api} for that server so that its UI shows these runs"
