"""deploy/kubernetes/policy-reports: the opt-in RBAC of ``kwa run --publish-reports``.

Exactly the four report kinds kwa writes (cli/formatters/policyreport.py DIALECTS), the verbs it
uses, bound to the assessor's service account; valid against the official client's models; and not
part of the default kustomization, whose ClusterRole stays read-only
(tests/deploy/test_kubernetes_manifests.py checks that one).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cli.formatters.policyreport import DIALECTS
from tests.deploy.test_kubernetes_manifests import K8S_DIR, READ_VERBS, _model, _one, _unknown_fields

pytestmark = pytest.mark.deploy

DIR = K8S_DIR / "policy-reports"
VERBS = {"get", "list", "create", "update", "patch", "delete"}


def _docs() -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((DIR / "publisher-rbac.yaml").read_text()) if d]


def _doc(kind: str) -> dict[str, Any]:
    (found,) = [d for d in _docs() if d["kind"] == kind]
    return found


def test_objects_are_valid_and_listed_by_their_own_kustomization() -> None:
    for doc in _docs():
        assert not _unknown_fields(_model(doc["kind"], doc["apiVersion"]), doc, doc["kind"])
    assert yaml.safe_load((DIR / "kustomization.yaml").read_text())["resources"] == ["publisher-rbac.yaml"]
    default = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["resources"]
    assert not any("policy-reports" in r for r in default), "publishing stays opt-in"


def test_grants_exactly_the_report_kinds_and_write_verbs() -> None:
    granted: set[tuple[str, str]] = set()
    for rule in _doc("ClusterRole")["rules"]:
        assert set(rule["verbs"]) == VERBS and "resourceNames" not in rule, rule
        assert "*" not in rule["apiGroups"] and "*" not in rule["resources"], rule
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    wanted = {(d.group, p) for d in DIALECTS.values() for p in (d.plural, d.cluster_plural)}
    assert granted == wanted


def test_bound_to_the_assessor_and_the_reader_stays_read_only() -> None:
    binding = _doc("ClusterRoleBinding")
    assert binding["roleRef"]["name"] == _doc("ClusterRole")["metadata"]["name"]
    account = _one("ServiceAccount", "kwa-assessor")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": account["metadata"]["namespace"]}
    ]
    reader = _one("ClusterRole", "kwa-reader")
    assert all(set(rule["verbs"]) <= READ_VERBS for rule in reader["rules"])
