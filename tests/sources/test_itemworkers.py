"""A large List read by forked workers gives exactly what reading it in one process gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.generate import generate
from bench.realistic import decorate, sized_status
from checks.sources import itemworkers, jsonlist
from checks.sources.manifests import load_manifests


def _deep(levels: int) -> dict:
    top: dict = {}
    node = top
    for _ in range(levels):
        node["x"] = {}
        node = node["x"]
    return top


def _dump(tmp_path: Path, items_text: list[str], kind: str = "List") -> Path:
    path = tmp_path / "dump.json"
    path.write_text('{"apiVersion": "v1", "kind": "' + kind + '", "items": [\n' + ",\n".join(items_text) + "\n]}")
    return path


def _where(place):  # type: ignore[no-untyped-def]
    return None if place is None else (place.start, place.end, place.line, place.end_line, place.column)


def _read(path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    monkeypatch.setattr(jsonlist, "BATCH", 16)
    monkeypatch.setattr(itemworkers, "MIN_ITEMS", 1 if parallel else 10**9)
    snap = load_manifests([str(path)])
    return (
        [(o.raw, o.source, o.index, _where(o.place)) for o in snap.objects],
        [str(p) for p in snap.problems],
        [m.summary() for m in snap.malformed],
    )


def _edge_items() -> list[str]:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "a"}}
    return [
        json.dumps({**cm, "metadata": {"name": "deep", "namespace": "a"}, "data": _deep(120)}),
        json.dumps({**cm, "metadata": {"name": "long", "namespace": "a"}, "data": {"k": "v" * 2_000_000}}),
        '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big-int", "namespace": "a"}, '
        '"data": {"n": 123456789012345678901234567890}}',
        '"not an object"',
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "a"}}),
        json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "a"}, "spec": 7}),
    ]


def test_workers_read_a_realistic_dump_as_one_process_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    objects = [json.dumps(decorate(sized_status(o))) for o in generate(400, seed=5)]
    objects[37:37] = _edge_items()
    path = _dump(tmp_path, objects)
    serial = _read(path, monkeypatch, parallel=False)
    parallel = _read(path, monkeypatch, parallel=True)
    assert parallel == serial
    assert len(serial[0]) > 390 and len(serial[1]) >= 5


def test_items_without_a_kind_are_slimmed_as_their_list_says(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = [
        json.dumps({"metadata": {"name": f"n{i}"}, "status": {"images": [{"names": ["a"]}], "phase": "x"}})
        for i in range(40)
    ]
    path = _dump(tmp_path, nodes, kind="NodeList")
    serial = _read(path, monkeypatch, parallel=False)
    assert _read(path, monkeypatch, parallel=True) == serial
    assert all("images" not in raw["status"] for raw, *_ in serial[0])


def test_a_duplicate_key_in_a_later_batch_rejects_the_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    items = [json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}) for i in range(100)]
    items[70] = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "name": "b"}}'
    items[3] = '"not an object"'
    path = _dump(tmp_path, items)
    serial = _read(path, monkeypatch, parallel=False)
    assert _read(path, monkeypatch, parallel=True) == serial
    assert not serial[0] and any("defined twice" in p for p in serial[1])


def test_a_worker_that_fails_has_its_chunk_read_by_the_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.sandbox

    objects = [json.dumps(decorate(sized_status(o))) for o in generate(120, seed=2)]
    path = _dump(tmp_path, objects)
    serial = _read(path, monkeypatch, parallel=False)

    def broken(fn, timeout):  # type: ignore[no-untyped-def]
        raise checks.sandbox.ChildDied("gone")

    monkeypatch.setattr(checks.sandbox, "run_with_deadline", broken)
    assert _read(path, monkeypatch, parallel=True) == serial


def test_nothing_of_the_reading_outlives_it_with_the_collector_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kwa reads with the collector off and then freezes what exists: a reference cycle left by the
    workers would keep the input's items (a whole dump) alive for the run."""
    import gc

    objects = [json.dumps(decorate(sized_status(o))) for o in generate(120, seed=4)]
    path = _dump(tmp_path, objects)
    gc.collect()
    gc.disable()
    try:
        _read(path, monkeypatch, parallel=True)
        left = [o for o in gc.get_objects() if isinstance(o, itemworkers._Chunk)]
    finally:
        gc.enable()
    assert left == []
