"""A live run reads the cluster's admission policies and audits the listed objects with them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from checks.config import Config
from checks.runner import evaluate
from checks.sources.live import load_live
from checks.vap.source import checks_for
from tests.sources.k8s_double import serve, write_kubeconfig

POLICY = {
    "metadata": {"name": "replicas.example.com"},
    "spec": {
        "failurePolicy": "Fail",
        "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "matchConstraints": {
            "resourceRules": [
                {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                 "resources": ["deployments"]}
            ]
        },
        "validations": [{"expression": "object.spec.replicas <= int(params.data.max)", "message": "too many"}],
    },
}  # fmt: skip
BINDING = {
    "metadata": {"name": "replicas.example.com"},
    "spec": {
        "policyName": "replicas.example.com",
        "validationActions": ["Deny"],
        "paramRef": {"name": "replica-limit", "namespace": "kube-system", "parameterNotFoundAction": "Deny"},
    },
}


def _load(tmp_path: Path, kmock: Any) -> Any:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"double": str(kmock.url).rstrip("/")})
    return asyncio.to_thread(load_live, kubeconfig, request_timeout=5.0)


@pytest.mark.asyncio
async def test_live_policies_judge_live_objects(kmock: Any, tmp_path: Path) -> None:
    deployments = [
        {"metadata": {"name": name, "namespace": "shop"}, "spec": {"replicas": n, "selector": {}, "template": {}}}
        for name, n in (("web", 2), ("api", 4))
    ]
    serve(
        kmock,
        {
            "ValidatingAdmissionPolicy": [POLICY],
            "ValidatingAdmissionPolicyBinding": [BINDING],
            "Deployment": deployments,
            "ConfigMap": [{"metadata": {"name": "replica-limit", "namespace": "kube-system"}, "data": {"max": "3"}}],
            "Namespace": [{"metadata": {"name": n}} for n in ("shop", "kube-system")],
        },
    )
    snap = await _load(tmp_path, kmock)
    assert "ValidatingAdmissionPolicy" not in snap.unavailable
    (definition,) = checks_for(snap)
    assert definition.id == "VAP-replicas.example.com"
    verdicts = {r.name: (r.status.value, r.message) for r in evaluate(definition, snap, Config())}
    assert verdicts == {
        "web": ("passing", ""),
        "api": (
            "failing",
            "ValidatingAdmissionPolicy 'replicas.example.com' with binding 'replicas.example.com' denied request: "
            "too many",
        ),
    }


@pytest.mark.asyncio
async def test_a_cluster_without_the_v1_api_has_no_policy_checks(kmock: Any, tmp_path: Path) -> None:
    absent = ("VerticalPodAutoscaler", "NodePool", "ScaledObject", "ValidatingAdmissionPolicy",
              "ValidatingAdmissionPolicyBinding")  # fmt: skip
    serve(kmock, {"Namespace": [{"metadata": {"name": "default"}}]}, absent=absent)
    snap = await _load(tmp_path, kmock)
    assert snap.unavailable["ValidatingAdmissionPolicy"] == (
        "not installed: admissionregistration.k8s.io/validatingadmissionpolicies (HTTP 404)"
    )
    assert checks_for(snap) == []
