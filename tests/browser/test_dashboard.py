"""The findings dashboard in a real browser: ``python -m kwa serve`` as a process on a loopback
port, over a database with several runs on three clusters (tests/browser/dashboard_db.py), and
Debian's chromium driven by Playwright.

Every assertion is on what the page shows, compared with what the JSON API answers for the same
thing (scores through storage.grades.score_text, the CLI's own rule), so the pages are checked to
show the API's values rather than numbers of their own. Screenshots go to the test's tmp dir; with
``KWA_UPDATE_SCREENSHOTS=1`` they are also copied to docs/images/ (the README and
docs/dashboard.md show them).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.grades import number_text, percent_text, score_text
from tests.browser.dashboard_db import (
    EDGE,
    EDGE_RUNS,
    EXEMPTION,
    FLOW_RUN,
    IMG_NAME,
    SCRIPT_NAME,
    build_dashboard_database,
)
from tests.cli.builder import RUN_2

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.prefect,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
    ),
]
ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
LAPTOP = {"width": 1366, "height": 768}
WAIT_MS = 30_000
LATEST = EDGE_RUNS[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """One ``python -m kwa serve`` process; its combined output is kept for the log assertions."""

    def __init__(self, db_url: str, prefect_api: str, log: Path, *flags: str) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {**os.environ, "KWA_DATABASE_URL": db_url, "PREFECT_API_URL": prefect_api}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kwa", "serve", "--port", str(self.port), *flags],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert self.proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

    def api(self, path: str, token: str | None = None, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = httpx.get(f"{self.base}/api/v1/{path}", params=params, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(20)


@pytest.fixture(scope="module")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = build_dashboard_database(tmp_path_factory.mktemp("dashboard") / "kwa.db")
    yield str(db.url.render_as_string(hide_password=False))
    db.dispose()


@pytest.fixture(scope="module")
def open_service(db_url: str, prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = Service(db_url, prefect_api, tmp_path_factory.mktemp("serve") / "serve.log", "--no-auth")
    yield service
    service.stop()


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport=LAPTOP)
    page.set_default_timeout(WAIT_MS)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


class Shots:
    def __init__(self, where: Path) -> None:
        self.where = where
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> None:
        path = self.where / f"dashboard-{name}.png"
        page.screenshot(path=str(path))  # what a 1366x768 laptop screen shows
        self.taken.append(path)

    def publish(self) -> None:
        if os.environ.get("KWA_UPDATE_SCREENSHOTS") == "1":
            IMAGES.mkdir(parents=True, exist_ok=True)
            for path in self.taken:
                shutil.copy(path, IMAGES / path.name)


def _row(page: Any, table: str, text: str) -> Any:
    row = page.locator(f"table#{table} tbody tr").filter(has_text=text).first
    row.wait_for(state="visible")
    return row


def _fits_the_laptop_screen(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"{page.url} scrolls sideways on a 1366 px screen ({width} px)"


def _nothing_ran(page: Any) -> None:
    """The hostile names were shown as text: no script of theirs ran, no element of theirs exists."""
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img").count() == 0


def _shown_total(page: Any) -> int:
    return int(page.locator("#findings-total b").inner_text())


def test_fleet_cluster_run_check_by_their_links(open_service: Service, chromium: Any, tmp_path: Path) -> None:
    errors: list[str] = []
    page = _page(chromium, errors)
    shots = Shots(tmp_path)
    service = open_service

    # -- fleet: every cluster, its latest finished score and coverage as the CLI writes them
    page.goto(f"{service.base}/")
    clusters = {c["cluster_id"]: c for c in service.api("clusters")["items"]}
    assert set(clusters) == {"prod-eu", "staging", EDGE}
    for cluster_id, entry in clusters.items():
        overall = entry["latest_finished"]["scores"]["overall"]
        row = _row(page, "fleet", cluster_id)
        cells = row.locator("td").all_inner_texts()
        assert cells[1] == score_text(overall) and cells[2] == percent_text(overall["coverage"]), cells
        assert entry["state"] in cells[5]
        assert cells[3] == str(entry["latest_finished"]["counts"]["failing"])
    assert _row(page, "fleet", "prod-eu").locator("td").nth(1).inner_text() == "55 (E)"
    trend = _row(page, "fleet", EDGE).locator("svg.trend")
    assert trend.get_attribute("aria-label") == f"overall score of {EDGE} over {len(EDGE_RUNS)} runs"
    assert page.locator("#token-form").count() == 0  # --no-auth: no prompt
    _fits_the_laptop_screen(page)
    shots(page, "fleet")

    # -- cluster: scores over time, findings by severity, new and fixed since the previous run
    _row(page, "fleet", EDGE).get_by_role("link", name=EDGE, exact=True).click()
    page.get_by_role("heading", name="Scores over time").wait_for()
    assert "view=cluster" in page.url
    history = service.api(f"clusters/{EDGE}/history")["items"]
    assert page.locator("table#history tbody tr").count() == len(history) == len(EDGE_RUNS)
    assert page.locator("svg.chart circle").count() >= len(EDGE_RUNS)
    for severity in ("critical", "high", "medium", "low", "info"):
        total = service.api(
            f"runs/{LATEST}/results", severity=severity, status=["failing", "warning", "error", "timeout"], limit=1
        )["pagination"]["total"]
        assert _row(page, "by-severity", severity).locator("td").nth(1).inner_text() == str(total)
    diff = service.api(f"runs/{EDGE_RUNS[-2]}/diff/{LATEST}")
    assert page.locator("#new-count").inner_text() == f"{diff['counts']['new_failures']} new" == "1 new"
    assert page.locator("#fixed-count").inner_text() == f"{diff['counts']['fixed']} fixed" == "1 fixed"
    page.get_by_text("StatefulSet/edge/cache").wait_for()  # the new failure
    page.get_by_text("Deployment/edge/gateway [proxy]").first.wait_for()  # the fixed one
    _fits_the_laptop_screen(page)
    shots(page, "cluster")

    # -- run: phases, pillars, findings with a known failing object, the exemption audit, Prefect
    _row(page, "history", "completed").get_by_role("link").first.click()
    page.get_by_role("heading", name=LATEST).wait_for()
    detail = service.api(f"runs/{LATEST}")
    assert page.locator("#run-score").inner_text() == score_text(detail["scores"]["overall"]) == "81.2 (B)"
    for pillar, entry in detail["scores"]["pillars"].items():
        cells = _row(page, "pillars", pillar).locator("td").all_inner_texts()
        assert cells[1] == score_text(entry) and cells[2] == percent_text(entry["coverage"])
        assert cells[3] == str(detail["pillars"][pillar]["failing"])
    phases = page.locator("#phases li").all_inner_texts()
    assert [p.split("\n")[0] for p in phases] == [p["phase"] for p in detail["phases"]]
    everything = service.api(f"runs/{LATEST}/results", limit=1)["pagination"]["total"]
    assert _shown_total(page) == everything > 100 == page.locator("table#findings tbody tr").count()
    hostile = _row(page, "findings", SCRIPT_NAME)  # the known failing object, its name shown as text
    assert "failing" in hostile.inner_text() and "SEC-002" in hostile.inner_text()
    # a right-to-left override and an escape sequence in its message are shown, not obeyed
    assert "\\u202eevil\\x1b[2J" in hostile.inner_text() and "\u202e" not in hostile.inner_text()
    _row(page, "findings", IMG_NAME)
    _nothing_ran(page)
    assert "Remediate SEC-002." in hostile.inner_text()  # remediation shown with the finding
    audit = _row(page, "exemptions", EXEMPTION["name"]).inner_text()  # markup in a name stays text
    assert EXEMPTION["status"] in audit and EXEMPTION["message"] in audit
    if detail["prefect"]["url"]:
        assert page.locator("#prefect").get_attribute("href") == detail["prefect"]["url"]
        assert detail["prefect"]["url"].endswith(f"/runs/flow-run/{FLOW_RUN}")
    else:
        page.get_by_text(f"flow run {FLOW_RUN} (no Prefect UI found)").wait_for()
    _fits_the_laptop_screen(page)
    shots(page, "run")
    page.locator("#more").click()  # the next page by the API's cursor: every result, once
    page.locator("#more").wait_for(state="detached")
    shown = page.locator("table#findings tbody tr").all_inner_texts()
    assert len(shown) == len(set(shown)) == everything  # no row twice across the two pages
    assert any("unused-119" in row for row in shown)

    # -- a filter: the table changes, the URL carries it, and the link alone reproduces the view
    page.locator("#filters select[name=status]").select_option("failing")
    page.locator("#filters select[name=pillar]").select_option("reliability")
    page.locator("#filters button[type=submit]").click()
    expected = service.api(f"runs/{LATEST}/results", status="failing", pillar="reliability", limit=100)
    page.wait_for_function(f"document.querySelector('#findings-total b').textContent === '{len(expected['items'])}'")
    assert "status=failing" in page.url and "pillar=reliability" in page.url
    rows = page.locator("table#findings tbody tr")
    assert rows.count() == len(expected["items"]) == 2 < everything
    assert all("failing" in t and "REL-001" in t for t in rows.all_inner_texts())
    shared = page.url
    page.goto(shared)
    _row(page, "findings", IMG_NAME)
    assert page.locator("table#findings tbody tr").count() == 2
    assert page.locator("#filters select[name=status]").input_value() == "failing"
    page.goto(f"{service.base}/?view=run&id={LATEST}&namespace=edge&check=rel-001")  # any case for a check id
    _row(page, "findings", "StatefulSet/edge/cache")
    by_hand = service.api(f"runs/{LATEST}/results", namespace="edge", check="REL-001")["pagination"]["total"]
    assert page.locator("table#findings tbody tr").count() == by_hand == 2 == _shown_total(page)
    page.emulate_media(media="print")  # the print stylesheet drops the controls, keeps the table
    assert page.locator("#filters").is_hidden() and page.locator("table#findings").is_visible()
    page.emulate_media(media="screen")

    # -- check: its rule and remediation, the objects it flags across clusters
    page.goto(f"{service.base}/?view=run&id={LATEST}")
    _row(page, "findings", SCRIPT_NAME).get_by_role("link", name="SEC-002").click()
    page.locator("#remediation").wait_for()
    body = service.api("checks/SEC-002")
    assert page.locator("#rule").inner_text() == body["check"]["description"]
    assert page.locator("#remediation").inner_text() == body["check"]["remediation"]
    for entry in body["clusters"]:
        row = _row(page, "affected", entry["cluster_id"])
        assert row.locator("td").nth(2).inner_text() == str(entry["affected"])
    assert SCRIPT_NAME in _row(page, "affected", EDGE).inner_text()
    assert "nginx" not in _row(page, "affected", EDGE).inner_text()
    _nothing_ran(page)
    _fits_the_laptop_screen(page)
    shots(page, "check")
    _row(page, "affected", "prod-eu").get_by_role("link", name="prod-eu").click()
    page.get_by_role("heading", name="prod-eu").wait_for()
    assert _row(page, "history", "partial").locator("td").nth(2).inner_text() == "55 (E)"

    assert not errors, errors
    shots.publish()


def test_scores_match_the_cli_number_rule(open_service: Service, chromium: Any) -> None:
    """The page formats numbers and scores by the CLI's rule (storage.grades: cut toward zero, one
    decimal; grade and cap from the API): checked on values where rounding and cutting differ."""
    page = _page(chromium, [])
    page.goto(f"{open_service.base}/")
    _row(page, "fleet", EDGE)
    for value in (79.96, 80.0, 0.04, -12.15, 99.999, 55.0, 100, None):
        assert page.evaluate("v => import('/ui/core.js').then(m => m.numberText(v))", value) == number_text(value)
    entries = [
        {"score": 91.46, "grade": "D", "grade_capped": True, "incomplete": False},
        {"score": 61.55, "grade": "D", "grade_capped": False, "incomplete": False},
        {"score": 12.0, "grade": None, "incomplete": True},
        {"score": None, "grade": None},
        {"score": 70.0},
    ]
    for entry in entries:
        shown = page.evaluate("e => import('/ui/core.js').then(m => m.scoreText(e))", entry)
        assert shown == score_text(entry), entry


def test_an_unknown_run_is_a_message_not_a_blank_page(open_service: Service, chromium: Any) -> None:
    page = _page(chromium, [])
    page.goto(f"{open_service.base}/?view=run&id=run_20990101_000000_ffffff")
    failure = page.locator("#failure")
    failure.wait_for()
    assert failure.inner_text().startswith("404")
    assert "run_20990101_000000_ffffff" in failure.inner_text()


def test_the_token_is_asked_once_kept_for_the_tab_and_never_in_a_url_or_log(
    db_url: str, prefect_api: str, chromium: Any, tmp_path: Path
) -> None:
    service = Service(db_url, prefect_api, tmp_path / "serve.log")
    try:
        made = subprocess.run(
            [sys.executable, "-m", "kwa", "tokens", "create", "--scope", "read", "--name", "dashboard"],
            cwd=ROOT, env=service.env, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        token = made.stdout.rstrip("\n").splitlines()[-1]
        secret = token.split("_", 2)[2]
        errors: list[str] = []
        page = _page(chromium, errors)
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(f"{service.base}/")
        page.locator("#token-form").wait_for()
        assert page.locator("table#fleet").count() == 0

        page.locator("#token").fill(token[:-4] + "AAAA")  # right shape, wrong secret
        page.locator("#token-form button").click()
        page.locator("#token-error").wait_for()
        assert "refused" in page.locator("#token-error").inner_text()
        assert page.evaluate("sessionStorage.getItem('kwa-token')") is None

        page.locator("#token").fill(token)
        page.locator("#token-form button").click()
        _row(page, "fleet", EDGE)
        assert page.evaluate("sessionStorage.getItem('kwa-token')") == token
        # a new page load in the same tab: no prompt again
        _row(page, "fleet", "prod-eu").get_by_role("link", name="prod-eu", exact=True).click()
        page.get_by_role("heading", name="Scores over time").wait_for()
        assert page.locator("#token-form").count() == 0
        page.goto(f"{service.base}/?view=run&id={RUN_2}")
        _row(page, "findings", "worker")

        other = _page(chromium, [])  # another browser context: it has to ask again
        other.goto(f"{service.base}/")
        other.locator("#token-form").wait_for()

        page.locator("#forget").click()  # forgetting the token: asked again, nothing kept
        page.locator("#token-form").wait_for()
        assert page.evaluate("sessionStorage.getItem('kwa-token')") is None
        assert page.locator("#forget").is_hidden()
    finally:
        service.stop()
    assert not [u for u in requests if secret in u], "the token went into a URL"
    assert not [e for e in errors if "401" not in e], errors  # the refused token's 401 is expected
    log = service.log.read_text()
    assert "GET /api/v1/clusters 200" in log and "GET /api/v1/clusters 401" in log
    assert secret not in log


def test_run_page_framework_view_shows_the_apis_controls(open_service: Service, chromium: Any, tmp_path: Path) -> None:
    """The run page's framework selector: choosing NSA/CISA shows each control with the status,
    score and coverage the framework endpoint answers, keeps the choice in the URL, and a shared
    link with an unknown framework says so without losing the rest of the page."""
    errors: list[str] = []
    page = _page(chromium, errors)
    shots = Shots(tmp_path)
    service = open_service
    page.goto(f"{service.base}/?view=run&id={LATEST}")
    page.locator("#framework").wait_for()
    names = {f["name"] for f in service.api("frameworks")["items"]}
    options = set(page.locator("#framework option").evaluate_all("os => os.map(o => o.value)")) - {""}
    assert options == names
    page.select_option("#framework", "nsa")
    page.locator("table#controls").wait_for()
    assert "framework=nsa" in page.url
    report = service.api(f"runs/{LATEST}/frameworks/nsa")
    assert page.locator("#framework-score").inner_text() == number_text(report["score"])
    assert page.locator("#framework-coverage").inner_text() == percent_text(report["coverage"])
    assert page.locator("table#controls tbody tr").count() == len(report["controls"])
    for control in report["controls"]:
        row = page.locator(f'table#controls tbody tr[data-control="{control["id"]}"]')
        assert row.locator("td").nth(2).inner_text() == control["status"], control["id"]
        assert row.locator("td").first.inner_text().endswith("~") == control["partial"], control["id"]
    statuses = {c["id"]: c["status"] for c in report["controls"]}
    assert statuses["NSA-POD-6"] == "failed" and statuses["NSA-NET-4"] == "not-assessed"
    _fits_the_laptop_screen(page)
    _nothing_ran(page)
    page.locator("#framework-form").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('framework-form').scrollIntoView()")
    shots(page, "framework")
    page.goto(f"{service.base}/?view=run&id={LATEST}&framework=nist")
    page.locator("#framework-error").wait_for()
    assert "unknown framework 'nist'" in page.locator("#framework-error").inner_text()
    assert page.locator("table#findings").count() == 1
    assert not [e for e in errors if "404" not in e], errors
    shots.publish()
