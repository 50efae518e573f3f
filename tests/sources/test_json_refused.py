"""JSON that orjson refuses (checks.sources.jsondocs, checks.sources.jsondeep): a stream of
documents, nesting past orjson's depth, a dump cut short. Each loses only what is broken, says
where, and never reaches the YAML parser's slow path for plainly-JSON text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.sources import fastyaml, jsondocs, jsonlist
from checks.sources.manifests import load_manifests


def cm(name: str, **extra: object) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "a"}, **extra}


def deep_json(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def messages(snap) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(p) for p in snap.problems]


def test_a_stream_of_json_documents_is_read_document_by_document(tmp_path: Path) -> None:
    """Two ``kubectl get -o json`` outputs in one file: both read, each with its own index and
    lines, as YAML's documents are."""
    first = json.dumps(cm("one"), indent=2)
    second = json.dumps({"apiVersion": "v1", "kind": "List", "items": [cm("two"), cm("three")]}, indent=2)
    path = tmp_path / "two.json"
    path.write_text(first + "\n" + second + "\n")
    snap = load_manifests([str(path)])
    assert not snap.problems
    assert [o.name for o in snap.objects] == ["one", "two", "three"]
    first_lines = first.count("\n") + 1
    assert snap.objects[0].place.line == 1 and snap.objects[0].place.end_line == first_lines
    assert snap.objects[1].place.line > first_lines  # an item of the second document, on its own lines


def test_json_lines_with_a_broken_line_lose_that_line_only(tmp_path: Path) -> None:
    path = tmp_path / "objects.jsonl.json"
    broken = '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": '
    lines = [json.dumps(cm("one")), broken, json.dumps(cm("three"))]
    path.write_text("\n".join(lines) + "\n")
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["one", "three"]
    (problem,) = messages(snap)
    assert "(document 1)" in problem and "JSON does not parse" in problem and "(line 2, column" in problem


def test_an_item_nested_past_orjsons_depth_costs_that_item_only(tmp_path: Path) -> None:
    """Nested 300 deep, orjson reads the item and the measurement skips it; nested 5,000 deep,
    orjson refuses the whole document. Both now cost the item alone, with the depth verdict."""
    items: list[object] = [cm(f"cm-{i}") for i in range(5)]
    items[2] = "DEEP"
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=2)
    deep_line = text[: text.index('"DEEP"')].count("\n") + 1
    text = text.replace('"DEEP"', json.dumps(cm("deep"))[:-1] + ', "data": ' + deep_json(5000) + "}")
    path = tmp_path / "dump.json"
    path.write_text(text)
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["cm-0", "cm-1", "cm-3", "cm-4"]
    (problem,) = messages(snap)
    assert f"items[2]: nested deeper than limits.depth (100) (line {deep_line}, column" in problem
    # every item keeps its own lines, those after the deep one too
    lines = text.splitlines()
    for obj in snap.objects:
        named = next(n for n, line in enumerate(lines, 1) if f'"name": "{obj.name}"' in line)
        assert obj.place.line < named < obj.place.end_line, obj.name


def test_a_streamed_list_with_an_item_too_deep_for_orjson_keeps_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    items = [cm("ok-1"), "DEEP", cm("ok-2")]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    text = text.replace('"DEEP"', json.dumps(cm("deep"))[:-1] + ', "data": ' + deep_json(3000) + "}")
    path = tmp_path / "dump.json"
    path.write_text(text)
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["ok-1", "ok-2"]
    (problem,) = messages(snap)
    assert "items[1]: nested deeper than limits.depth (100) (line 1, column" in problem


def test_depth_past_orjsons_outside_any_item_rejects_the_document_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps(cm("deep"))[:-1] + ', "data": ' + deep_json(2000) + "}")
    snap = load_manifests([str(path)])
    assert not snap.objects
    problem = messages(snap)[0]
    assert "nested deeper than limits.depth (100) (line 1, column" in problem
    assert "YAML" not in problem


