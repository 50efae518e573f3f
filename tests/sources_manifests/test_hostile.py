"""Every limit on every parsing path: rapidyaml or PyYAML, serial or in forked workers.

Each hostile document becomes one problem naming the file, the document and the limit (or the
key and its line); the documents around it are read as if it were not there; nothing raises.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import checks.sources.manifests as manifests
from checks.limits import DUPLICATE_KEY, ENCODING, LIMIT, Limits, Problems
from checks.snapshot import Snapshot
from checks.sources import fastyaml
from checks.sources.manifests import load_manifests


def deployment(name: str) -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: shop}}\n"
        f"spec:\n  template:\n    spec:\n      containers: [{{name: c, image: 'nginx:1.27'}}]\n"
    )


def billion_laughs() -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: lol}", "data:",
             '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, current in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {current}: &{current} [" + ",".join(f"*{previous}" for _ in range(9)) + "]")
    return "\n".join(lines) + "\n"


def merge_bomb() -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata: {name: merge}", "m0: &m0 {k0: 1, k1: 2, k2: 3}"]
    for level in range(1, 10):
        lines.append(f"m{level}: &m{level}\n  <<: [" + ", ".join([f"*m{level - 1}"] * 9) + "]\n  k: 1")
    return "\n".join(lines) + "\n"


@pytest.fixture(params=["rapidyaml", "pyyaml"])
def yaml_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both YAML paths: with rapidyaml, or with PyYAML alone (as where rapidyaml has no wheel)."""
    if request.param == "pyyaml":
        monkeypatch.setattr(fastyaml, "ryml", None)
    elif not fastyaml.available():
        pytest.skip("rapidyaml is not installed")
    return str(request.param)


