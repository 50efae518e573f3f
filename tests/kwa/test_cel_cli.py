"""CEL checks through the real commands: ``kwa run --checks-dir`` (real Prefect server, stored
run), ``python -m flows.run --checks-dir``, ``kwa lint --checks-dir`` and its output formats,
load errors (exit 2, no traceback) and the hard per-check timeout."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.checks.test_cel_files import MINIMAL
from tests.faults.harness import Kwa, assert_no_traceback

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "checks"

# MINIMAL, the smallest check file docs/custom-checks.md shows, has one copy: tests/checks/test_cel_files.py.

APPS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: labelled, namespace: shop, labels: {team: shop}}
spec:
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec: {containers: [{name: app, image: "nginx:1.27"}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unlabelled, namespace: shop}
spec:
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec: {containers: [{name: app, image: "nginx:1.27"}]}
"""


@pytest.fixture
def kwa(tmp_path: Path, prefect_api: str) -> Kwa:
    """The real ``kwa`` command against the session's Prefect server, in a fresh home."""
    return Kwa(tmp_path, prefect_api)


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    checks, manifests = tmp_path / "checks", tmp_path / "manifests"
    checks.mkdir()
    manifests.mkdir()
    (checks / "team.yaml").write_text(MINIMAL)
    (manifests / "apps.yaml").write_text(APPS)
    return checks, manifests


def stored_rows(db: Path, check_id: str) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(
            conn.execute(
                "SELECT object_name, status, pillar, severity FROM assessments WHERE check_id = ?", (check_id,)
            ).fetchall()
        )


def test_kwa_run_with_a_checks_dir_stores_the_cel_check_like_a_builtin(kwa: Kwa, inputs: tuple[Path, Path]) -> None:
    checks, manifests = inputs
    # Relative, as typed: the flow loads the stored absolute path again in the same process.
    got = kwa("run", "--manifests", str(manifests), "--checks-dir", "checks", "--pillar", "ops", "-o", "json")
    assert got.code == 0, got.text
    assert_no_traceback(got.text)
    report = json.loads(got.out)
    assert report["run"]["state"] == "completed"
    assert "CUS-001" in report["run"]["check_ids"]
    assert stored_rows(got.db_path, "CUS-001") == [
        ("labelled", "passing", "operational-excellence", "medium"),
        ("unlabelled", "failing", "operational-excellence", "medium"),
    ]
    # The stored run remembers the directory, so a rerun or a deployment loads it again.
    with sqlite3.connect(got.db_path) as conn:
        (parameters,) = conn.execute("SELECT parameters FROM runs").fetchone()
    assert json.loads(parameters)["checks_dirs"] == [str(checks)]
    rerun = kwa("runs", "rerun", report["run"]["run_id"], "-o", "json")
    assert rerun.code == 0, rerun.text
    assert "CUS-001" in json.loads(rerun.out)["run"]["check_ids"]
    assert len(stored_rows(got.db_path, "CUS-001")) == 4  # both runs' rows


def test_python_m_flows_run_takes_the_checks_dir_and_the_config_may_override(
    kwa: Kwa, inputs: tuple[Path, Path]
) -> None:
    checks, manifests = inputs
    config = kwa.tmp / "kwa.yaml"
    config.write_text("severity: {CUS-001: critical}\n")
    command = [sys.executable, "-m", "flows.run", "--manifests", str(manifests), "--checks-dir", str(checks)]
    proc = subprocess.run(
        [*command, "--check", "CUS-001", "--config", str(config), "--fail-on", "critical", "-o", "json"],
        capture_output=True, text=True, timeout=180, cwd=kwa.tmp, env=kwa.environment(),
    )  # fmt: skip
    assert proc.returncode == 6, proc.stderr  # the gate: a critical failing result
    assert "CUS-001" in proc.stderr and "unlabelled" in proc.stderr
    assert stored_rows(kwa.db_path, "CUS-001") == [
        ("labelled", "passing", "operational-excellence", "critical"),
        ("unlabelled", "failing", "operational-excellence", "critical"),
    ]