def test_a_large_dump_cut_short_is_read_in_about_a_second(tmp_path: Path) -> None:
    """A big one-line dump cut short (a full disk, a killed kubectl) never reaches the YAML parser,
    which needed minutes and gigabytes to say a 40 MB one ends early: the items before the cut are
    read and the cut is reported where it is."""
    items = [cm(f"cm-{i}", data={"k": "v" * 200}) for i in range(12000)]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    assert len(text) > jsondocs.YAML_FALLBACK_MAX
    cut = text[: len(text) // 2]
    path = tmp_path / "cut.json"
    path.write_text(cut)
    snap = load_manifests([str(path)])
    (problem,) = messages(snap)
    assert f"JSON does not parse: the input ends early (line 1, column {len(cut) + 1}), inside items[" in problem
    assert 5900 < len(snap.objects) < 6100


def test_a_large_json_damaged_in_the_middle_gets_jsons_own_located_error(tmp_path: Path) -> None:
    items = [cm(f"cm-{i}", data={"k": "v" * 200}) for i in range(12000)]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    middle = len(text) // 2
    path = tmp_path / "damaged.json"
    path.write_text(text[:middle] + "\x01" + text[middle:])
    snap = load_manifests([str(path)])
    (problem, *_) = messages(snap)
    assert "JSON does not parse: " in problem and f"(line 1, column {middle + 1})" in problem
    assert "YAML" not in problem


def test_flow_style_yaml_small_or_large_still_reads_as_yaml(tmp_path: Path) -> None:
    """YAML that starts with "{" is not JSON, however large: orjson stops at its first unquoted key."""
    path = tmp_path / "flow.yaml"
    path.write_text("{apiVersion: v1, kind: ConfigMap, metadata: {name: flow, namespace: a}}  # a comment\n")
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == ["flow"] and not snap.problems
    item = "{apiVersion: v1, kind: ConfigMap, metadata: {name: cm-%d, namespace: a}, data: {k: v}}"
    text = "{apiVersion: v1, kind: List, items: [" + ", ".join(item % i for i in range(20_000)) + "]}\n"
    assert len(text) > jsondocs.YAML_FALLBACK_MAX
    path.write_text(text)
    snap = load_manifests([str(path)])
    assert len(snap.objects) == 20_000 and not snap.problems


# The scan of fastyaml._unquoted once searched each quoted scalar's line from its start: quadratic
# on one-line JSON (a 1 MB dump cut short took over five minutes). Its lead test is now read
# backwards from the scalar; this is the rule it replaced, with the dash alternative on every line.
_OLD_LEAD = re.compile(r""":[ \t]+$|[\[{,][ \t]*$|\A[ \t]*(?:-[ \t]+)+$""")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t-:[{,ab\"'", max_size=30), st.data())
def test_a_scalars_lead_is_read_as_the_rule_says(segment: str, data: st.DataObject) -> None:
    prefix = data.draw(st.sampled_from(["", "x\n", "key: v\n  "]))
    text = prefix + segment + '"q"'
    line_start = text.rfind("\n", 0, len(prefix) + len(segment)) + 1
    start = len(prefix) + len(segment)
    assert fastyaml._leads(text, line_start, start) == bool(_OLD_LEAD.search(text[line_start:start]))


@pytest.mark.parametrize("indent", [None, 4], ids=["one-line", "indented"])
def test_a_list_cut_short_keeps_its_complete_items(tmp_path: Path, indent: int | None) -> None:
    """``kubectl get -A -o json > dump.json`` killed half-way: every item that arrived whole is
    assessed, with its own lines; the cut is one problem saying where and what it cost. kubectl
    writes ``kind`` after the items, so the cut dump has none: it is still read as a List."""
    items = [cm(f"cm-{i}", data={"k": "v" * 50}) for i in range(40)]
    text = json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}, indent=indent)
    cut = text[: text.index('"cm-30"') + 3]  # inside items[30]
    path = tmp_path / "cut.json"
    path.write_text(cut)
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == [f"cm-{i}" for i in range(30)]
    (problem,) = messages(snap)
    assert "JSON does not parse: the input ends early (line" in problem
    assert "inside items[30]; the 30 items before it were read" in problem
    if indent:
        lines = cut.splitlines()
        for obj in snap.objects:
            named = next(n for n, line in enumerate(lines, 1) if f'"name": "{obj.name}"' in line)
            assert obj.place.line < named < obj.place.end_line
    assert snap.problems.stats.documents == 1


def test_a_streamed_list_cut_short_keeps_its_complete_items(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": [cm(f"cm-{i}") for i in range(1200)]})
    path = tmp_path / "cut.json"
    path.write_text(text[: text.index('"cm-1100"')])
    snap = load_manifests([str(path)])
    assert len(snap.objects) == 1100
    assert "inside items[1100]; the 1,100 items before it were read" in messages(snap)[0]


def test_a_cut_before_any_item_or_outside_a_list_is_only_reported(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Conf')
    snap = load_manifests([str(path)])
    assert not snap.objects
    assert "the input ends early" in messages(snap)[0] and "the 0 items before it were read" in messages(snap)[0]
    path.write_text(json.dumps(cm("one"))[:-10])
    snap = load_manifests([str(path)])
    assert not snap.objects and "does not parse" in messages(snap)[0]
