"""Reading stops between batches when the run is told to (checks.sources.stopping)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from checks.sources import jsonlist, manifests, stopping
from checks.sources.manifests import load_manifests


def documents(count: int) -> str:
    one = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{}, namespace: a}}\n"
    return "".join(one.format(i) for i in range(count))


def children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


def after(calls: int) -> object:
    """A stop that comes on the ``calls``-th question."""
    asked = [0]

    def reason() -> str | None:
        asked[0] += 1
        return "interrupted by SIGTERM" if asked[0] >= calls else None

    return reason


def test_without_a_stop_everything_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(documents(300))
    with stopping.stoppable(lambda: None):
        assert len(load_manifests([str(path)]).objects) == 300


def test_a_stop_ends_reading_yaml_between_groups_of_documents(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(documents(manifests.VET_GROUP * 3))
    with stopping.stoppable(after(3)), pytest.raises(stopping.ReadStopped, match="interrupted by SIGTERM"):
        load_manifests([str(path)])


def test_a_stop_ends_a_streamed_list_between_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    count = 3 * jsonlist.BATCH
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(count)]
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    with stopping.stoppable(after(3)), pytest.raises(stopping.ReadStopped):
        load_manifests([str(path)])


def test_a_stop_during_a_parallel_parse_kills_its_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifests, "PARALLEL_MIN_CHARS", 1)
    monkeypatch.setattr(manifests.os, "cpu_count", lambda: 2)
    parse = manifests._parse_chunks

    def slow_in_workers(chunks: list, first: int, limits: object) -> list:
        if first:  # the forked worker's half: it would outlive the test unless it is killed
            time.sleep(60)
        return parse(chunks, first, limits)  # type: ignore[arg-type]

    monkeypatch.setattr(manifests, "_parse_chunks", slow_in_workers)
    path = tmp_path / "a.yaml"
    path.write_text(documents(manifests.VET_GROUP * 8))
    before = children()
    with stopping.stoppable(after(2)), pytest.raises(stopping.ReadStopped):
        load_manifests([str(path)])
    # the worker parsing the other half is killed and reaped: no child is left behind
    deadline = time.monotonic() + 5
    while children() - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not children() - before