@pytest.fixture(params=["serial", "parallel"])
def parse_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Serial, or the forked workers a dump over 2 MB goes to."""
    monkeypatch.setattr(manifests, "PARALLEL_MIN_CHARS", 10**12 if request.param == "serial" else 1)
    monkeypatch.setattr(manifests.os, "cpu_count", lambda: 2)
    return str(request.param)


def read(tmp_path: Path, *documents: str, limits: Limits | None = None, name: str = "app.yaml") -> Snapshot:
    # Good documents around the hostile one, and enough of them for the parallel path (2 workers
    # need 4 documents).
    path = tmp_path / name
    path.write_text("---\n".join([deployment("web"), *documents, deployment("api"), deployment("db")]))
    return load_manifests([str(path)], limits=limits or Limits())


def only_problem(snap: Snapshot, *documents: int) -> list[str]:
    """The problems' messages, after checking that they are for ``documents`` and that every
    Deployment around them was read."""
    assert sorted(o.name for o in snap.objects if o.kind == "Deployment") == ["api", "db", "web"]
    assert [p.index for p in snap.problems] == list(documents), snap.problems
    return [p.message for p in snap.problems]


HOSTILE = {
    "billion laughs": (billion_laughs(), "expands to more than limits.alias_nodes (1,000,000) nodes"),
    "merge-key bomb": (merge_bomb(), "expands to more than limits.alias_nodes (1,000,000) nodes"),
    "recursive alias": ("a: &a [*a]\n", "an alias inside its own anchor"),
    "recursive merge": ("a: &a {<<: *a, b: 1}\n", "an alias inside its own anchor"),
    "deep flow": ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested deeper than limits.depth (100)"),
    "deep compact block": ("- " * 100_000 + "x\n", "nested deeper than limits.depth (100)"),
    "deep block": ("".join(" " * i + "k:\n" for i in range(150)) + " " * 150 + "x: 1\n",
                   "nested deeper than limits.depth (100)"),
    "deep JSON in a stream": ("[" * 5_000 + "]" * 5_000 + "\n", "nested deeper than limits.depth (100)"),
    "undefined alias": ("a: *nothing\n", "YAML does not parse: found undefined alias"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_hostile_document_costs_only_itself(case: str, yaml_path: str, parse_mode: str, tmp_path: Path) -> None:
    text, message = HOSTILE[case]
    snap = read(tmp_path, text)
    (problem,) = only_problem(snap, 1)
    assert message in problem, problem
    assert snap.problems.counts[LIMIT if "limits" in message or "anchor" in message else "syntax"] == 1


def test_aliases_within_the_limits_read_as_pyyaml_reads_them(yaml_path: str, parse_mode: str, tmp_path: Path) -> None:
    # What PyYAML's dumper writes for shared objects (the benchmark's dump is full of these).
    shared = deployment("shared").replace(
        "spec:\n", "spec:\n  strategy: &s {type: RollingUpdate}\n  x: *s\n  y: [*s, *s]\n", 1
    )
    snap = read(tmp_path, shared)
    assert not snap.problems
    obj = next(o for o in snap.objects if o.name == "shared")
    assert obj.raw["spec"]["x"] == obj.raw["spec"]["y"][1] == {"type": "RollingUpdate"}


def test_an_alias_count_over_the_limit(yaml_path: str, parse_mode: str, tmp_path: Path) -> None:
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: &a x, b: *a, c: *a, d: *a}\n"
    snap = read(tmp_path, doc, limits=replace(Limits(), aliases=2))
    (problem,) = only_problem(snap, 1)
    assert problem == "more than limits.aliases (2) aliases; the last refers to the anchor (line 12, column 11)"
    assert not read(tmp_path, doc, limits=replace(Limits(), aliases=3)).problems


def test_an_alias_expansion_just_under_the_limit_is_read(yaml_path: str, tmp_path: Path) -> None:
    # Four levels of nine: 6,561 strings. Within alias_nodes = 10,000, over 5,000.
    # A custom resource: its schema is not known, so nested lists are not malformed (a ConfigMap's
    # data would be: its values must be strings).
    lines = ["apiVersion: example.com/v1", "kind: Widget", "metadata: {name: small}", "spec:",
             "  a: &a [x, x, x, x, x, x, x, x, x]"]
    for previous, current in zip("abc", "bcd", strict=True):
        lines.append(f"  {current}: &{current} [" + ",".join(f"*{previous}" for _ in range(9)) + "]")
    doc = "\n".join(lines) + "\n"
    snap = read(tmp_path, doc, limits=replace(Limits(), alias_nodes=10_000))
    assert not snap.problems
    assert len([s for a in next(o for o in snap.objects if o.name == "small").raw["spec"]["d"] for b in a
                for c in b for s in c]) == 6561
    (problem,) = only_problem(read(tmp_path, doc, limits=replace(Limits(), alias_nodes=5_000)), 1)
    assert "limits.alias_nodes (5,000)" in problem


def test_depth_at_the_limit_is_read_and_one_more_is_not(yaml_path: str, tmp_path: Path) -> None:
    limits = replace(Limits(), depth=40)
    def nested(levels: int) -> str:  # a custom resource whose spec nests to ``levels`` collections in all
        return "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: n}\nspec: " + "{a: " * (levels - 1) + "1" + \
            "}" * (levels - 1) + "\n"
    assert not read(tmp_path, nested(40), limits=limits).problems
    (problem,) = only_problem(read(tmp_path, nested(41), limits=limits), 1)
    assert problem.startswith("nested deeper than limits.depth (40)")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
         'mapping key "name" defined twice (line 13, column 3; first defined at line 12)'),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x, name: b}\n",
         'mapping key "name" defined twice (line 11, column 35; first defined at line 11)'),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  1: one\n  0x1: also one\n",
         "mapping key 1 defined twice (line 14, column 3; first defined at line 13)"),
    ],
    ids=["block", "flow", "equal after resolution"],
)
def test_a_duplicate_key_is_refused_with_its_line(
    doc: str, message: str, yaml_path: str, parse_mode: str, tmp_path: Path
) -> None:
    snap = read(tmp_path, doc)
    assert only_problem(snap, 1) == [message]
    assert snap.problems.counts[DUPLICATE_KEY] == 1


def test_merged_keys_may_be_overridden_without_a_duplicate(yaml_path: str, tmp_path: Path) -> None:
    doc = ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: m}\n"
           "base: &b {x: 1, y: 2}\nspec:\n  <<: *b\n  x: 3\n")
    snap = read(tmp_path, doc)
    assert not snap.problems
    assert next(o for o in snap.objects if o.name == "m").raw["spec"] == {"x": 3, "y": 2}


def test_a_string_over_the_limit(yaml_path: str, parse_mode: str, tmp_path: Path) -> None:
    limits = replace(Limits(), string_length=10_000)
    block = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  script: |\n" + \
        "".join(f"    line {i} of a script that goes on\n" for i in range(500))
    (problem,) = only_problem(read(tmp_path, block, limits=limits), 1)
    assert problem.startswith("a string of 16,890 characters") and "over limits.string_length (10,000)" in problem
    assert not read(tmp_path, block, limits=replace(Limits(), string_length=20_000)).problems


def test_a_document_over_document_bytes_is_not_parsed_but_a_list_may_hold_that_much_per_item(
    tmp_path: Path,
) -> None:
    limits = replace(Limits(), document_bytes=2_000)
    big = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n" + "".join(
        f"  k{i}: value number {i}\n" for i in range(200))
    (problem,) = only_problem(read(tmp_path, big, limits=limits), 1)
    assert problem.startswith("a document of ")
    assert problem.endswith("over limits.document_bytes (2,000 bytes); not parsed")
    items = "".join(f"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: c{i}}}\n  data: {{k: v}}\n"
                    for i in range(100))
    dump = "apiVersion: v1\nkind: List\nitems:\n" + items
    snap = read(tmp_path, dump, limits=limits)
    assert not snap.problems and len([o for o in snap.objects if o.kind == "ConfigMap"]) == 100
    one_big_item = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n" \
        "  metadata: {name: big}\n  data:\n" + "".join(f"    k{i}: value number {i}\n" for i in range(200))
    (problem,) = only_problem(read(tmp_path, one_big_item, limits=limits), 1)
    assert problem.startswith("a document of ") and problem.endswith("over limits.document_bytes (2,000 bytes)")


@pytest.mark.parametrize("what", ["deep", "long string"])
def test_a_list_item_over_a_limit_costs_that_item_only(what: str, tmp_path: Path) -> None:
    items: list[Any] = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(50)]
    bad: Any = "x" * 3000
    if what == "deep":
        for _ in range(200):
            bad = [bad[:1]] if isinstance(bad, str) else [bad]
    items[17]["data"] = {"bad": bad}
    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    snap = load_manifests([str(path)], limits=replace(Limits(), string_length=2000))
    assert len(snap.objects) == 49 and "c17" not in {o.name for o in snap.objects}
    (problem,) = snap.problems
    expected = ("items[17]: nested deeper than limits.depth (100) at data.bad[0]" if what == "deep" else
                "items[17]: a string of 3,000 characters at data.bad, over limits.string_length (2,000)")
    assert str(problem).startswith(f"{path} (document 0): {expected}"), problem


def test_documents_past_the_limit_are_not_read(parse_mode: str, tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("---\n".join(deployment(f"d{i}") for i in range(50)))
    snap = load_manifests([str(path)], limits=replace(Limits(), documents=10))
    assert [o.name for o in snap.objects] == [f"d{i}" for i in range(10)]
    (problem,) = snap.problems
    assert str(problem) == f"{path}: more than limits.documents (10) documents; the rest of the input was not read"


def test_a_million_empty_documents_stop_at_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(deployment("web") + "---\n" * 1_000_000)
    snap = load_manifests([str(path)], limits=replace(Limits(), documents=1000))
    assert [o.name for o in snap.objects] == ["web"]
    assert snap.problems.stats.documents == 1000 and snap.problems.stats.empty == 999


def test_a_bad_byte_costs_its_document(parse_mode: str, tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    docs = [deployment("web").encode(), b"kind: ConfigMap\ndata: {x: \"caf\xe9\"}\n", deployment("api").encode(),
            deployment("db").encode()]
    path.write_bytes(b"---\n".join(docs))
    snap = load_manifests([str(path)])
    offset = path.read_bytes().index(b"\xe9")
    assert [str(p) for p in snap.problems] == [
        f"{path} (document 1): not valid UTF-8: byte 0xe9 at byte offset {offset} (line 10)"
    ]
    assert snap.problems.counts[ENCODING] == 1
    assert sorted(o.name for o in snap.objects) == ["api", "db", "web"]


def test_every_problem_of_a_junk_stream_is_counted_and_twenty_kept(parse_mode: str, tmp_path: Path) -> None:
    path = tmp_path / "junk.yaml"
    path.write_text(deployment("web") + "---\n" + "---\n".join(f"junk {i}\n" for i in range(5000)))
    snap = load_manifests([str(path)])
    assert isinstance(snap.problems, Problems)
    assert len(snap.problems) == 20 and snap.problems.total == 5000
    assert [p.index for p in snap.problems] == list(range(1, 21))
    assert snap.problems.summary() == "5,000 inputs skipped (5,000 not a Kubernetes object); the first 20 follow"
    assert snap.problems.stats.documents == 5001 and snap.problems.stats.objects == 1


def test_parse_errors_still_name_the_line_of_the_file(tmp_path: Path) -> None:
    snap = read(tmp_path, "kind: [unclosed\n")
    (problem,) = only_problem(snap, 1)
    assert problem.startswith("YAML does not parse:") and "(line 10, column 1)" in problem


def test_nothing_raises_whatever_a_parser_does(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(manifests, "_parse_chunk", broken)
    path = tmp_path / "app.yaml"
    path.write_text(deployment("web"))
    snap = load_manifests([str(path)])
    assert next(p.message for p in snap.problems) == (
        "YAML does not parse: RecursionError: maximum recursion depth exceeded"
    )


def test_a_yaml_dump_cut_short_is_read_as_its_list_without_the_item_the_cut_may_have_shortened(
    tmp_path: Path,
) -> None:
    """``kubectl get -A -o yaml > dump.yaml`` killed half-way still parses as YAML, but has lost its
    ``kind`` (written after the items) and perhaps half of its last item (here the name is cut from
    cm-30 to cm-3, and the namespace is gone): the items before it are read with their own lines,
    the last one is set aside, and the problem says why."""
    import yaml

    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "a"}} for i in range(40)
    ]
    text = yaml.safe_dump({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}, sort_keys=False)
    cut = text[: text.index("cm-30") + 4]
    path = tmp_path / "dump.yaml"
    path.write_text(cut)
    snap = load_manifests([str(path)])
    assert [o.name for o in snap.objects] == [f"cm-{i}" for i in range(30)]
    assert all(o.namespace == "a" for o in snap.objects)
    lines = cut.splitlines()
    for obj in snap.objects:
        assert lines[obj.place.line - 1].startswith("- apiVersion"), obj.name  # each item its own lines
    (problem,) = [str(p) for p in snap.problems]
    assert "no kind after its items: read as a List that ends early" in problem
    assert "its last item, items[30], is not read" in problem
