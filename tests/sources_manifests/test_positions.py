"""Where each object and each field sits in its manifest (checks/positions.py, sources/places.py).

The ground truth is a YAML parser: for every field of every object the line resolver must give the
line PyYAML's composer gives that field's key - on generated documents in every block layout
PyYAML writes, on pretty-printed JSON, and on the real manifests of ../shared/corpus when present.
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.positions import field_line, field_position, join_path, parse_path
from checks.sources.manifests import load_manifests
from tests.cli.builder import IMAGE, MANIFEST, POSITIONS, PRIVILEGED

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
try:
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as Loader  # type: ignore[assignment]


def read(text: str) -> dict[str, Any]:
    """``where -> object`` for the objects of ``text`` read as stdin."""
    snap = load_manifests(["-"], stdin=io.StringIO(text))
    return {o.where: o for o in snap.objects}


def keys_and_lines(
    node: yaml.Node, path: tuple = (), flow: tuple[int, int] | None = None, json: bool = False
) -> list[tuple[tuple, tuple[int, int]]]:
    """Every mapping key under ``node`` with the 1-based line and column the resolver must give
    it: where PyYAML composes the key; inside a YAML flow collection (``{a: 1}``, which may run
    over several lines) where the key or the ``- `` entry that holds the collection is (``flow``),
    the deepest place the resolver promises. Pretty-printed JSON is flow style with every key on its own line: exact."""
    out: list[tuple[tuple, tuple[int, int]]] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                here = (key.start_mark.line + 1, key.start_mark.column + 1)
                out.append(((*path, key.value), flow or here))
                inner = flow or (here if getattr(value, "flow_style", False) and not json else None)
                out += keys_and_lines(value, (*path, key.value), inner, json)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            inner = flow
            if inner is None and not json and getattr(value, "flow_style", False):
                # a flow collection as an entry of a block sequence ("- {a: 1}"): the entry's "- "
                inner = (value.start_mark.line + 1, value.start_mark.column - 1)
            out += keys_and_lines(value, (*path, i), inner, json)
    return out


def assert_every_field_agrees(
    obj: Any, node: yaml.Node, offset: int = 0, sample: int | None = None, json: bool = False
) -> int:
    fields = keys_and_lines(node, json=json)
    if sample is not None and len(fields) > sample:
        fields = fields[:: len(fields) // sample + 1]
    for path, (line, column) in fields:
        got = field_position(obj.place, join_path(None, *path))
        want = (line + offset, column)
        assert got == want, f"{obj} {join_path(None, *path)}: resolver says {got}, YAML {want}"
    return len(fields)


# -- objects --------------------------------------------------------------------------------------


def test_the_cli_fixture_manifest_is_where_the_golden_rows_say() -> None:
    """tests/cli/builder.py stores these positions with its rows: the reader must agree."""
    snap = load_manifests([str(ROOT / MANIFEST)])
    by_doc = {o.where.split("app.yaml", 1)[1]: o for o in snap.objects}
    for where, (first, last, column) in POSITIONS.items():
        obj = by_doc[where.split("app.yaml", 1)[1]]
        assert (obj.place.line, obj.place.end_line, obj.place.column) == (first, last, column), where
    web = by_doc["#1"]
    assert field_position(web.place, PRIVILEGED[0]) == PRIVILEGED[1:]
    assert field_position(web.place, IMAGE[0]) == IMAGE[1:]


def test_documents_start_at_their_first_content_line_and_end_at_their_last() -> None:
    text = (
        "# a file header\n\n---\n# about the first\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        "# trailing comment of a\n\n---   \n\n--- \napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"
        "--- apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n...\n"
    )
    objs = {o.name: o for o in read(text).values()}
    assert (objs["a"].place.line, objs["a"].place.end_line) == (5, 8)
    assert (objs["b"].place.line, objs["b"].place.end_line) == (14, 16)
    assert objs["c"].place.line == 17  # "--- apiVersion: v1": the document starts on the marker's line


def test_crlf_and_a_byte_order_mark_do_not_move_lines(tmp_path: Path) -> None:
    text = "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Pod\r\n"
    text += "metadata:\r\n  name: p\r\nspec:\r\n  containers:\r\n  - name: c\r\n    image: x\r\n"
    path = tmp_path / "crlf.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    pod = next(o for o in load_manifests([str(path)]).objects if o.kind == "Pod")
    assert (pod.place.line, pod.place.end_line) == (6, 13)
    assert field_line(pod.place, "spec.containers[0].image") == 13


def test_list_items_each_get_their_own_lines_in_yaml_and_pretty_json() -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}, "data": {"k": "v"}}
             for i in range(3)]
    dump = {"apiVersion": "v1", "kind": "List", "items": items}
    for text in (
        yaml.safe_dump(dump, sort_keys=False),  # items at column 0 ("- apiVersion")
        yaml.safe_dump(dump, sort_keys=False).replace("\n- ", "\n  - ").replace("\n  ", "\n    ")
        .replace("\n    - ", "\n  - "),
        json.dumps(dump, indent=4),  # kubectl get -o json
        json.dumps(dump, indent=2),
    ):
        objs = read(text)
        assert len(objs) == 3
        lines = text.splitlines()
        for i, obj in enumerate(objs[f"<stdin>#0#{n}"] for n in range(3)):
            first = lines[obj.place.line - 1].strip()
            assert first in ("- apiVersion: v1", "{"), (text, obj.place)
            name_line = field_line(obj.place, "metadata.name")
            assert f"c{i}" in lines[name_line - 1], (text, obj.place, name_line)
            assert obj.place.line < name_line <= obj.place.end_line


def test_a_list_on_one_line_keeps_that_line_and_not_its_text() -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(3)]
    text = "\n" + json.dumps({"apiVersion": "v1", "kind": "List", "items": items}) + "\n"
    objs = list(read(text).values())
    assert [(o.place.line, o.place.end_line) for o in objs] == [(2, 2)] * 3
    assert field_line(objs[1].place, "metadata.name") == 2
    assert not objs[0].place.text  # a one-line object's field lines need no text: none is kept


def test_a_list_whose_layout_is_not_read_keeps_the_lists_lines() -> None:
    """Items in flow style cannot be told apart by their lines: each gets the List's lines, never
    a neighbour's."""
    text = "apiVersion: v1\nkind: List\nitems: [\n  {apiVersion: v1, kind: ConfigMap, metadata: {name: a}},\n"
    text += "  {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n]\n"
    objs = list(read(text).values())
    assert [(o.place.line, o.place.end_line) for o in objs] == [(1, 6), (1, 6)]


