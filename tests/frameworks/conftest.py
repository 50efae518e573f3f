"""A small database for the framework views: one run whose checks cover every control status.

Built through storage's public API. The run selects every check below except SEC-031, so
NSA-POD-4 (SEC-031) is a control whose check was not in the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from storage.db import Database
from storage.results import ResultWriter
from storage.runs import create_run, finish_run, start_run
from tests.cli.builder import in_process

RUN = "run_20260301_090000_ffffff"
RUN_OTHER = "run_20260301_100000_eeeeee"  # another cluster, SEC-001 passing only
AT = datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)

SEVERITY = {"SEC-001": "critical", "SEC-013": "critical"}


def row(status: str, name: str | None = "web", **extra: Any) -> dict[str, Any]:
    base = {
        "status": status,
        "object_kind": "Deployment" if name else None,
        "object_namespace": "shop" if name else None,
        "object_name": name,
        "container": None,
        "message": f"{name or 'check'}: {status}",
        "reason": None,
        "source": "api",
        "details": None,
        "remediation": None,
    }
    base.update(extra)
    return base


# check id -> its rows in RUN; what each control of nsa.yaml should then be is in the tests.
RESULTS: dict[str, list[dict[str, Any]]] = {
    "SEC-001": [row("failing", message="container web is privileged"), row("passing", "api")],  # NSA-POD-5 failed
    "SEC-002": [row("passing"), row("passing", "api")],  # NSA-POD-6 passed
    "SEC-003": [row("failing")],  # NSA-POD-1 failed though SEC-004 timed out
    "SEC-004": [row("timeout", None, message="check timed out after 30s")],
    "SEC-006": [row("error", None, message="check crashed: boom")],  # NSA-POD-2 not evaluated
    "SEC-009": [row("passing")],  # NSA-POD-7: SEC-010 timed out for one object
    "SEC-010": [row("passing"), row("timeout", "api", message="object timed out")],
    "SEC-012": [row("passing")],  # NSA-POD-8 warning
    "SEC-013": [row("warning", message="runtime socket path looks odd")],
    "SEC-017": [row("passing")],  # NSA-POD-11 passed with one exemption
    "SEC-018": [row("skipped", reason="exempt: uses the default ServiceAccount by design")],
    "SEC-022": [row("skipped", reason="not-applicable: no registry allow-list configured")],  # NSA-POD-3
    "SEC-007": [row("passing")],  # NSA-POD-9 passed
    "SEC-008": [row("passing")],
}
CHECK_IDS = [*RESULTS, "SEC-014", "SEC-015"]  # SEC-014/015 ran and found nothing: NSA-POD-10 passed


def _check(check_id: str) -> dict[str, Any]:
    return {
        "id": check_id,
        "pillar": "security",
        "name": f"check {check_id}",
        "severity": SEVERITY.get(check_id, "high"),
        "remediation": f"Remediate {check_id}.",
    }


def build(db: Database) -> None:
    create_run(
        db, run_id=RUN, cluster_id="prod", check_ids=CHECK_IDS, scope="custom", pillars=[],
        source="api", trigger="manual", requested_at=AT - timedelta(seconds=5),
    )  # fmt: skip
    start_run(db, RUN)
    with ResultWriter(db, RUN, batch_size=5) as writer:
        for i, (check_id, rows) in enumerate(RESULTS.items()):
            writer.add(_check(check_id), rows, AT + timedelta(seconds=i), 10 + i)
    finish_run(db, RUN, "completed", summary={"objects": 2, "problems": [], "unavailable": {}})
    create_run(
        db, run_id=RUN_OTHER, cluster_id="other", check_ids=["SEC-001"], scope="single", pillars=[],
        source="api", trigger="manual", requested_at=AT + timedelta(hours=1),
    )  # fmt: skip
    start_run(db, RUN_OTHER)
    with ResultWriter(db, RUN_OTHER) as writer:
        writer.add(_check("SEC-001"), [row("passing")], AT + timedelta(hours=1), 5)
    finish_run(db, RUN_OTHER, "completed", summary={"objects": 1, "problems": [], "unavailable": {}})


@pytest.fixture(scope="session")
def fw_db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('frameworks') / 'kwa.db'}"
    db = Database(url)
    build(db)
    db.dispose()
    yield url


@pytest.fixture
def fw_db(fw_db_url: str) -> Iterator[Database]:
    db = Database(fw_db_url)
    yield db
    db.dispose()


@pytest.fixture
def kwa(fw_db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``kwa(*argv) -> (exit code, stdout, stderr)`` against the framework database."""
    return in_process(fw_db_url, monkeypatch, capsys)
