"""The Prefect UI, in a real browser: a user who opens only the UI can tell a run's outcome, which
pillars and checks found problems, and reach the findings in two clicks.

Debian's chromium (``/usr/bin/chromium``, headless, a fresh profile) driven by Playwright opens the
link ``kwa run`` prints, for a run with two critical failures and a check that timed out (kwa state
``partial``) and for a run that failed before its checks (context not found). Every assertion is
on the text the page shows; the UI is a single-page app, so the test waits for text, never for load
events. Screenshots go to the test's tmp dir; with ``KWA_UPDATE_SCREENSHOTS=1`` they are also copied
to docs/images/ (docs/prefect-ui.md shows them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import ROOT, Kwa, assert_absent, assert_no_traceback
from tests.faults.prefect_view import PLANTED, SLOW_CHECK_CONFIG, TWO_CRITICALS, flow_run_view

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.prefect,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium"
    ),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
WAIT_MS = 60_000  # a loaded 2-core machine renders the SPA slowly; text appears within seconds normally
LINK = re.compile(r"Prefect UI: (\S+/runs/flow-run/[0-9a-f-]{36})")
CLUSTER = "shop-manifests"
IMAGES = ROOT / "docs" / "images"


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            context.close()


class Shots:
    """Screenshots under the test's tmp dir, copied to docs/images/ when asked to."""

    def __init__(self, where: Path) -> None:
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    def __call__(self, page: Any, name: str) -> None:
        path = self.where / f"{name}.png"
        page.screenshot(path=str(path))
        self.taken.append(path)

    def publish(self) -> None:
        if os.environ.get("KWA_UPDATE_SCREENSHOTS") == "1":
            IMAGES.mkdir(parents=True, exist_ok=True)
            for path in self.taken:
                shutil.copy(path, IMAGES / path.name)


def _tab(page: Any, name: str) -> None:
    page.get_by_role("tablist").first.get_by_text(name, exact=True).click()


def _see(page: Any, text: str | re.Pattern[str], exact: bool = False) -> Any:
    """Wait until ``text`` is visible on the page (the SPA fills it in after its API calls)."""
    found = page.get_by_text(text, exact=exact).first
    found.wait_for(state="visible")
    return found


def _run(kwa: Kwa, *args: str, **env: str) -> tuple[Any, str]:
    out = kwa(*args, timeout=600, **env)
    assert_no_traceback(out.out, out.err)
    match = LINK.search(out.out)
    assert match, f"kwa run printed no Prefect UI link:\n{out.text}"
    return out, match.group(1)


def test_the_run_page_tells_outcome_pillars_checks_and_reaches_the_findings(
    kwa: Kwa, prefect_api: str, tmp_path: Path, browser: Any
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "app.yaml").write_text(TWO_CRITICALS)
    config = tmp_path / "kwa.yaml"
    config.write_text(SLOW_CHECK_CONFIG)
    slow = {"KWA_CHECK_MODULES": "tests.faults.slow_checks", "KWA_TEST_CHECK_SECONDS": "60"}
    # Every check, plus one that sleeps past its 2 s timeout: two critical failures, run partial.
    out, url = _run(kwa, "run", "--manifests", str(manifests), "--cluster-id", CLUSTER, "--config", str(config), **slow)
    assert out.code == 3, out.text
    run = out.run()
    assert run["state"] == "partial"
    failing = {r["check_id"] for r in out.results() if r["status"] == "failing"}
    assert {"SEC-001", "SEC-013"} <= failing
    # Let the server record every task run (it does so from events, seconds after they end).
    # The row as stored: check_ids is its JSON text (its length in characters waited out the timeout).
    ids = run["check_ids"]
    expected = len(json.loads(ids) if isinstance(ids, str) else ids)
    flow_run_view(prefect_api, run["prefect_flow_run_id"], tasks_expected=expected, timeout=120)
    shots = Shots(tmp_path / "screenshots")
    page = browser.new_page()

    # The run's page: its state (kwa's: Partial) and, in its log, what it found, worst first.
    page.goto(url)
    _see(page, "Partial", exact=True)
    _see(page, re.compile(r"partial: \d+ of \d+ checks failing: SEC-001 \(critical\), SEC-013 \(critical\)"))
    shots(page, "prefect-ui-run")
    _tab(page, "Details")  # the same as the state's message
    _see(page, re.compile(r"^partial: \d+ of \d+ checks failing: SEC-001 \(critical\)"))

    # Its pillars: each subflow's state says whether its checks found problems.
    _tab(page, "Subflow Runs")
    _see(page, "operational-excellence", exact=True)
    body = page.inner_text("body")
    for pillar in ("security", "reliability", "performance", "cost", "operational-excellence", "sustainability"):
        assert pillar in body
    assert "Failing" in body
    shots(page, "prefect-ui-pillars")

    # One pillar: its checks, a failing one visibly not a clean one, the timed-out one Failed.
    _see(page, "security", exact=True).click()
    _see(page, "kwa-pillar", exact=True)
    _see(page, "Failing", exact=True)  # the pillar's state, in its page's header
    # kwa's line for each check, in the pillar's log (the run's failing checks come first in it)
    _see(page, "SEC-001 Privileged or HostProcess container: 1 failing (critical), 1 passing of 2 objects; "
               "failing: Deployment shop/web (container web)")  # fmt: skip
    shots(page, "prefect-ui-pillar-log")
    _tab(page, "Details")  # the pillar's state message: how many of its checks failed, worst first
    _see(page, re.compile(r"\d+ of \d+ checks failing: SEC-001 \(critical\), SEC-013 \(critical\)"))
    _tab(page, "Task Runs")
    search = page.get_by_placeholder("Search by run name").first
    search.fill("SEC-00")  # SEC-001 … SEC-009: failing and clean checks side by side
    page.get_by_text("SEC-922", exact=True).wait_for(state="hidden")  # the list is filtered
    _see(page, "SEC-001", exact=True)
    _see(page, "SEC-004", exact=True)
    _see(page, "Failing", exact=True)
    shots(page, "prefect-ui-checks")
    search.fill("SEC-921")
    page.get_by_text("SEC-001", exact=True).wait_for(state="hidden")
    _see(page, "TimedOut", exact=True)

    # The findings, two clicks from the run's page: Artifacts, then the run's summary.
    page.goto(url)
    _see(page, "Partial", exact=True)
    _tab(page, "Artifacts")  # click 1
    _see(page, f"kwa-{CLUSTER}-summary", exact=True).click()  # click 2
    _see(page, f"kwa run {run['run_id']}")
    _see(page, "SEC-001")
    shots(page, "prefect-ui-findings")
    assert_absent([PLANTED], page.inner_text("body"))

    # A run that failed before its checks (the context does not exist) is Failed, saying why.
    from tests.sources.k8s_double import write_kubeconfig

    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"prod": "http://127.0.0.1:9"})
    failed, failed_url = _run(kwa, "run", "--kubeconfig", kubeconfig, "--context", "nope", "--check", "SEC-001")
    assert failed.code == 4, failed.text
    error = failed.runs()[-1]["error"]
    assert "nope" in error
    page.goto(failed_url)
    _see(page, "Failed", exact=True)
    _see(page, error)
    shots(page, "prefect-ui-failed")
    shots.publish()