# -- fields ---------------------------------------------------------------------------------------


def test_paths_round_trip() -> None:
    path = join_path("spec.template.spec", "containers", 0, "securityContext", "privileged")
    assert path == "spec.template.spec.containers[0].securityContext.privileged"
    assert parse_path(path) == ("spec", "template", "spec", "containers", 0, "securityContext", "privileged")
    quoted = join_path("metadata", "annotations", 'kwa.io/exempt "x"')
    assert parse_path(quoted) == ("metadata", "annotations", 'kwa.io/exempt "x"')
    assert parse_path("a..b") is None and parse_path("") is None


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    "kwa.io/exempt": "SEC-006"
    description: |
      spec:
        template: this is text, not a key
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
# a comment at column 0 inside the block
      initContainers:
      - name: init
        image: busybox
      containers:
      -
        name: app
        image: nginx
        securityContext: &sc
          privileged: true
      - name: sidecar
        image: envoy
        securityContext: *sc
      volumes:
        - name: v
          hostPath: {path: /var/run/docker.sock}
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("metadata.name", 4),
        ('metadata.annotations["kwa.io/exempt"]', 6),
        ("spec.replicas", 11),
        ("spec.template.metadata.labels", 13),  # inside a flow mapping: its line
        ("spec.template.spec.initContainers[0].image", 18),
        ("spec.template.spec.containers[0]", 20),  # a dash alone on its line: the entry's line
        ("spec.template.spec.containers[0].image", 22),
        ("spec.template.spec.containers[0].securityContext.privileged", 24),
        ("spec.template.spec.containers[1].securityContext", 27),
        ("spec.template.spec.containers[1].securityContext.privileged", 27),  # an alias: its key's line
        ("spec.template.spec.volumes[0].hostPath.path", 30),
        # absent: the deepest part of the path the object has
        ("spec.template.spec.containers[1].resources.limits.memory", 25),
        ("spec.template.spec.containers[5].image", 19),
        ("spec.strategy", 10),
        ("status.phase", 1),  # nothing of it: the object's first line
        ("spec.template.spec.hostNetwork", 14),
    ],
)
def test_a_field_resolves_to_its_own_line_or_its_deepest_present_parent(path: str, line: int) -> None:
    (obj,) = read(DEPLOYMENT).values()
    assert field_line(obj.place, path) == line


@pytest.mark.parametrize(
    ("path", "position"),
    [
        ("metadata.name", (4, 3)),
        ('metadata.annotations["kwa.io/exempt"]', (6, 5)),  # a quoted key: its quote
        ("spec.template.metadata.labels", (13, 5)),  # inside a flow mapping: the key holding it
        ("spec.template.spec.containers[0]", (20, 7)),  # an entry: its dash, alone on its line
        ("spec.template.spec.containers[1]", (25, 7)),  # "- name: sidecar": the dash
        ("spec.template.spec.containers[1].name", (25, 9)),  # the key after the dash
        ("spec.template.spec.containers[0].securityContext.privileged", (24, 11)),
        ("spec.template.spec.containers[1].securityContext.privileged", (27, 9)),  # an alias: its key
        ("spec.template.spec.volumes[0].hostPath.path", (30, 11)),
        ("spec.template.spec.containers[5].image", (19, 7)),  # absent: the deepest present key
        ("status.phase", (1, 1)),  # nothing of it: the object's own line and column
    ],
)
def test_a_field_resolves_to_its_keys_column(path: str, position: tuple[int, int]) -> None:
    (obj,) = read(DEPLOYMENT).values()
    assert field_position(obj.place, path) == position


