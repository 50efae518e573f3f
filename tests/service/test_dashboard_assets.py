"""The dashboard's serving, without a browser (tests/browser/test_dashboard.py drives the pages):
``/`` and its assets answer without a token (they hold no data) under a strict
Content-Security-Policy, the API behind them still needs one, every asset the page loads is
served from this origin, and every asset is package data (so an installed kwa has it)."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from fastapi.testclient import TestClient

from kwa.service.dashboard import ASSETS

ROOT = Path(__file__).resolve().parents[2]


def test_the_page_and_its_assets_need_no_token_the_api_does(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/v1/clusters").status_code == 401  # the data still needs a token
    script = client.get("/ui/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "content-security-policy" in script.headers
    assert client.get("/ui/nothing.js").status_code == 404
    assert client.get("/ui/../app.py").status_code == 404


def test_everything_the_page_loads_is_served_here(client: TestClient) -> None:
    """No CDN: every src/href/import in the assets is a path on this origin, and it is served."""
    referenced: set[str] = set()
    for asset in ASSETS.iterdir():
        text = asset.read_text(encoding="utf-8").replace(
            'xmlns="http://www.w3.org/2000/svg"', ""
        )  # a name, not a fetch
        assert not re.search(r"https?://", text), f"{asset.name} names another origin"
        referenced |= set(re.findall(r'(?:src|href)="(/ui/[\w./-]+)"', text))
        referenced |= {f"/ui/{m}" for m in re.findall(r'from "\./([\w.-]+)"', text)}
    assert {"/ui/app.js", "/ui/style.css", "/ui/core.js", "/ui/views.js", "/ui/run.js"} <= referenced
    for path in referenced:
        assert client.get(path).status_code == 200, path


def test_every_asset_is_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["kwa"]
    for asset in ASSETS.iterdir():
        relative = asset.relative_to(ROOT / "kwa").as_posix()
        assert any(fnmatch(relative, g) for g in globs), f"{relative} is not package data in pyproject.toml"


def test_the_openapi_document_is_unchanged_by_the_dashboard(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/" not in paths and not any(p.startswith("/ui") for p in paths)
