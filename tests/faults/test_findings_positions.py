"""Findings a user acts on, from the outside: the real ``kwa run`` on manifests, then its outputs.

The lines a run recorded are the lines of the file it read: SARIF, the list and the summary show
them after the manifest changed or vanished (nothing re-reads it), a second run over an edited file
moves the regions and keeps the fingerprints, the most severe findings come first everywhere, and
no credential planted in the manifests reaches any output or the database.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import Kwa, assert_absent, assert_no_traceback, sqlite_dump

SECRET = "AKIAFINDINGSPOSITIONS7"  # planted in an env value: no output may carry it
HEADER = "# platform team manifests\n# (two comment lines before the first document)\n"
APPS = (
    HEADER
    + """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          env:
            - name: AWS_SECRET_ACCESS_KEY
              value: "@SECRET@"
          securityContext:
            privileged: true
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
  namespace: shop
spec:
  hostNetwork: true
  containers:
  - name: shell
    image: busybox:1.36
    securityContext: {privileged: true}
""".replace("@SECRET@", SECRET)
)
# kubectl get -o yaml: a List whose items each get their own lines
LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: batch
    namespace: jobs
  spec:
    selector:
      matchLabels: {app: batch}
    template:
      metadata:
        labels: {app: batch}
      spec:
        containers:
        - name: batch
          image: registry.example.com/batch:latest
"""