def test_object_columns_for_documents_list_items_and_the_marker_line() -> None:
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(2)]
    dump = {"apiVersion": "v1", "kind": "List", "items": items}
    indented = yaml.safe_dump(dump, sort_keys=False).replace("\n- ", "\n  - ").replace("\n  ", "\n    ")
    indented = indented.replace("\n    - ", "\n  - ")
    for text, column in (
        (yaml.safe_dump(dump, sort_keys=False), 1),  # "- apiVersion" at column 1
        (indented, 3),  # "  - apiVersion"
        (json.dumps(dump, indent=4), 9),  # "        {" under "    \"items\": ["
        (json.dumps(dump, indent=2), 5),
    ):
        objs = list(read(text).values())
        lines = text.splitlines()
        for obj in objs:
            assert obj.place.column == column, (text, obj.place)
            assert lines[obj.place.line - 1][column - 1] in "-{", (text, obj.place)
            # the resolver's column is the key's in the file, whatever the item's indentation
            line, key_column = field_position(obj.place, "metadata.name")
            assert lines[line - 1][key_column - 1 :].lstrip('"').startswith("name"), (text, line, key_column)
    marker = "--- apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: on-the-marker\n"
    (obj,) = read("# header\n" + marker).values()
    assert (obj.place.line, obj.place.column) == (2, 5)  # after "--- "
    assert field_position(obj.place, "apiVersion") == (2, 5)
    assert field_position(obj.place, "metadata.name") == (5, 3)
    one_line = list(read('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}\n').values())
    assert field_position(one_line[0].place, "metadata.name") == (1, 1)  # one line: the object's place


def test_text_in_a_block_scalar_is_never_taken_for_a_key() -> None:
    (obj,) = read(DEPLOYMENT).values()
    # "spec:" and "template:" inside the description are text: the real spec is at line 10
    assert field_line(obj.place, "spec") == 10
    assert field_line(obj.place, "spec.template") == 12


def test_every_field_agrees_with_yaml_in_every_layout_pyyaml_writes() -> None:
    rng = random.Random(11)
    checked = 0
    for n in range(60):
        doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"m{n}"}, "spec": _tree(rng, 4)}
        for style in ({}, {"indent": 4}, {"default_flow_style": None}, {"width": 20}):
            text = yaml.safe_dump(doc, sort_keys=False, **style)
            if rng.random() < 0.5:  # sequences indented under their key, as kubectl and helm write them
                text = yaml.dump(doc, Dumper=_IndentedDumper, sort_keys=False, **style)
            (obj,) = read(text).values()
            checked += assert_every_field_agrees(obj, yaml.compose(text, Loader=Loader))
    assert checked > 2000


def test_every_field_agrees_with_pretty_json() -> None:
    rng = random.Random(5)
    for n in range(40):
        doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"j{n}"}, "spec": _tree(rng, 4)}
        for indent in (2, 4):
            text = json.dumps(doc, indent=indent)
            (obj,) = read(text).values()
            assert_every_field_agrees(obj, yaml.compose(text, Loader=Loader), json=True)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus (real manifests) is not on this machine")
