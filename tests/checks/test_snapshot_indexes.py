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


# ---- selecting workloads by a LabelSelector --------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from checks.k8s import selector_matches  # noqa: E402

_KEYS = st.sampled_from(["app", "tier", "zone", "port", "missing"])
_VALUES = st.sampled_from(["a", "b", "c", "80", 80, True, "true"])
_EXPRESSION = st.fixed_dictionaries(
    {"key": st.one_of(_KEYS, st.just(None), st.just(7)),
     "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Bogus"])},
    optional={"values": st.one_of(st.lists(_VALUES, max_size=4), st.just("ab"), st.just({"a": 1}), st.just(None))},
)  # fmt: skip
_SELECTOR = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {},
        optional={
            "matchLabels": st.dictionaries(_KEYS, _VALUES, max_size=3),
            "matchExpressions": st.one_of(st.lists(_EXPRESSION, max_size=3), st.just(None)),
        },
    ),
)


def _labelled(seed: int) -> Snapshot:
    import random

    rng = random.Random(seed)
    objects = []
    for i in range(60):
        keys = [k for k in ("app", "tier", "zone", "port") if rng.random() < 0.7]
        labels = {k: rng.choice(["a", "b", "c", "80", "true"]) for k in keys}
        template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}", "namespace": "n"},
                        "spec": {"selector": {"matchLabels": labels}, "template": template}})  # fmt: skip
    return Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(objects)]).prepare()


_SNAPSHOTS = [_labelled(seed) for seed in range(3)]


@settings(max_examples=300, deadline=None)
@given(selector=_SELECTOR, which=st.integers(0, 2))
def test_selecting_through_the_label_index_is_filtering_every_workload(selector: dict, which: int) -> None:
    """Whatever narrows the candidates (a matchLabels pair, an In expression's values, an Exists
    key), the workloads a selector picks, and their order, are those of trying it on every one."""
    snap = _SNAPSHOTS[which]
    expected = [w for w in snap.workloads() if selector_matches(selector, w.pod_labels)]
    got = snap.select_workloads("n", selector)
    assert [id(w) for w in got] == [id(w) for w in expected]
    first = snap.first_workload("n", selector)
    assert first is (expected[0] if expected else None)
