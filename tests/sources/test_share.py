"""Equal parts of objects held once (checks.sources.share): the same values, fewer Python objects."""

from __future__ import annotations

import copy
import datetime
import json
import math
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.generate import generate
from bench.realistic import decorate, sized_status
from checks.sources import share as share_module
from checks.sources.manifests import load_manifests
from checks.sources.share import TRIALS, Sharer, share, sharing
from checks.sources.slim import slim
from tests.sources.verdicts import all_verdicts


def _pods(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"web-{i}", "namespace": "shop", "uid": f"uid-{i}"},
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "image": "registry.example/web:1.2",
                        "resources": {"requests": {"cpu": "100m"}, "limits": {"memory": "128Mi"}},
                        "volumeMounts": [{"name": f"token-{i}", "mountPath": "/var/run"}],
                    }
                ],
                **extra,
            },
        }
        for i in range(n)
    ]


def test_equal_subtrees_and_strings_become_one_object() -> None:
    pods = _pods(3)
    sharer = Sharer(start=0)
    for pod in pods:
        sharer(pod)
    first, second = (p["spec"]["containers"][0] for p in pods[:2])
    assert first is not second  # each keeps its own volume mount
    assert first["resources"] is second["resources"]
    assert first["image"] is second["image"]
    assert first["volumeMounts"][0]["name"] == "token-0" and second["volumeMounts"][0]["name"] == "token-1"


def _spelled(value: Any) -> str:
    """What a value is, types included (NaN is not equal to itself, 1 == 1.0 == True): its repr."""
    return repr(value)


def test_values_json_spells_alike_are_never_merged() -> None:
    pairs = [
        (None, math.nan),
        (None, math.inf),
        (math.inf, -math.inf),
        (1, 1.0),
        (1, True),
        (0, False),
        (0.0, -0.0),
        ("2024-01-02T03:04:05+00:00", datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)),
        ("2024-01-02", datetime.date(2024, 1, 2)),
    ]
    for a, b in pairs:
        objects = [
            {"kind": "ConfigMap", "metadata": {"name": n}, "data": {"x": {"v": [v]}}} for n, v in (("a", a), ("b", b))
        ]
        expected = [_spelled(o) for o in objects]
        sharer = Sharer(start=0)
        for obj in objects:
            sharer(obj)
        assert [_spelled(o) for o in objects] == expected, (a, b)
        assert objects[0]["data"]["x"] is not objects[1]["data"]["x"]


def test_subclasses_and_non_json_values_are_left_alone() -> None:
    class Text(str):
        pass

    objects = [
        {"kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"x": {"v": Text("same")}}},
        {"kind": "ConfigMap", "metadata": {"name": "b"}, "data": {"x": {"v": "same"}}},
        {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": {"v": 2**70}}},
        {"kind": "ConfigMap", "metadata": {"name": "d"}, "data": {"x": {1: "int key"}}},
    ]
    sharer = Sharer(start=0)
    for obj in objects:
        sharer(obj)
    assert type(objects[0]["data"]["x"]["v"]) is Text and type(objects[1]["data"]["x"]["v"]) is str
    assert objects[2]["data"]["x"]["v"] == 2**70 and objects[3]["data"]["x"] == {1: "int key"}


def test_secrets_are_left_alone() -> None:
    secrets = [
        {"kind": "Secret", "metadata": {"name": n}, "data": {"password": {"v": "aGVsbG8="}}} for n in ("a", "b")
    ]
    sharer = Sharer(start=0)
    for obj in secrets:
        sharer(obj)
    assert secrets[0]["data"] is not secrets[1]["data"]
    assert secrets[0]["data"]["password"] is not secrets[1]["data"]["password"]


def test_small_inputs_are_not_shared_and_reaching_the_threshold_shares_the_earlier_ones() -> None:
    pods = _pods(5)
    sharer = Sharer(start=5)
    for pod in pods[:4]:
        sharer(pod)
    assert not sharer.sharing
    assert pods[0]["spec"]["containers"][0]["resources"] is not pods[1]["spec"]["containers"][0]["resources"]
    sharer(pods[4])
    assert sharer.sharing
    resources = {id(p["spec"]["containers"][0]["resources"]) for p in pods}
    assert len(resources) == 1


def test_a_path_whose_values_never_repeat_stops_being_looked_up() -> None:
    sharer = Sharer(start=0)
    pods = _pods(TRIALS * 3)
    for pod in pods:
        sharer(pod)
    root = sharer._roots["Pod"]
    uid = root.kids["metadata"].kids["uid"]
    assert uid.tried == TRIALS and uid.hits == 0  # unique: no longer looked up
    resources = root.kids["spec"].kids["containers"].kids[0].kids["resources"]
    assert resources.hits == len(pods) - 1  # always equal: always shared
    assert len({id(p["spec"]["containers"][0]["resources"]) for p in pods}) == 1


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.sampled_from([0.0, -0.0, 1.0, math.nan, math.inf, -math.inf])
    | st.sampled_from(["", "a", "b", "null", "1"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["spec", "status"]), json_values, max_size=2), max_size=8))
def test_every_object_keeps_exactly_its_values(bodies: list[dict[str, Any]]) -> None:
    objects = [{"kind": "Thing", "metadata": {"name": str(i)}, **body} for i, body in enumerate(bodies)]
    expected = [_spelled(o) for o in objects]
    sharer = Sharer(start=0)
    for obj in objects:
        sharer(obj)
    assert [_spelled(o) for o in objects] == expected


