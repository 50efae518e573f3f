"""Ingest slimming: what a real API server adds is dropped, and no check's verdict changes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bench.generate import generate
from bench.realistic import LAST_APPLIED, decorate, sized_status
from checks.sources.manifests import load_manifests
from checks.sources.slim import MAX_ANNOTATION_CHARS, slim
from tests.sources.verdicts import all_verdicts


def _realistic(count: int = 600) -> list[dict]:
    return [decorate(sized_status(o)) for o in generate(count, seed=3)]


def test_managed_fields_keep_their_times_and_last_applied_goes() -> None:
    obj = decorate(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "shop", "creationTimestamp": "2026-01-02T03:04:05Z",
                         "annotations": {"team": "payments"}},
            "spec": {"replicas": 2, "template": {"metadata": {"annotations": {"kwa.io/exempt": "SEC-001"}}}},
            "status": {"readyReplicas": 2},
        }
    )
    assert LAST_APPLIED in obj["metadata"]["annotations"]
    assert all("fieldsV1" in e for e in obj["metadata"]["managedFields"])
    slim(obj)
    meta = obj["metadata"]
    assert meta["annotations"] == {"team": "payments"}
    assert meta["managedFields"] == [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "time": "2026-01-02T03:04:05Z"},
        {"manager": "kube-controller-manager", "operation": "Update", "subresource": "status",
         "time": "2026-01-02T03:04:05Z"},
    ]
    # The pod template's own annotations are the workload's: untouched.
    assert obj["spec"]["template"]["metadata"]["annotations"] == {"kwa.io/exempt": "SEC-001"}


def test_a_nodes_image_list_goes() -> None:
    node = sized_status({"kind": "Node", "metadata": {"name": "n1"}, "status": {"nodeInfo": {}, "allocatable": {}}})
    assert node["status"]["images"]
    slim(node)
    assert "images" not in node["status"] and "allocatable" in node["status"]


def test_long_annotations_go_unless_kwa_reads_them() -> None:
    long = "x" * (MAX_ANNOTATION_CHARS + 1)
    obj = {"metadata": {"name": "a", "annotations": {"helm.sh/big": long, "kwa.io/exempt-reason": long, "short": "y"}}}
    slim(obj)
    assert obj["metadata"]["annotations"] == {"kwa.io/exempt-reason": long, "short": "y"}


@pytest.mark.parametrize(
    "meta",
    [
        {"name": "a", "managedFields": "not a list"},
        {"name": "a", "managedFields": [{"time": "t"}, "not a mapping"]},
        {"name": "a", "annotations": ["not", "a", "mapping"]},
    ],
)
def test_malformed_fields_are_left_for_the_input_boundary_to_name(meta: dict) -> None:
    obj = {"metadata": copy.deepcopy(meta)}
    slim(obj)
    assert obj["metadata"] == meta


def test_no_check_sees_a_difference() -> None:
    """Every check's results on realistic objects are the same with and without slimming."""
    objects = _realistic()
    slimmed = [slim(copy.deepcopy(o)) for o in objects]
    assert sum(len(json.dumps(o)) for o in slimmed) < 0.6 * sum(len(json.dumps(o)) for o in objects)
    assert all_verdicts(slimmed) == all_verdicts(objects)


def test_a_large_json_dump_is_read_item_by_item_and_slimmed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.sources import jsonlist

    objects = _realistic(300)
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2))
    whole = load_manifests([str(path)])
    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    calls = []
    original = jsonlist._measured
    monkeypatch.setattr(jsonlist, "_measured", lambda raws, limits: calls.append(len(raws)) or original(raws, limits))
    streamed = load_manifests([str(path)])
    assert calls and sum(calls) == len(objects)
    assert [o.raw for o in streamed.objects] == [o.raw for o in whole.objects]
    # Items keep their own lines in an indented dump.
    assert [(o.place.line, o.place.end_line) for o in streamed.objects] == [
        (o.place.line, o.place.end_line) for o in whole.objects
    ]
    assert all(LAST_APPLIED not in o.annotations for o in streamed.objects)
    assert not streamed.problems


def test_a_streamed_item_over_a_limit_costs_that_item_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.sources import jsonlist

    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    deep: dict = {}
    node = deep
    for _ in range(120):
        node["x"] = {}
        node = node["x"]
    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok-1", "namespace": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "deep", "namespace": "a"}, "data": deep},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok-2", "namespace": "a"}},
    ]
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["ok-1", "ok-2"]
    assert len(snap.problems) == 1
    assert "items[1]" in str(snap.problems[0]) and "limits.depth" in str(snap.problems[0])


def test_a_duplicate_key_in_a_streamed_dump_rejects_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.sources import jsonlist

    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    item = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "name": "b"}}'
    path = tmp_path / "dump.json"
    path.write_text('{"apiVersion": "v1", "kind": "List", "items": [' + item + "]}")
    snap = load_manifests([str(path)])
    assert not snap.objects
    assert "duplicate" in str(snap.problems[0]).lower()
