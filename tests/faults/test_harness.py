"""The harness itself: a clean run passes every assertion the fault tests make."""

from __future__ import annotations

from tests.faults.harness import Kwa, assert_no_traceback

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""


def test_a_clean_run_is_completed_and_stored(kwa: Kwa) -> None:
    (kwa.tmp / "app.yaml").write_text(DEPLOYMENT)
    got = kwa("run", "--manifests", "app.yaml", "--check", "SEC-001,REL-004")
    assert got.code == 0, got.text
    assert_no_traceback(got.out, got.err)
    run = got.run()
    assert run["state"] == "completed"
    assert {r["check_id"] for r in got.results()} == {"SEC-001", "REL-004"}