def line_of(text: str, needle: str, after: str = "") -> int:
    """The 1-based line of the first ``needle`` after the first ``after``."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


WEB_START = line_of(APPS, "apiVersion: apps/v1")  # the Deployment's first line (after the comments)
PRIVILEGED = line_of(APPS, "privileged: true")  # its offending field, and its last line


def sarif(kwa: Kwa, *args: str) -> dict[str, Any]:
    got = kwa("query", "assessments", "summary", *args, "-o", "sarif")
    assert got.code == 0, got.text
    assert_no_traceback(got.out, got.err)
    return json.loads(got.out)


def by_rule_and_object(log: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["properties"]["object"]): r for r in log["runs"][0]["results"]}


def region(result: dict[str, Any]) -> tuple[str, int, int]:
    physical = result["locations"][0]["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical["region"]["startLine"], physical["region"]["endLine"]


@pytest.fixture
def manifests(kwa: Kwa) -> Path:
    k8s = kwa.tmp / "k8s"
    k8s.mkdir(parents=True)
    (k8s / "apps.yaml").write_text(APPS)
    (k8s / "list.yaml").write_text(LIST)
    return k8s


def test_regions_are_the_lines_the_run_read_even_after_the_file_changed(kwa: Kwa, manifests: Path) -> None:
    first = kwa("run", "--manifests", "k8s")
    assert first.code == 0, first.text
    assert_no_traceback(first.out, first.err)
    run = first.run()
    assert run["state"] == "completed"
    # stored with the results: where each object is, and the offending field's line
    rows = {(r["check_id"], r["object_name"]): r for r in first.results() if r["status"] == "failing"}
    web = rows[("SEC-001", "web")]
    assert (web["source"], web["source_line"], web["source_end_line"]) == ("k8s/apps.yaml#1", WEB_START, PRIVILEGED)
    assert web["field_path"] == "spec.template.spec.containers[0].securityContext.privileged"
    assert web["field_line"] == PRIVILEGED
    assert (web["source_column"], web["field_column"]) == (1, 13)  # "apiVersion", "privileged:"

    # the manifest changes (ten lines pushed in front) and the List disappears
    (manifests / "apps.yaml").write_text("# moved\n" * 10 + APPS)
    (manifests / "list.yaml").unlink()
    log = sarif(kwa)
    results = by_rule_and_object(log)
    sec = results[("SEC-001", "Deployment/shop/web:web")]
    assert region(sec) == ("k8s/apps.yaml", PRIVILEGED, PRIVILEGED)  # the line the run read, not today's
    assert sec["locations"][0]["physicalLocation"]["region"]["startColumn"] == 13
    assert sec["locations"][0]["physicalLocation"]["contextRegion"] == {
        "startLine": WEB_START,
        "startColumn": 1,
        "endLine": PRIVILEGED,
    }
    pod = results[("SEC-010", "Pod/shop/debug")]
    assert region(pod) == ("k8s/apps.yaml", line_of(APPS, "hostNetwork"), line_of(APPS, "hostNetwork"))
    tag = results[("REL-004", "Deployment/jobs/batch:batch")]
    assert region(tag) == ("k8s/list.yaml", line_of(LIST, "image: registry"), line_of(LIST, "image: registry"))
    assert tag["locations"][0]["physicalLocation"]["region"]["startColumn"] == 11  # "image:" of "        - name"
    assert tag["locations"][0]["physicalLocation"]["contextRegion"] == {"startLine": 4, "startColumn": 1, "endLine": 18}
    for result in log["runs"][0]["results"]:  # every result from a file has a region
        physical = result["locations"][0].get("physicalLocation")
        assert physical is None or physical["region"]["startLine"] >= 1, result

    # a second run over the edited file: the regions move with it, the fingerprints stay
    second = kwa("run", "--manifests", "k8s")
    assert second.code == 0, second.text
    moved = by_rule_and_object(sarif(kwa))
    now = moved[("SEC-001", "Deployment/shop/web:web")]
    assert region(now) == ("k8s/apps.yaml", PRIVILEGED + 10, PRIVILEGED + 10)
    assert now["partialFingerprints"] == sec["partialFingerprints"]

    outputs = [first.out, first.err, second.out, second.err, json.dumps(log), sqlite_dump(kwa.db_path)]
    assert_absent([SECRET], *outputs)


def test_the_most_severe_findings_come_first_wherever_a_user_looks(kwa: Kwa, manifests: Path) -> None:
    # forty Deployments that each miss low-severity hygiene, and the two privileged workloads above
    many = "\n---\n".join(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{i}, namespace: shop}}\n"
        f"spec:\n  selector: {{matchLabels: {{app: a{i}}}}}\n  template:\n    metadata: {{labels: {{app: a{i}}}}}\n"
        f"    spec:\n      containers: [{{name: c, image: 'nginx:1.27'}}]"
        for i in range(40)
    )
    (manifests / "many.yaml").write_text(many + "\n")
    got = kwa("run", "--manifests", "k8s")
    assert got.code == 0, got.text

    summary = kwa("query", "assessments", "summary", "-o", "json")
    assert summary.code == 0, summary.text
    top = json.loads(summary.out)["top_failing"]
    assert top[0]["check_id"] == "SEC-001" and top[0]["severity"] == "critical"
    assert {o["object"] for o in top[0]["objects"]} == {"Deployment/shop/web", "Pod/shop/debug"}
    assert {o["line"] for o in top[0]["objects"]} == {PRIVILEGED, line_of(APPS, "securityContext: {privileged")}
    severities = [c["severity"] for c in top]
    order = ["critical", "high", "medium", "low", "info"]
    assert severities == sorted(severities, key=order.index)
    table = kwa("query", "assessments", "summary")
    assert table.code == 0 and "top failing checks" in table.out
    rows_shown = [ln for ln in table.out.split("top failing checks", 1)[1].splitlines() if ln.startswith("│ ")]
    assert rows_shown[0].split("│")[1:3] == [" SEC-001  ", " critical "]  # above checks failing forty objects
    assert f"k8s/apps.yaml:{PRIVILEGED}" in table.out

    listing = kwa("query", "assessments", "list", "--status", "failing", "--severity", "critical,high")
    assert listing.code == 0, listing.text
    assert_no_traceback(listing.out, listing.err)
    headings = [ln for ln in listing.out.splitlines() if ln[:4] in ("SEC-", "REL-", "PERF", "OPS-", "COST")]
    assert headings[0].startswith("SEC-001 Privileged or HostProcess container · critical")
    assert "fix: Remove securityContext.privileged" in listing.out  # the remediation under the heading
    assert f"k8s/apps.yaml:{PRIVILEGED}" in listing.out
    rows = json.loads(kwa("query", "assessments", "list", "--status", "failing", "--limit", "0", "-o", "json").out)
    ranks = [order.index(r["severity"]) for r in rows["items"]]
    assert ranks == sorted(ranks)
    assert_absent([SECRET], got.out, got.err, summary.out, table.out, listing.out)
