"""Live objects cross the same input boundary as manifests: a malformed object from the API (a
proxy, an aggregated API, a CRD without a schema) is quarantined with source ``api``, the rest load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from checks.config import Config
from checks.registry import load_all
from checks.runner import evaluate
from tests.sources.k8s_double import Paginated, serve
from tests.sources.test_live import kubeconfig_for, load, names


@pytest.mark.asyncio
async def test_a_malformed_live_object_is_quarantined_and_the_rest_assessed(kmock: Any, tmp_path: Path) -> None:
    # schema-valid apart from what each is about (OPS-012 would turn other checks' passes into errors)
    template = {"metadata": {"labels": {"app": "api"}}, "spec": {
        "containers": [{"name": "api", "image": "registry.example.com/api:1.0"}]}}
    selector = {"matchLabels": {"app": "api"}}
    good = {"metadata": {"name": "api", "namespace": "shop"}, "spec": {"replicas": 2, "selector": selector,
                                                                      "template": template}}
    bad = {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"template": {"metadata": {"labels": "x"}}}}
    nulls = {"metadata": {"name": "nul", "namespace": "shop", "labels": None},
             "spec": {"replicas": None, "selector": selector, "template": template}}
    vpa = {"metadata": {"name": "v", "namespace": "shop"}, "spec": {"targetRef": "api"}}
    vpas = Paginated("VerticalPodAutoscalerList", [vpa])
    serve(kmock, {"Deployment": [good, bad, nulls]}, overrides={"VerticalPodAutoscaler": vpas})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert names(snap, "Deployment") == ["api", "nul"]
    assert "labels" not in snap.get("Deployment", "shop", "nul").meta  # null is unset
    assert [(m.ref, m.where) for m in snap.malformed] == [
        ("Deployment/shop/web", "api"),
        ("VerticalPodAutoscaler/shop/v", "api"),
    ]
    says = "Deployment/shop/web (api): spec.template.metadata.labels must be a mapping, got a string"
    assert str(snap.malformed[0]) == says
    assert "spec.targetRef must be a mapping, got a string" in str(snap.malformed[1])
    rows = evaluate(load_all().by_id("REL-004"), snap.prepare(), Config())
    assert {(r.name, r.status.value) for r in rows if r.name == "web"} == {("web", "error")}
    assert all(r.status.value != "error" for r in rows if r.name != "web")
