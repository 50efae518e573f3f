"""Stored text is never read as markup, end to end: ``kwa run`` on manifests under ``[/x]/`` with an
object named ``web[/]``, a cluster id with ``[bold]`` and a document that is not a Kubernetes
object, then every query view of that run. Issue 10: the final report crashed (exit 1) on such
text, so the CI gates after it were never evaluated.
"""

from __future__ import annotations

import json

import pytest

from tests.faults.harness import Kwa, assert_no_traceback

pytestmark = pytest.mark.prefect

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: "web[/]", namespace: "shop", labels: {app: "[bold]web"}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:latest", securityContext: {privileged: true}}]
---
just: "a [/] mapping, no kind"
"""
CLUSTER = "prod[/]eu[bold]"


def test_markup_in_paths_names_and_cluster_ids_prints_literally(kwa: Kwa) -> None:
    (kwa.tmp / "[/x]").mkdir(parents=True)  # the directories "[" and "x]"
    (kwa.tmp / "[/x]" / "app.yaml").write_text(MANIFEST)
    got = kwa("run", "--manifests", "[/x]/app.yaml", "--cluster-id", CLUSTER, "--fail-on", "critical")
    assert_no_traceback(got.out, got.err)
    assert "MarkupError" not in got.text
    run = got.run()
    # The report got to the end, so the gate ran: a privileged container is a critical failure.
    assert got.code == 6, got.text
    assert run["state"] in ("completed", "partial") and run["cluster_id"] == CLUSTER
    assert f"cluster {CLUSTER}" in got.out
    assert "skipped input [/x]/app.yaml" in got.out  # the junk document, with its literal path
    assert "[fail-on]" in got.err

    results = got.results(run["run_id"])
    assert any(r["object_name"] == "web[/]" for r in results)
    for argv in (
        ("query", "assessments", "list", "--limit", "0"),
        ("query", "assessments", "list", "--cluster", CLUSTER, "--status", "failing", "-o", "csv"),
        ("query", "assessments", "summary", "--fail-on", "critical"),
        ("runs", "list"),
        ("runs", "get", run["run_id"]),
        ("query", "assessments", "history", "--cluster", CLUSTER),
    ):
        view = kwa(*argv)
        assert_no_traceback(view.out, view.err)
        assert "MarkupError" not in view.text
        assert view.code == (6 if "--fail-on" in argv else 0), view.text
        assert CLUSTER in view.out or "-o" in argv, view.out
        if argv[2:3] == ("list",):
            assert "web[/]" in view.out
    got = kwa("query", "assessments", "list", "--kind", "Deployment", "--limit", "0", "-o", "json")
    items = json.loads(got.out)["items"]
    assert items and {i["object_name"] for i in items} == {"web[/]"}  # stored and shown as it was named
