"""Results carry where their object and the offending field are, recorded at run time.

Every result of a manifest object gets the object's lines; a failing result also gets the field
the check names (or its container's path) and that field's line, resolved from the text the run
parsed; a passing result never pays for a field lookup; exemptions, quarantined objects and
isolated culprits keep their positions; live objects (no file) have none.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from checks.config import Config
from checks.model import ErrorReason, Status
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import K8sObject, Snapshot
from checks.sources.manifests import load_manifests

MANIFEST = """\
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
      hostNetwork: true
      containers:
      - name: ok
        image: nginx:1.27
        securityContext:
          privileged: false
      - name: bad
        image: nginx:latest
        securityContext:
          privileged: true
          runAsUser: 0
---
apiVersion: v1
kind: Pod
metadata:
  name: lone
  namespace: shop
  annotations:
    kwa.io/exempt: SEC-001
    kwa.io/exempt-reason: a test pod
spec:
  containers:
  - name: c
    image: busybox
    securityContext: {privileged: true}
"""


@pytest.fixture(scope="module")
def results() -> dict[str, list]:
    snap = load_manifests(["-"], stdin=io.StringIO(MANIFEST)).prepare()
    config = Config()
    checks = {c.id: c for c in load_all().all()}
    return {cid: evaluate(checks[cid], snap, config) for cid in ("SEC-001", "SEC-003", "SEC-010", "REL-004")}


def one(rows: list, name: str, status: Status | None = None):
    (r,) = [r for r in rows if r.name == name and (status is None or r.status is status)]
    return r


def test_a_failing_result_points_at_the_field_the_check_names(results) -> None:
    r = one(results["SEC-001"], "web")
    assert r.status is Status.FAILING
    assert (r.line, r.end_line) == (6, 29)
    assert r.field_path == "spec.template.spec.containers[1].securityContext.privileged"
    assert r.field_line == 28
    assert (r.column, r.field_column) == (1, 11)  # "apiVersion", "privileged:" under "- name: bad"
    row = r.as_row()
    assert (row["source_line"], row["source_column"], row["field_line"], row["field_column"]) == (6, 1, 28, 11)


def test_pod_level_fields_and_inherited_values_point_where_they_are_set(results) -> None:
    net = one(results["SEC-010"], "web")
    assert (net.field_path, net.field_line, net.field_column) == ("spec.template.spec.hostNetwork", 19, 7)
    root = one(results["SEC-003"], "web")
    assert root.status is Status.FAILING
    # the first container proves nothing (no runAsUser): it is the first offender
    assert root.field_path == "spec.template.spec.containers[0].securityContext.runAsNonRoot"
    assert (root.field_line, root.field_column) == (23, 9)  # absent: its container's securityContext


def test_a_check_that_names_only_a_container_points_at_the_container(results) -> None:
    tag = one(results["REL-004"], "web")
    assert tag.field_path == "spec.template.spec.containers[1].image" and tag.field_line == 26
    assert tag.field_column == 9


def test_a_passing_result_has_the_objects_lines_and_no_field(results) -> None:
    ns_rows = [r for rows in results.values() for r in rows if r.status is Status.PASSING]
    assert ns_rows and all(r.field_line is None and r.field_column is None for r in ns_rows)
    assert all(r.line is not None and r.column == 1 for r in ns_rows if r.source)


def test_an_exempted_result_keeps_its_positions(results) -> None:
    lone = one(results["SEC-001"], "lone")
    assert lone.status is Status.SKIPPED and lone.reason.startswith("exempt:")
    assert (lone.line, lone.end_line) == (31, 43)
    assert lone.field_path == "spec.containers[0].securityContext.privileged" and lone.field_line == 43
    assert (lone.column, lone.field_column) == (1, 5)  # inside a flow mapping: "securityContext"


def test_live_objects_have_no_positions() -> None:
    raw = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]},
    }
    snap = Snapshot(objects=[K8sObject(raw, "api", None)], mode="live")
    (r,) = evaluate(next(c for c in load_all().all() if c.id == "SEC-001"), snap, Config())
    assert r.status is Status.FAILING and r.line is None and r.field_line is None
    assert r.column is None and r.field_column is None
    assert r.field_path == "spec.containers[0].securityContext.privileged"  # the path is still told


def test_a_quarantined_object_reports_its_wrong_field_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: broken\n  namespace: shop\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: c\n        image: x\n        ports:\n"
        "        - containerPort: eighty\n"
    )
    snap = load_manifests([str(path)]).prepare()
    rows = evaluate(next(c for c in load_all().all() if c.id == "SEC-001"), snap, Config())
    (bad,) = [r for r in rows if r.reason == ErrorReason.MALFORMED]
    assert bad.field_path == "spec.template.spec.containers[0].ports[0].containerPort"
    assert (bad.line, bad.end_line, bad.field_line) == (1, 13, 13)
    assert (bad.column, bad.field_column) == (1, 11)  # "containerPort" after "- "
