"""``kwa run --framework NAME``: the run read as the framework's controls, after the table or under
``framework`` in json/yaml, the same reading as ``kwa query assessments summary --framework``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.faults.harness import Kwa

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  containers:
  - name: app
    image: nginx:1.27
    securityContext: {privileged: true}
"""


@pytest.mark.prefect
def test_run_with_a_framework_reads_the_same_as_summary(prefect_api: str, tmp_path: Path) -> None:
    kwa = Kwa(tmp_path, prefect_api)
    (kwa.tmp / "pod.yaml").write_text(POD)
    table = kwa("run", "--manifests", "pod.yaml", "--pillar", "security", "--framework", "nsa")
    assert table.code == 0, table.text
    assert "NSA/CISA Kubernetes Hardening Guidance" in table.out and "NSA-POD-5" in table.out
    ran = kwa("run", "--manifests", "pod.yaml", "--pillar", "security", "--framework", "nsa", "-o", "json",
              "--force-new")  # fmt: skip
    assert ran.code == 0, ran.text
    view = json.loads(ran.out)
    controls = {c["id"]: c for c in view["framework"]["controls"]}
    assert controls["NSA-POD-5"]["status"] == "failed" and "SEC-001" in controls["NSA-POD-5"]["failing_checks"]
    run_id = view["run"]["run_id"]
    summary = kwa("query", "assessments", "summary", "--run", run_id, "--framework", "nsa", "-o", "json")
    expected = json.loads(summary.out)
    for key in ("controls", "counts", "score", "coverage"):
        assert view["framework"][key] == expected[key], key


@pytest.mark.prefect
def test_an_unknown_framework_or_a_report_format_is_refused_before_the_run(prefect_api: str, tmp_path: Path) -> None:
    kwa = Kwa(tmp_path, prefect_api)
    (kwa.tmp / "pod.yaml").write_text(POD)
    unknown = kwa("run", "--manifests", "pod.yaml", "--framework", "nist")
    assert unknown.code == 2 and "nsa" in unknown.err and unknown.runs() == []
    reports = kwa("run", "--manifests", "pod.yaml", "--framework", "nsa", "-o", "policyreport")
    assert reports.code == 2 and "use -o table, json or yaml" in reports.err
