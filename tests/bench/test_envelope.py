"""bench.envelope's shape and determinism, and what bench.realistic adds to every object."""

from __future__ import annotations

import io
import json
from collections import Counter
from typing import Any

import pytest

from bench.envelope import OBJECTS_PER_NODE, build
from bench.generate import DAEMONSETS
from bench.realistic import LAST_APPLIED, decorate

SIZE = 4000


def _dump(objects: int, seed: int = 7) -> tuple[str, Counter[str]]:
    fh = io.StringIO()
    kinds = build(objects, fh, seed)
    return fh.getvalue(), kinds


@pytest.fixture(scope="module")
def envelope() -> tuple[str, Counter[str], list[dict[str, Any]]]:
    text, kinds = _dump(SIZE)
    return text, kinds, json.loads(text)["items"]


def test_the_envelope_has_its_proportions_at_a_small_size(envelope: Any) -> None:
    text, kinds, items = envelope
    assert json.loads(text)["kind"] == "List"
    assert Counter(o["kind"] for o in items) == kinds  # the histogram is what was written
    assert SIZE <= len(items) < SIZE + 100  # the last namespace is completed, no more
    nodes = kinds["Node"]
    assert nodes == SIZE // OBJECTS_PER_NODE  # 5,000 of 400,000
    ds_pods = [o for o in items if o["kind"] == "Pod" and o["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"]
    assert len(ds_pods) == len(DAEMONSETS) * nodes  # one pod per node for each DaemonSet
    # The envelope: 150,000 pods, 10,000 namespaces and 10,000 Services in 400,000 objects.
    assert kinds["Pod"] / len(items) == pytest.approx(150 / 400, rel=0.15)
    assert kinds["Namespace"] / len(items) == pytest.approx(10 / 400, rel=0.2)
    assert kinds["Service"] / len(items) == pytest.approx(10 / 400, rel=0.25)
    assert kinds["EndpointSlice"] == kinds["Endpoints"] == kinds["Service"]
    assert kinds["ReplicaSet"] > kinds["Deployment"] > kinds["Namespace"]
    assert kinds["ConfigMap"] >= kinds["Namespace"]  # every namespace's kube-root-ca.crt at least
    for kind in ("Secret", "ServiceAccount", "Role", "RoleBinding", "StatefulSet", "DaemonSet"):
        assert kinds[kind] > 0, kind


def test_the_envelope_is_deterministic_per_seed() -> None:
    text = _dump(1000)[0]
    assert _dump(1000)[0] == text
    assert _dump(1000, seed=8)[0] != text


def test_envelope_objects_are_as_an_api_server_returns_them(envelope: Any) -> None:
    _, _, items = envelope
    assert all(o["metadata"].get("managedFields") for o in items)
    helm = [o for o in items if o["metadata"].get("labels", {}).get("app.kubernetes.io/managed-by") == "Helm"]
    assert helm, "some releases are Helm-managed"
    for obj in helm:
        assert obj["metadata"]["managedFields"][0]["manager"] == "helm"
        assert LAST_APPLIED not in obj["metadata"].get("annotations", {})
    applied = [o for o in items if o["kind"] == "Deployment" and o not in helm]
    assert applied and all(LAST_APPLIED in o["metadata"]["annotations"] for o in applied)
    assert all("data" not in o and "type" in o for o in items if o["kind"] == "Secret")
    node = next(o for o in items if o["kind"] == "Node")
    assert 0 < len(node["status"]["images"]) <= 50 and node["status"]["nodeInfo"]["bootID"]
    running = [o for o in items if o["kind"] == "Pod" and o["status"]["phase"] == "Running"]
    assert running and all(o["status"]["podIPs"] == [{"ip": o["status"]["podIP"]}] for o in running)
    assert all(o["metadata"].get("generation") for o in items if o["kind"] in ("Deployment", "ReplicaSet"))
    pods = [o for o in items if o["kind"] == "Pod"]
    assert {o["spec"]["securityContext"].get("runAsNonRoot") for o in pods} == {True, None}  # good and bad


def test_decorate_adds_managed_fields_and_the_last_applied_manifest() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "team", "labels": {"app": "api"}, "uid": "u1"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "api", "image": "api:1"}]}}},
        "status": {"replicas": 2},
    }
    decorate(deployment)
    meta = deployment["metadata"]
    applied = json.loads(meta["annotations"][LAST_APPLIED])
    assert applied == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "team", "labels": {"app": "api"}},
        "spec": deployment["spec"],
    }
    spec_entry, status_entry = meta["managedFields"]
    assert spec_entry["manager"] == "kubectl-client-side-apply" and spec_entry["fieldsType"] == "FieldsV1"
    containers = spec_entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert set(containers['k:{"name":"api"}']) == {".", "f:name", "f:image"}
    assert status_entry["subresource"] == "status" and "f:replicas" in status_entry["fieldsV1"]["f:status"]
    assert meta["generation"] == 1


def test_decorate_gives_controller_objects_their_controller_and_no_last_applied() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "status": {"phase": "Running"}}
    decorate(pod)
    managers = [e["manager"] for e in pod["metadata"]["managedFields"]]
    assert managers == ["kube-controller-manager", "kubelet"]
    assert LAST_APPLIED not in pod["metadata"].get("annotations", {})
    assert "generation" not in pod["metadata"]
