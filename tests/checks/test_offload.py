"""Indexes built in a forked child while the parent builds the others (checks/offload.py): the
same answer as built inline, the parent's own build when the child fails, nothing forked for a
small snapshot."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import checks.cost.references  # noqa: F401  (registers the offloaded reference graph)
from checks import offload
from checks.snapshot import INDEX_BUILDERS, OFFLOADABLE, Snapshot, register_index
from checks.sources.resolve import SourceSpec, load


def _cluster(tmp_path: Path, pods: int) -> Snapshot:
    """``pods`` pods, each mounting its own ConfigMap and Secret, plus those objects."""
    items = []
    for i in range(pods):
        ns = f"ns-{i % 7}"
        items.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": ns}})
        items.append({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"pod-{i}", "namespace": ns},
            "spec": {
                "containers": [{"name": "c", "image": "x:1", "envFrom": [{"secretRef": {"name": f"s-{i}"}}]}],
                "volumes": [{"name": "v", "configMap": {"name": f"cm-{i}"}}],
            },
        })  # fmt: skip
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return load(SourceSpec.from_dict({"kind": "manifests", "paths": [str(path)]}))


def _refs_as_data(refs: object) -> dict[str, object]:
    return {name: getattr(refs, name) for name in ("configmaps", "secrets", "pvcs", "any_ns", "any_name")}


def test_the_offloaded_reference_graph_equals_the_inline_one(tmp_path: Path) -> None:
    assert "cost.references" in OFFLOADABLE
    snap = _cluster(tmp_path, offload.MIN_OBJECTS)
    ran = []
    snap.prepare(alongside=lambda: ran.append(os.getpid()))
    assert ran == [os.getpid()]  # the parent's own work ran meanwhile
    inline = INDEX_BUILDERS["cost.references"](snap)
    assert _refs_as_data(snap.index("cost.references")) == _refs_as_data(inline)
    assert ("ns-3", "cm-3") in inline.configmaps and ("ns-5", "s-5") in inline.secrets


def test_a_child_that_fails_leaves_the_build_to_the_parent(tmp_path: Path) -> None:
    parent = os.getpid()

    @register_index("test.offload-fails-in-child", offload=True)
    def _only_in_parent(snapshot: Snapshot) -> tuple[int, int]:
        if os.getpid() != parent:
            raise RuntimeError("no answer from the child")
        return (os.getpid(), len(snapshot.objects))

    try:
        snap = _cluster(tmp_path, offload.MIN_OBJECTS)
        snap.prepare()
        assert snap.index("test.offload-fails-in-child") == (parent, len(snap.objects))
    finally:
        INDEX_BUILDERS.pop("test.offload-fails-in-child", None)
        OFFLOADABLE.discard("test.offload-fails-in-child")


def test_a_child_answers_from_its_own_process(tmp_path: Path) -> None:
    @register_index("test.offload-pid", offload=True)
    def _pid(snapshot: Snapshot) -> int:
        return os.getpid()

    try:
        big = _cluster(tmp_path, offload.MIN_OBJECTS).prepare()
        assert big.index("test.offload-pid") != os.getpid()  # built in a forked child
        small = _cluster(tmp_path, 10).prepare()
        assert small.index("test.offload-pid") == os.getpid()  # too small to be worth a fork
    finally:
        INDEX_BUILDERS.pop("test.offload-pid", None)
        OFFLOADABLE.discard("test.offload-pid")


@pytest.mark.parametrize("objects", [0, offload.MIN_OBJECTS - 1])
def test_small_snapshots_are_built_inline(objects: int) -> None:
    assert offload.offload(lambda: 1, objects) is None


def test_the_offloaded_schema_findings_equal_the_inline_ones(tmp_path: Path) -> None:
    from checks.schema_full import INDEX, SchemaFindings

    assert INDEX in OFFLOADABLE
    items = []
    for i in range(offload.MIN_OBJECTS):
        policy = "Sometimes" if i % 97 == 0 else "Always"  # not one of the enum: invalid
        items.append({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"pod-{i}", "namespace": f"ns-{i % 5}"},
            "spec": {"containers": [{"name": "c", "image": "x:1", "imagePullPolicy": policy}]},
        })  # fmt: skip
    items.append({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "a"}})
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    snap = load(SourceSpec.from_dict({"kind": "manifests", "paths": [str(path)]})).prepare()
    offloaded: SchemaFindings = snap.index(INDEX)
    inline = INDEX_BUILDERS[INDEX](snap)
    assert offloaded.snapshot is snap
    assert offloaded.invalid_by_name() == inline.invalid_by_name()
    assert offloaded.verdicts()[1] == inline.verdicts()[1]
    assert len(inline.invalid_by_name()) == len(range(0, offload.MIN_OBJECTS, 97))
    assert any(v.unknown for v in inline.verdicts()[1].values())  # the custom resource without a CRD
