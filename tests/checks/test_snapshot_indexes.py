"""The snapshot's indexes and workloads, built in one inlined pass, equal the plain definitions."""

from __future__ import annotations

import copy
from collections import defaultdict

import pytest

from bench.generate import generate
from bench.realistic import decorate, sized_status
from checks.snapshot import WORKLOAD_KINDS, K8sObject, Snapshot, Workload, pod_template


def _objects() -> list[dict]:
    objects = [decorate(sized_status(o)) for o in generate(800, seed=11)]
    # Owners that are not in the snapshot, owner references without a controller, an empty list.
    objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "orphan", "namespace": "x",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "gone", "controller": True}]},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}})  # fmt: skip
    objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "loose", "namespace": "x",
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "gone"}]},
                    "spec": {"containers": [{"name": "c", "image": "i"}]}})  # fmt: skip
    objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "none", "namespace": "x",
                    "ownerReferences": []}, "spec": {"containers": [{"name": "c", "image": "i"}]}})  # fmt: skip
    return objects


def _plain_workloads(snap: Snapshot) -> list[Workload]:
    out = []
    for kind in WORKLOAD_KINDS:
        for obj in snap.of_kind(kind):
            if obj.controller_ref is not None and snap._owner_present(obj):
                continue
            pt = pod_template(obj)
            if pt is not None:
                out.append(Workload(obj, pt[0], pt[1]))
    return out


@pytest.mark.parametrize("mode", ["manifest", "live"])
def test_indexes_and_workloads_match_their_plain_definitions(mode: str) -> None:
    snap = Snapshot([K8sObject(copy.deepcopy(o), "f", i) for i, o in enumerate(_objects())], mode=mode)
    children: dict = defaultdict(list)
    for obj in snap.objects:
        for ref in obj.owner_refs:
            children[(ref.get("kind", ""), obj.namespace, ref.get("name", ""))].append(obj)
    assert snap._children == children
    assert snap._by_name == {(o.kind, o.namespace, o.name): o for o in snap.objects}
    assert snap._by_uid == {o.uid: o for o in snap.objects if o.uid}
    got = [(w.obj, w.pod_spec) for w in snap.workloads()]
    want = [(w.obj, w.pod_spec) for w in _plain_workloads(snap)]
    assert got == want and len(got) > 50