def lint(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kwa", "lint", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_kwa_lint_with_a_checks_dir_text_json_and_sarif(inputs: tuple[Path, Path]) -> None:
    checks, manifests = inputs
    text = lint(str(manifests), "--checks-dir", str(checks), "--check", "CUS-001", "--fail-on", "medium")
    assert text.returncode == 6, text.stderr
    assert text.stdout.splitlines() == [
        f"{manifests / 'apps.yaml'}:10: MEDIUM CUS-001 Deployment/shop/unlabelled: no team label"
    ]
    data = json.loads(lint(str(manifests), "--checks-dir", str(checks), "--fail-on", "none", "-o", "json").stdout)
    rows = {(r["object_name"], r["status"]) for r in data["results"] if r["check_id"] == "CUS-001"}
    assert rows == {("unlabelled", "failing")}  # the report lists what is not passing
    assert len(data["run"]["check_ids"]) > 90  # the built-ins ran beside it
    sarif = json.loads(lint(str(manifests), "--checks-dir", str(checks), "--fail-on", "none", "-o", "sarif").stdout)
    (run,) = sarif["runs"]
    assert "CUS-001" in {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    failing = [r for r in run["results"] if r["ruleId"] == "CUS-001" and r["kind"] == "fail"]
    assert [r["message"]["text"] for r in failing] == ["no team label"]


def test_the_examples_lint_their_fixtures() -> None:
    proc = lint(
        str(EXAMPLES / "fixtures" / "CUS-002" / "fail.yaml"), "--checks-dir", str(EXAMPLES), "--check", "CUS-002"
    )
    assert proc.returncode == 6, proc.stderr
    assert [line.split(": ", 1)[1] for line in proc.stdout.splitlines()] == [
        "HIGH CUS-002 Deployment/shop/api: 3 replicas and no PodDisruptionBudget selects them",
        "HIGH CUS-002 Deployment/shop/other: 2 replicas and no PodDisruptionBudget selects them",
    ]


@pytest.mark.parametrize("command", ["lint", "run"])
def test_a_compile_error_is_a_usage_error_naming_file_check_and_position(
    kwa: Kwa, inputs: tuple[Path, Path], command: str
) -> None:
    checks, manifests = inputs
    (checks / "team.yaml").write_text(MINIMAL.replace("'team' in object.metadata.labels", "object.metadata.?labels"))
    args = [str(manifests)] if command == "lint" else ["--manifests", str(manifests)]
    got = kwa(command, *args, "--checks-dir", str(checks))
    assert got.code == 2, got.text
    assert_no_traceback(got.text)
    assert got.err.strip() == (
        f"error: {checks / 'team.yaml'}:12:66: check CUS-001 spec.validations[0].expression: "
        "expression line 1, column 47: unsupported syntax '.?'"
    )


def test_a_check_id_of_a_builtin_prefix_is_refused(inputs: tuple[Path, Path]) -> None:
    checks, manifests = inputs
    (checks / "team.yaml").write_text(MINIMAL.replace("CUS-001", "SEC-001"))
    proc = lint(str(manifests), "--checks-dir", str(checks))
    assert proc.returncode == 2 and "prefix SEC is reserved for kwa's built-in checks" in proc.stderr, proc.stderr


def test_a_pathological_cel_check_is_killed_at_its_timeout(inputs: tuple[Path, Path]) -> None:
    checks, manifests = inputs
    slow = MINIMAL.replace("CUS-001", "CUS-002").replace(
        "has(object.metadata.labels) && 'team' in object.metadata.labels",
        "lists.range(100000).all(a, lists.range(100000).all(b, a + b >= 0))",
    )
    (checks / "slow.yaml").write_text(slow.replace("  severity: medium\n", "  severity: medium\n  timeout: 2\n"))
    proc = lint(
        str(manifests), "--checks-dir", str(checks), "--check", "CUS-001,CUS-002", "--fail-on", "none", "-o", "json"
    )
    assert proc.returncode in (0, 3), proc.stderr  # a timed-out check makes the run partial
    rows = [(r["check_id"], r["status"]) for r in json.loads(proc.stdout)["results"]]
    assert ("CUS-002", "timeout") in rows
    assert [r for r in rows if r[0] == "CUS-001"] == [("CUS-001", "failing")]


def test_checks_list_and_show_include_cel_checks() -> None:
    def checks(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kwa", "checks", *args, "--checks-dir", str(EXAMPLES)],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )  # fmt: skip

    listed = json.loads(checks("list", "--pillar", "reliability", "-o", "json").stdout)
    assert [c["id"] for c in listed if c["id"].startswith("CUS-")] == ["CUS-002", "CUS-003", "CUS-008"]
    shown = json.loads(checks("show", "cus-002", "-o", "json").stdout)
    assert shown["origin"] == f"cel:{EXAMPLES / 'cus-002-replicas-need-pdb.yaml'}"
    assert shown["code"]["file"] == "examples/checks/cus-002-replicas-need-pdb.yaml"
    assert shown["fixtures"] == {"directory": "examples/checks/fixtures/CUS-002", "files": ["fail.yaml", "pass.yaml"]}
    assert [v["name"] for v in shown["cel"]["variables"]] == ["namespace", "replicas", "podLabels"]
    text = checks("show", "CUS-002").stdout
    assert "validations[0]" in text and "objects.PodDisruptionBudget.exists(pdb," in text


def test_a_stored_lint_keeps_its_relative_paths_usable_from_anywhere(kwa: Kwa, inputs: tuple[Path, Path]) -> None:
    """``kwa lint manifests --checks-dir checks --config kwa.yaml --store``, all relative: the stored
    run's parameters keep what a rerun started in another directory needs to read the same files."""
    checks, _ = inputs
    (kwa.tmp / "kwa.yaml").write_text("checks: {}\n")
    got = kwa("lint", "manifests", "--checks-dir", "checks", "--config", "kwa.yaml", "--store", "-o", "json")
    assert got.code in (0, 6), got.text
    with sqlite3.connect(got.db_path) as conn:
        (parameters,) = conn.execute("SELECT parameters FROM runs").fetchone()
    stored = json.loads(parameters)
    assert stored["checks_dirs"] == [str(checks)]
    assert stored["config_path"] == str(kwa.tmp / "kwa.yaml")
    assert stored["source"]["paths"] == ["manifests"] and stored["source"]["base"] == str(kwa.tmp)