def _realistic(count: int = 600) -> list[dict]:
    return [slim(decorate(sized_status(o))) for o in generate(count, seed=3)]


def test_no_check_sees_a_difference_and_none_changes_an_object() -> None:
    """Every check's results on realistic objects are the same shared and unshared, and running
    them all leaves every shared object as it was (a check that wrote into a shared part would
    change other objects)."""
    objects = _realistic()
    shared = copy.deepcopy(objects)
    sharer = Sharer(start=0)
    for obj in shared:
        sharer(obj)
    assert len(sharer._trees) > 100  # it did share
    before = [orjson.dumps(o) for o in shared]
    assert before == [orjson.dumps(o) for o in objects]
    assert all_verdicts(shared) == all_verdicts(objects)
    assert [orjson.dumps(o) for o in shared] == before


def _distinct_nodes(objects: list[Any]) -> int:
    seen: set[int] = set()
    stack = list(objects)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return len(seen)


def test_a_manifest_load_shares_and_outside_one_nothing_is_shared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = [decorate(sized_status(o)) for o in generate(400, seed=5)]
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}))
    plain = load_manifests([str(path)])  # 400 objects: under the default threshold
    monkeypatch.setenv("KWA_SHARE_FROM", "0")
    shared = load_manifests([str(path)])
    assert [o.raw for o in shared.objects] == [o.raw for o in plain.objects]
    assert _distinct_nodes([o.raw for o in shared.objects]) < 0.6 * _distinct_nodes([o.raw for o in plain.objects])
    assert share({"kind": "Pod"}) == {"kind": "Pod"}  # no load in progress: returned as it is


def test_the_threshold_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KWA_SHARE_FROM", "7")
    assert share_module.share_from() == 7
    monkeypatch.setenv("KWA_SHARE_FROM", "not a number")
    assert share_module.share_from() == share_module.SHARE_FROM
    monkeypatch.setenv("KWA_SHARE_FROM", "off")
    assert not Sharer().sharing and Sharer()._start > 10**12
    with sharing(start=0) as sharer:
        pods = _pods(2)
        for pod in pods:
            share(pod)
    assert sharer.sharing
    assert pods[0]["spec"]["containers"][0]["resources"] is pods[1]["spec"]["containers"][0]["resources"]


def test_a_live_read_shares_across_pages_and_kinds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.sources.live import load_live
    from tests.sources.fault_double import ApiDouble
    from tests.sources.k8s_double import write_kubeconfig

    pods = [{k: v for k, v in p.items() if k not in ("apiVersion", "kind")} for p in _pods(9)]
    secrets = [{"metadata": {"name": n, "namespace": "shop"}, "type": "Opaque"} for n in ("a", "b")]
    monkeypatch.setenv("KWA_SHARE_FROM", "0")
    with ApiDouble({"Pod": pods, "Namespace": [{"metadata": {"name": "shop"}}], "Secret": secrets}) as api:
        api.version = {"major": "1", "minor": "33", "gitVersion": "v1.33.2"}
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"double": api.url})
        snap = load_live(kubeconfig, page_size=4, kinds=["Pod", "Namespace", "Secret"], request_timeout=5.0)
    read = snap.of_kind("Pod")
    assert [o.name for o in read] == [f"web-{i}" for i in range(9)]  # three pages
    assert len({id(o.raw["spec"]["containers"][0]["resources"]) for o in read}) == 1
    assert len({id(o.namespace) for o in read}) == 1  # strings too
    assert [o.raw["spec"]["containers"][0]["volumeMounts"][0]["name"] for o in read] == [f"token-{i}" for i in range(9)]


@pytest.mark.parametrize("value", ["abc", "-1", "1e5", "20k"])
def test_a_threshold_that_is_not_a_number_stops_the_command_naming_the_variable(value: str) -> None:
    from checks.limits import LimitError, configured

    with pytest.raises(LimitError, match="KWA_SHARE_FROM: expected a whole number of objects"):
        configured(None, environ={"KWA_SHARE_FROM": value})
    for fine in ("0", "50000", "off", "OFF", " "):
        configured(None, environ={"KWA_SHARE_FROM": fine})


def test_threads_reaching_the_threshold_together_share_what_was_held_back_once() -> None:
    import threading

    sharer = Sharer(start=200)
    pods = _pods(400)
    calls: list[int] = []
    original = sharer._share_object
    sharer._share_object = lambda obj: calls.append(id(obj)) or original(obj)  # type: ignore[method-assign]
    barrier = threading.Barrier(4)

    def feed(part: list[dict[str, Any]]) -> None:
        barrier.wait()
        for pod in part:
            sharer(pod)

    threads = [threading.Thread(target=feed, args=(pods[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(calls) == sorted(id(p) for p in pods)  # each object shared exactly once
    assert len({id(p["spec"]["containers"][0]["resources"]) for p in pods}) == 1


def test_objects_of_no_usable_kind_are_left_alone() -> None:
    sharer = Sharer(start=0)
    odd = [{"kind": k, "spec": {"a": {"b": 1}}} for k in (["Pod"], None, 7)] + [{"spec": {"a": {"b": 1}}}]
    for obj in odd:
        assert sharer(obj) is obj
    assert len({id(o["spec"]["a"]) for o in odd}) == 4