def test_every_field_of_the_corpus_agrees_with_yaml() -> None:
    checked = 0
    for path in sorted(CORPUS.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        try:
            nodes = [n for n in yaml.compose_all(text, Loader=Loader) if n is not None]
        except yaml.YAMLError:
            continue
        by_line = {n.start_mark.line + 1: n for n in nodes}
        snap = load_manifests([str(path)])
        for obj in [*snap.objects, *(m.obj for m in snap.malformed)]:
            node = by_line.get(obj.place.line)
            if node is None:  # a List's item: its document starts on the List's first line
                continue
            checked += assert_every_field_agrees(obj, node, sample=80)
    assert checked > 1000


def _tree(rng: random.Random, depth: int) -> Any:
    """A random nested value with keys and scalars that look like YAML's tricky cases."""
    words = ["name", "image", "spec", "key: x", "- dash", "#hash", "a.b/c", "true", "12", "", "multi\nline", "x" * 30]
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([rng.choice(words), rng.randint(0, 99), None, True, 1.5, "|", ">"])
    if rng.random() < 0.4:
        return [_tree(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {f"{rng.choice(words[:7])}{i}": _tree(rng, depth - 1) for i in range(rng.randint(0, 4))}


class _IndentedDumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _anchored(source: str, binary: bool) -> Any:
    """``source`` with ``^`` at every line start, for text or bytes."""
    import re

    return re.compile(source.encode() if binary else source, re.MULTILINE)


def _json_items_by_line_anchors(text: Any, lo: int, hi: int) -> Any:
    """The items of a pretty-printed JSON List found with ``^`` (the reference: places._json_items
    searches for the newline before each line start instead, which is much faster)."""
    def pattern(source: str) -> Any:
        return _anchored(source, isinstance(text, bytes))

    key = pattern(r'^[ ]*"items"[ \t]*:[ \t]*\[[ \t]*\r?$').search(text, lo, hi)
    if key is None:
        return None
    body = key.end() + 1
    first = pattern(r"^([ ]*)(?=\S)").search(text, body, hi)
    if first is None or text[first.end() : first.end() + 1] not in ("{", b"{"):
        return None
    indent = first.end() - first.start()
    close = pattern(rf"^[ ]{{0,{max(indent - 1, 0)}}}\S").search(text, body, hi)
    end = close.start() if close else hi
    return [m.start() for m in pattern(rf"^[ ]{{{indent}}}\{{").finditer(text, first.start(), end)], end


def test_pretty_json_items_are_where_line_anchored_patterns_find_them() -> None:
    from checks.sources import places

    rng = random.Random(7)
    for _ in range(400):
        items = [{"a": i, "b": {"c": [1, "x"]}} for i in range(rng.randint(0, 4))]
        doc: dict[str, Any] = {"kind": "List", "items": items}
        if rng.random() < 0.5:
            doc["metadata"] = {"resourceVersion": ""}
        text = json.dumps(doc, indent=rng.choice([1, 2, 4]))
        if rng.random() < 0.3:
            text = text.replace("\n", "\r\n")
        if rng.random() < 0.3:  # a layout the search does not read
            lines = text.split("\n")
            at = rng.randrange(len(lines))
            lines[at] = lines[at].lstrip()
            text = "\n".join(lines)
        for variant in (text, ("\n" + text).encode()):
            assert places._json_items(variant, 0, len(variant), isinstance(variant, bytes)) == (
                _json_items_by_line_anchors(variant, 0, len(variant))
            )


def _yaml_items_by_line_anchors(text: Any, lo: int, hi: int) -> Any:
    """The items of a block-style YAML List found with ``^`` (the reference for places._yaml_items)."""
    def pattern(source: str) -> Any:
        return _anchored(source, isinstance(text, bytes))

    key = pattern(r"^items[ \t]*:[ \t]*(?:#[^\n]*)?\r?$").search(text, lo, hi)
    if key is None:
        return None
    body = key.end() + 1
    first = pattern(r"^([ ]*)(?=[^ \t\r\n#])").search(text, body, hi)
    if first is None or text[first.end() : first.end() + 1] not in ("-", b"-"):
        return None
    indent = first.end() - first.start()
    fewer = rf"[ ]{{0,{indent - 1}}}[^ \t\r\n#]|" if indent else ""
    close = pattern(rf"^(?:{fewer}[ ]{{{indent}}}[^ \t\r\n#-])").search(text, body, hi)
    end = close.start() if close else hi
    entry = pattern(rf"^[ ]{{{indent}}}-(?=[ \t\r\n]|$)")
    return [m.start() for m in entry.finditer(text, first.start(), end)], end


def test_yaml_items_are_where_line_anchored_patterns_find_them() -> None:
    from checks.sources import places

    rng = random.Random(11)
    for _ in range(400):
        items = [{"a": i, "b": {"c": [1, "x"]}} for i in range(rng.randint(0, 4))]
        doc: dict[str, Any] = {"apiVersion": "v1", "items": items}
        if rng.random() < 0.5:
            doc["kind"] = "List"
        text = yaml.safe_dump(doc, sort_keys=False)
        if rng.random() < 0.4:  # the sequence indented under its key
            head, _, rest = text.partition("items:\n")
            seq, _, tail = rest.partition("\nkind:")
            text = head + "items:\n" + "\n".join("  " + line for line in seq.split("\n")) + (
                "\nkind:" + tail if tail else ""
            )
        if rng.random() < 0.3:
            text = text.replace("\n", "\r\n")
        if rng.random() < 0.3:
            lines = text.split("\n")
            at = rng.randrange(len(lines))
            lines.insert(at, rng.choice(["# note", "", "  # indented note", "-"]))
            text = "\n".join(lines)
        for variant in (text, text.encode()):
            assert places._yaml_items(variant, 0, len(variant), isinstance(variant, bytes)) == (
                _yaml_items_by_line_anchors(variant, 0, len(variant))
            )
