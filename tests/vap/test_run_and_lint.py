"""The admission-policy audit end to end: ``kwa run --manifests`` through Prefect and kwa's
database, and ``kwa lint`` in one process, on the documentation's examples; both give exactly the
per-object verdicts the fixtures annotate, and agree row for row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.prefect

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "vap" / "fixtures"
INPUTS = [FIXTURES / "docs-basic.yaml", FIXTURES / "docs-params.yaml", FIXTURES / "actions.yaml"]
KEYS = ("check_id", "status", "severity", "object_kind", "object_namespace", "object_name", "message",
        "source", "source_line", "field_path")  # fmt: skip
# Both files are one snapshot: each policy judges the Deployments of both (6, 5, 4 and 3 replicas
# in the namespace labelled environment=test; the limits are 5 and the ReplicaLimit's 3).
EXPECTED = {
    ("VAP-demo-policy.example.com", "Deployment", "staging", "web"): "failing",
    ("VAP-demo-policy.example.com", "Deployment", "staging", "api"): "passing",
    ("VAP-demo-policy.example.com", "Deployment", "staging", "four"): "passing",
    ("VAP-demo-policy.example.com", "Deployment", "staging", "three"): "passing",
    ("VAP-replicalimit-policy.example.com", "Deployment", "staging", "web"): "failing",
    ("VAP-replicalimit-policy.example.com", "Deployment", "staging", "api"): "failing",
    ("VAP-replicalimit-policy.example.com", "Deployment", "staging", "four"): "failing",
    ("VAP-replicalimit-policy.example.com", "Deployment", "staging", "three"): "passing",
}


def _json(args: list[str], **env: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, **env},
    )  # fmt: skip
    assert proc.returncode in (0, 3, 6), proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_run_and_lint_audit_the_documentation_examples(prefect_api: str, tmp_path: Path) -> None:
    from storage.db import Database
    from storage.queries import run_results

    url = f"sqlite:///{tmp_path / 'kwa.db'}"
    files = [str(p) for p in INPUTS[:2]]
    ran = _json(
        ["kwa", "run", *(a for f in files for a in ("--manifests", f)), "--pillar", "security", "--ci", "-o", "json"],
        PREFECT_API_URL=prefect_api, KWA_DATABASE_URL=url,
    )  # fmt: skip
    linted = _json(["kwa", "lint", *files, "--pillar", "security", "--fail-on", "none", "-o", "json"])
    assert ran["run"]["state"] == linted["run"]["state"] == "completed"
    assert ran["scores"] == linted["scores"]
    stored = run_results(Database(url), ran["run"]["run_id"], ("passing", "failing", "warning", "error", "skipped"))
    vap = [r for r in stored if r["check_id"].startswith("VAP-")]
    got = {(r["check_id"], r["object_kind"], r["object_namespace"], r["object_name"]): r["status"] for r in vap}
    assert got == EXPECTED
    failing = [r for r in vap if r["status"] == "failing"]
    assert {r["message"] for r in failing} == {
        "ValidatingAdmissionPolicy 'demo-policy.example.com' with binding 'demo-binding-test.example.com' denied "
        "request: failed expression: object.spec.replicas <= 5",
        "ValidatingAdmissionPolicy 'replicalimit-policy.example.com' with binding "
        "'replicalimit-binding-test.example.com' denied request: object.spec.replicas must be no greater than 3",
    }
    assert all(r["severity"] == "high" and r["pillar"] == "security" for r in vap)

    def key(row: dict) -> tuple:
        return tuple(str(row.get(k)) for k in KEYS)

    linted_vap = [r for r in linted["results"] if r["check_id"].startswith("VAP-")]
    assert sorted(map(key, failing)) == sorted(map(key, linted_vap))


def test_lint_selects_a_policy_check_by_id_and_warns_for_warn_bindings() -> None:
    out = _json(["kwa", "lint", str(INPUTS[2]), "--check", "vap-replicas-warn", "--fail-on", "none", "-o", "json"])
    assert out["run"]["check_ids"] == ["VAP-replicas-warn"]
    rows = out["results"]
    assert sorted((r["object_name"], r["status"]) for r in rows) == [("six", "warning")] * 3
    assert {r["severity"] for r in rows} == {"medium"}


def test_sarif_names_the_policy_as_a_rule_and_points_at_the_object() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "lint", str(INPUTS[0]), "--check", "VAP-demo-policy.example.com", "-o", "sarif"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    run = json.loads(proc.stdout)["runs"][0]
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["id"] == "VAP-demo-policy.example.com" and rule["properties"]["pillar"] == "security"
    (result,) = run["results"]
    assert result["ruleId"] == "VAP-demo-policy.example.com" and result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("docs-basic.yaml")
    assert region["startLine"] == 42  # the Deployment web in staging, 6 replicas


def _lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kwa", "lint", *args], capture_output=True, text=True, timeout=120, cwd=REPO
    )


def test_lint_names_the_policy_nothing_binds() -> None:
    proc = _lint(str(FIXTURES / "bindings.yaml"), "--fail-on", "none")
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert "note: ValidatingAdmissionPolicy 'unbound' is not audited: no ValidatingAdmissionPolicyBinding names it" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_lint_of_a_policy_check_the_input_lacks_is_a_usage_error() -> None:
    proc = _lint(str(FIXTURES / "docs-basic.yaml"), "--check", "VAP-no-such-policy")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "error: no check VAP-no-such-policy in the input: an admission policy becomes a check only when the input "
        "holds the policy and a binding naming it"
    )
    assert proc.stdout == ""
    # The one it holds is found whatever the case it is named in.
    found = _lint(str(FIXTURES / "docs-basic.yaml"), "--check", "vap-demo-policy.example.com", "-o", "json")
    assert found.returncode in (0, 6), found.stderr[-2000:]
    assert {r["check_id"] for r in json.loads(found.stdout)["results"]} == {"VAP-demo-policy.example.com"}
