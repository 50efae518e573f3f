"""CI gates that cannot be fooled, and histories that keep like with like, through the real CLI.

* ``--ci`` never falls back to the bundled demo cluster: without a source it is a usage error.
* A ``--fail-on`` gate names the failing objects (kind/namespace/name, check, severity), bounded,
  on the terminal and in the JSON that carries the gate.
* A manifests run is kept under a cluster id named after its input (the git repository and the
  path in it); a credential in the remote URL never reaches an id, the terminal or the database.
* ``history`` and ``diff`` keep to one cluster and one scope, say which runs they compare, and
  refuse unlike runs (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.harness import Kwa, Outcome, assert_absent, assert_no_traceback, sqlite_dump

TOKEN = "ghp_gateTokenThatMustNeverLeak0001"
REMOTE = f"https://x-access-token:{TOKEN}@github.com/Acme/shop.git"
REPO_ID = "github.com/Acme/shop:k8s"
SHOWN = 10  # storage.gates.OBJECTS_SHOWN


def privileged(name: str, on: bool = True) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        f"metadata: {{name: {name}, namespace: shop}}\n"
        "spec:\n  replicas: 2\n"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n"
        "  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        "    spec: {containers: [{name: app, image: 'nginx:1.27', "
        f"securityContext: {{privileged: {str(on).lower()}}}}}]}}\n"
    )


def repository(tmp: Path, fixed: int = 0, count: int = 13) -> Path:
    """A checkout of github.com/Acme/shop (cloned with a token in its remote) with ``count``
    privileged Deployments under k8s/, the first ``fixed`` of them fixed."""
    top = tmp / "shop"
    (top / ".git").mkdir(parents=True, exist_ok=True)
    (top / ".git" / "config").write_text(f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {REMOTE}\n')
    (top / "k8s").mkdir(exist_ok=True)
    docs = [privileged(f"web-{i:02d}", on=i >= fixed) for i in range(count)]
    (top / "k8s" / "apps.yaml").write_text("---\n".join(docs))
    return top


def clean(got: Outcome, *more: str) -> None:
    for text in (got.out, got.err, *more):
        assert_no_traceback(text)
    assert_absent([TOKEN], got.out, got.err, *more, sqlite_dump(got.db_path))


def test_ci_without_a_source_is_a_usage_error_not_the_demo_cluster(kwa: Kwa) -> None:
    got = kwa("run", "--ci", "--fail-on", "critical")

    assert got.code == 2, got.text
    assert got.err.startswith("error: --ci needs something to assess and found no source: no --manifests"), got.err
    assert "--manifests PATH (- for stdin), --kubeconfig FILE [--context NAME], or --demo" in got.err
    assert "demo-prod" not in got.text and got.runs() == []
    clean(got)


def test_ci_assesses_the_demo_cluster_only_when_told(kwa: Kwa) -> None:
    got = kwa("run", "--ci", "--demo", "--check", "SEC-001")

    assert got.code == 0, got.text
    run = got.run()
    assert (run["cluster_id"], run["trigger"], run["state"]) == ("demo-prod", "ci", "completed")
    assert "No kubeconfig found" not in got.err
    clean(got)


def test_a_gate_lists_the_failing_objects_bounded(kwa: Kwa) -> None:
    repository(kwa.tmp)
    got = kwa("run", "--manifests", "shop/k8s", "--check", "SEC-001", "--ci", "--fail-on", "critical")

    assert got.code == 6, got.text
    run = got.run()
    assert run["cluster_id"] == REPO_ID and run["state"] == "completed"
    assert len([r for r in got.results() if r["status"] == "failing"]) == 13
    lines = got.err.splitlines()
    at = lines.index("  [fail-on] 13 failing critical results (--fail-on critical): SEC-001")
    listed = lines[at + 1 : at + 1 + SHOWN]
    assert listed == [f"      critical  SEC-001  Deployment/shop/web-{i:02d} (container app)" for i in range(SHOWN)]
    assert lines[at + 1 + SHOWN] == "      … and 3 more"
    assert f"cluster id {REPO_ID}" in got.err
    clean(got)

    # The same gate from the stored run, and both machine outputs that carry it.
    summary = kwa("query", "assessments", "summary", "--fail-on", "critical", "-o", "json")
    assert summary.code == 6, summary.text
    violation = json.loads(summary.out)["gate"]["violations"][0]
    assert violation["rule"] == "fail-on" and violation["more"] == 3
    assert [o["object_name"] for o in violation["objects"]] == [f"web-{i:02d}" for i in range(SHOWN)]
    assert violation["objects"][0] == {
        "check_id": "SEC-001", "severity": "critical", "object_kind": "Deployment",
        "object_namespace": "shop", "object_name": "web-00", "container": "app",
    }  # fmt: skip
    as_json = kwa("run", "--manifests", "shop/k8s", "--check", "SEC-001", "--fail-on", "critical", "-o", "json")
    assert as_json.code == 6, as_json.text
    gate = json.loads(as_json.out)["gate"]
    assert gate["applied"] and gate["passed"] is False and len(gate["violations"][0]["objects"]) == SHOWN
    clean(as_json, summary.out, summary.err)


def test_stdin_runs_share_one_history_unless_named(kwa: Kwa) -> None:
    doc = privileged("web", on=False)
    got = kwa("run", "--manifests", "-", "--check", "SEC-001", input=doc)
    assert got.code == 0, got.text
    assert "cluster id stdin (shared by every stdin run: --cluster-id NAME keeps this input's history apart)" in got.err
    named = kwa("run", "--manifests", "-", "--check", "SEC-001", "--cluster-id", "chart-web", input=doc)
    assert named.code == 0, named.text
    assert [r["cluster_id"] for r in named.runs()] == ["stdin", "chart-web"] and "shared by" not in named.err
    clean(named)


def test_history_and_diff_keep_like_with_like(kwa: Kwa, tmp_path: Path) -> None:
    repository(kwa.tmp)
    first = kwa("run", "--manifests", "shop/k8s")
    assert first.code == 0, first.text
    repository(kwa.tmp, fixed=5)
    second = kwa("run", "--manifests", "shop/k8s")
    spike = kwa("run", "--manifests", "shop/k8s", "--check", "SEC-001")
    (kwa.tmp / "corpus").mkdir()
    (kwa.tmp / "corpus" / "app.yaml").write_text(privileged("api"))
    other = kwa("run", "--manifests", "corpus")
    assert (second.code, spike.code, other.code) == (0, 0, 0), (second.text, spike.text, other.text)
    runs = other.runs()
    full_1, full_2, check_run, corpus = (r["run_id"] for r in runs)
    assert [r["cluster_id"] for r in runs] == [REPO_ID] * 3 + ["corpus"]

    # history: which cluster? (not silently the latest run's)
    asked = kwa("query", "assessments", "history")
    assert asked.code == 2 and "runs of 2 clusters are stored: name one with --cluster ID" in asked.err
    assert f"  corpus  1 run  latest {corpus}" in asked.err and f"  {REPO_ID}  3 runs  latest {check_run}" in asked.err

    # history of the repository: the two full runs; the --check run counted apart, not a spike
    png = tmp_path / "trend.png"
    trend = kwa("query", "assessments", "history", "--cluster", REPO_ID, "--plot", str(png), "-o", "json")
    assert trend.code == 0, trend.text
    doc = json.loads(trend.out)
    assert [i["run_id"] for i in doc["items"]] == [full_1, full_2] and doc["scope"] == "full"
    assert doc["other_scopes"] == {"check:SEC-001": 1}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"for 2 run(s) (scope full) written to {png}" in trend.err

    # diff: the latest run is the --check one, with nothing like it before
    latest = kwa("query", "assessments", "diff", "--cluster", REPO_ID)
    assert latest.code == 2
    assert f"has one completed or partial check:SEC-001 run ({check_run})" in latest.err
    assert "other scopes: full ×2; --scope LABEL picks one, --any-scope compares across scopes" in latest.err
    fixed = kwa("query", "assessments", "diff", "--cluster", REPO_ID, "--scope", "full", "-o", "json")
    assert fixed.code == 0, fixed.text
    diff = json.loads(fixed.out)
    assert (diff["run_a"]["run_id"], diff["run_b"]["run_id"]) == (full_1, full_2)
    assert diff["compared"]["how"] == f"the latest two finished full runs of cluster {REPO_ID}"
    assert {(d["check_id"], d["object_name"]) for d in diff["fixed"] if d["check_id"] == "SEC-001"} == {
        ("SEC-001", f"web-{i:02d}") for i in range(5)
    }

    # unlike runs are refused, with the reason and the way out
    across = kwa("query", "assessments", "diff", full_2, corpus)
    assert across.code == 2 and f"different clusters ('{REPO_ID}' and 'corpus')" in across.err
    scopes = kwa("query", "assessments", "diff", full_2, check_run)
    assert scopes.code == 2
    assert f"{full_2} (full) and {check_run} (check:SEC-001) assessed different scopes" in scopes.err
    anyway = kwa("query", "assessments", "diff", full_2, check_run, "--any-scope")
    flat = " ".join(anyway.out.split())  # the header, however the terminal wraps it
    assert anyway.code == 0 and f"{full_2} (" in flat and f", full) → {check_run} (" in flat
    assert f", check:SEC-001) · cluster {REPO_ID}" in flat
    for got in (asked, trend, latest, fixed, across, scopes, anyway):
        clean(got)
