"""``kwa lint`` and ``kwa run`` on the same input give the same findings, counts and scores.

The lint evaluates in this process and counts its rows in memory; the run goes through Prefect and
kwa's database, which counts with SQL. Every check's fixtures together are the input: hundreds of
objects of every kind the checks read, passing and failing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "checks" / "fixtures"
KEYS = ("check_id", "status", "severity", "object_kind", "object_namespace", "object_name", "container", "message",
        "reason", "source", "source_line", "source_column", "field_path", "field_line", "field_column")  # fmt: skip


def _json(args: list[str], **env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, **env},
    )  # fmt: skip
    assert proc.returncode in (0, 3), proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_lint_and_run_agree(prefect_api: str, tmp_path: Path) -> None:
    from storage.db import Database
    from storage.queries import run_results

    url = f"sqlite:///{tmp_path / 'kwa.db'}"  # its own database: no other test's run ahead in the queue
    ran = _json(
        ["flows.run", "--manifests", str(FIXTURES), "--ci", "-o", "json"], PREFECT_API_URL=prefect_api,
        KWA_DATABASE_URL=url,
    )  # fmt: skip
    linted = _json(["kwa", "lint", str(FIXTURES), "--fail-on", "none", "-o", "json"])
    assert ran["objects"] == linted["objects"] > 100
    assert ran["run"]["state"] == linted["run"]["state"]
    assert ran["scores"] == linted["scores"]
    assert ran["pillars"] == linted["pillars"]
    assert ran["problems"] == linted["problems"]
    stored = run_results(Database(url), ran["run"]["run_id"], ("failing", "warning", "error", "timeout"))

    def key(row: dict) -> tuple:
        return tuple(str(row.get(k)) for k in KEYS)

    assert sorted(map(key, stored)) == sorted(map(key, linted["results"]))
