"""rapidyaml's fast path reads every document exactly as PyYAML's SafeLoader does, or steps aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.sources import fastyaml
from checks.sources.manifests import _split_documents, load_manifests, parse_text

pytestmark = pytest.mark.skipif(not fastyaml.available(), reason="rapidyaml is not installed")


def pyyaml(text: str):  # type: ignore[no-untyped-def]
    return yaml.load(text, Loader=yaml.CSafeLoader)


def same(a: object, b: object) -> bool:
    # repr tells True from 1 and 1 from 1.0, which == does not.
    return a == b and repr(a) == repr(b)


KUBECTL_STYLE = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  annotations:
    deployment.kubernetes.io/revision: "3"
    note: 'it''s fine: really'
  creationTimestamp: "2024-01-01T00:00:00Z"
  generation: 3
  labels:
    app: web
    version: "1.0"
  name: web
  namespace: shop
spec:
  replicas: 2
  template:
    spec:
      containers:
      - args: ["--port", "8080", "--ratio=0.5"]
        image: registry.example.com/web:1.25.3@sha256:3e4f5a6b7c8d9e0f
        name: web
        ports:
        - containerPort: 8080
          protocol: TCP
        resources:
          limits: {cpu: 500m, memory: 256Mi}
          requests:
            cpu: 0.25
            memory: 128Mi
        securityContext:
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          runAsUser: 10001
      hostNetwork: false
      nodeSelector:
        kubernetes.io/os: linux
      podIP: 10.0.12.7
      tolerations: []
      volumes:
      - configMap:
          defaultMode: 420
          name: web-config
        name: config
      - emptyDir: {}
        name: tmp
status:
  conditions:
  - lastTransitionTime: "2024-01-01T00:01:00Z"
    message: ReplicaSet "web-5d9c" has successfully progressed.
    status: "True"
    type: Progressing
  observedGeneration: 3
"""


def test_a_kubectl_style_document_takes_the_fast_path_and_reads_the_same() -> None:
    assert not fastyaml.suspicious(KUBECTL_STYLE)
    got = fastyaml.load(KUBECTL_STYLE)
    assert got is not fastyaml.NOT_FAST
    assert same(got, pyyaml(KUBECTL_STYLE))


# Plain scalars YAML 1.1 reads as something else than JSON / YAML 1.2 would.
YAML11_DIFFERENCES = [
    "a: yes",
    "a: No",
    "a: on",
    "a: OFF",
    "a: True",
    "a: ~",
    "a: Null",
    "a: 0777",
    "a: 0x1F",
    "a: 0b101",
    "a: 1_000",
    "a: 12:30",
    "a: 1e3",
    "a: 1.0e3",
    "a: -.5",
    "a: +12",
    "a: .inf",
    "a: .NaN",
    "a: 2024-01-01",
    "a: 2024-01-01T00:00:00Z",
    "a: 2001-12-14 21:59:43.10 -5",
    "a: [1, yes, x]",
    "a: {b: on}",
    "- yes\n- no",
    "12: x",
    "true: x",
    "null: x",
    "on: push",
    "12 : x",
    "b: &x {c: 1}\nd:\n  <<: *x\n  e: 2",
    "a: =",
    "a: !!str 12",
    "a: !custom x",
    "%YAML 1.1\n---\na: 1",
    "? complex\n: key",
    'a: "\\x41\\u00e9"',
    "a:\n\tb: 1",
    "a: |\n  yes\n",
    "a: 'multi\n  line yes'",
]


@pytest.mark.parametrize("text", YAML11_DIFFERENCES)
def test_documents_that_might_read_differently_go_to_pyyaml(text: str) -> None:
    assert fastyaml.suspicious(text), text
    assert fastyaml.load(text) is fastyaml.NOT_FAST


# Shapes where a quote sits inside a plain scalar: its content must not be taken as quoted.
QUOTES_INSIDE_PLAIN = [
    "a: x 'y\nb: yes\nc: z'",
    "a: [x 'a, yes, b']",
    "a: it's 12:30 o'clock",
]


@pytest.mark.parametrize("text", QUOTES_INSIDE_PLAIN)
def test_a_quote_inside_a_plain_scalar_does_not_hide_what_follows(text: str) -> None:
    assert fastyaml.suspicious(text)


SAME_EITHER_WAY = [
    'a: "yes"',
    "a: 'on'",
    'a: "2024-01-01T00:00:00Z"',
    "a: '0777'",
    "a: 1.5",
    "a: -3",
    "a: 0",
    "a: true",
    "a: null",
    "a:",
    "a: ''",
    'a: "tab\\there\\nnext \\"quoted\\""',
    "a: 'it''s'",
    "a: >-\n  folded\n  text\n",
    "a: |\n  literal\n  text\n",
    "a: [1, '2', three]",
    "a: {b: 1}",
    "a: &anchor {b: 1}\nc: *anchor",
    "a: 10.0.0.1",
    "a: 1.2.3",
    "a: héllo wörld ✓",
    "a: http://example.com:8080/path?q=1",
    "list:\n- name: x\n  value: '5'\n- name: y",
]


@pytest.mark.parametrize("text", SAME_EITHER_WAY)
def test_documents_on_the_fast_path_read_exactly_as_pyyaml(text: str) -> None:
    got = fastyaml.load(text)
    assert got is not fastyaml.NOT_FAST, text
    assert same(got, pyyaml(text))


def test_broken_yaml_is_still_reported_by_pyyaml_without_noise(capfd: pytest.CaptureFixture[str]) -> None:
    objects: list = []
    problems: list = []
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n---\nkind: Pod\nmetadata: [unclosed\n"
    parse_text(text, "broken.yaml", objects, problems)
    assert [o.name for o in objects] == ["ok"]
    assert len(problems) == 1 and problems[0].index == 1
    assert "YAML does not parse" in problems[0].message
    assert capfd.readouterr().err == ""  # rapidyaml's own error print is silenced


def _every_document(paths: list[Path]) -> list[str]:
    return [chunk for p in paths for chunk in _split_documents(p.read_text(encoding="utf-8", errors="replace"))]


def test_every_corpus_document_reads_the_same(corpus: Path) -> None:
    """Manifests no one here wrote: each document is either left to PyYAML or identical."""
    paths = sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml"))
    fast = 0
    for chunk in _every_document(paths):
        try:
            expected = pyyaml(chunk)
        except yaml.YAMLError:
            assert fastyaml.load(chunk) is fastyaml.NOT_FAST or not chunk.strip()
            continue
        got = fastyaml.load(chunk)
        if got is fastyaml.NOT_FAST:
            continue
        fast += 1
        assert same(got, expected), chunk[:300]
    assert fast > 200  # the fast path is not vacuous


def test_a_generated_cluster_dump_is_parsed_fast_and_identically(tmp_path: Path) -> None:
    from bench.generate import generate, write

    yaml_path, _ = write(generate(600, seed=3), tmp_path, "dump")
    text = yaml_path.read_text()
    chunks = _split_documents(text)
    assert all(not fastyaml.suspicious(c) for c in chunks)
    via_manifests = load_manifests([str(yaml_path)])
    assert not via_manifests.problems
    expected = [d for d in yaml.load_all(text, Loader=yaml.CSafeLoader) if d]
    assert len(via_manifests.objects) == len(expected)
    assert all(same(o.raw, e) for o, e in zip(via_manifests.objects, expected, strict=True))


@pytest.mark.parametrize("text", ["---\na: 1\n", "a: 1\n---\nb: 2\n"])
def test_document_markers_are_left_to_pyyaml(text: str) -> None:
    assert fastyaml.load(text) is fastyaml.NOT_FAST


def test_a_document_end_marker_reads_the_same() -> None:
    got = fastyaml.load("a: 1\n...\n")
    assert got is fastyaml.NOT_FAST or same(got, pyyaml("a: 1\n...\n"))


# ---- hostile documents: the fast path steps aside for the guarded loader (checks/sources/guards.py)

FLAT_ANCHORS = [
    # What PyYAML's dumper writes for a shared object: each anchor's node ends before any alias.
    "readinessProbe: &id001\n  httpGet: {path: /healthz, port: 8080}\n  periodSeconds: 5\nlivenessProbe: *id001\n",
    "a: &x 1\nb: *x\nc: [*x, *x]\n",
    "a: &x {b: 1}\nc: *x\n",
    "items:\n- &x\n  name: a\n- *x\n",
]
NESTED_ANCHORS = [
    "a: &a [*a]\n",  # recursive: rapidyaml's resolve crashed (SIGSEGV) on this
    "a: &a {b: *a}\n",
    "a: &a\n  b: *a\n",
    "a: &a\n- x\n- *a\n",  # a sequence at its key's indentation is still inside the anchor
    "a: &x [1,\n  *x]\n",  # a flow collection going on to the next line
    'a: &x [ "]",\n*x]\n',  # a bracket in quotes must not pass for the flow's end
    "a: &x [1, # ]\n*x]\n",  # nor one in a comment
    "a: &a [1]\nb: &b [*a, *a]\nc: [*b, *b]\n",  # an alias inside an anchored node: expansion multiplies
]


@pytest.mark.parametrize("text", FLAT_ANCHORS)
def test_aliases_that_cannot_nest_take_the_fast_path_and_read_as_pyyaml(text: str) -> None:
    assert fastyaml._flat_anchors(text)
    got = fastyaml.load(text)
    assert got is not fastyaml.NOT_FAST, text
    assert same(got, pyyaml(text))


@pytest.mark.parametrize("text", NESTED_ANCHORS)
def test_aliases_that_may_nest_or_recurse_are_left_to_pyyaml(text: str) -> None:
    assert not fastyaml._flat_anchors(text), text
    assert fastyaml.load(text) is fastyaml.NOT_FAST


def test_an_alias_without_an_anchor_is_not_read_as_a_string() -> None:
    # rapidyaml would read it as the string "*x"; PyYAML reports the undefined alias.
    assert fastyaml.load("a: *x\n") is fastyaml.NOT_FAST
    assert fastyaml.load("a: '*x'\nb: \"*.svc\"\n") == {"a": "*x", "b": "*.svc"}


def test_a_duplicate_key_is_left_to_pyyaml_which_names_it() -> None:
    for text in ("a: 1\na: 2\n", "a: {b: 1, b: 2}\n", "x:\n  y: 1\n  y: 1\n"):
        assert fastyaml.load(text) is fastyaml.NOT_FAST, text


def test_what_rapidyaml_cannot_emit_is_left_to_pyyaml(capfd: pytest.CaptureFixture[str]) -> None:
    deep = "a: " + "[" * (fastyaml.EMIT_DEPTH + 5) + "]" * (fastyaml.EMIT_DEPTH + 5) + "\n"
    assert fastyaml.load(deep) is fastyaml.NOT_FAST
    with fastyaml.quiet():  # a batch silenced once: the documents inside pass quiet=False
        assert fastyaml.load(deep, quiet=False) is fastyaml.NOT_FAST
    assert capfd.readouterr().err == ""


def test_expansion_is_bounded_before_rapidyaml_resolves() -> None:
    from dataclasses import replace

    from checks.limits import Limits

    text = "a: &x [1, 2, 3]\n" + "".join(f"k{i}: *x\n" for i in range(50))
    assert same(fastyaml.load(text), pyyaml(text))
    assert fastyaml.load(text, limits=replace(Limits(), alias_nodes=100)) is fastyaml.NOT_FAST
    assert fastyaml.load(text, limits=replace(Limits(), aliases=10)) is fastyaml.NOT_FAST


def _aliased_inside_an_anchor(text: str) -> bool:
    """True if, in document order, an alias of ``text`` occurs inside a node that has an anchor
    (the anchor's own node included: a cycle). PyYAML's composer makes an alias the very node it
    names, so the first visit of a node is its definition and every later one an alias."""
    root = yaml.compose(text, Loader=yaml.CSafeLoader)

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    visits: dict[int, int] = {}
    occurrences: list[tuple[yaml.Node, tuple[int, ...]]] = []  # (node, ids of the nodes it is inside)
    stack: list[tuple[yaml.Node, tuple[int, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        visits[id(node)] = visits.get(id(node), 0) + 1
        occurrences.append((node, path))
        if visits[id(node)] == 1:
            stack.extend((child, (*path, id(node))) for child in reversed(children(node)))
    anchored = {key for key, count in visits.items() if count > 1}
    seen: set[int] = set()
    for node, path in occurrences:
        if id(node) in seen and any(outer in anchored for outer in path):
            return True
        seen.add(id(node))
    return False


@given(data=st.data())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_flat_anchor_test_never_lets_a_nested_or_recursive_alias_through(data: st.DataObject) -> None:
    """PyYAML's dumper writes anchors and aliases for shared and recursive objects, in block and
    flow style, wrapped at any width: whatever the layout, a document the test calls flat has
    no alias inside an anchored node (rapidyaml's resolve may then run: it crashes on recursion
    and multiplies nested aliases)."""
    scalars = st.one_of(st.integers(-3, 3), st.text(alphabet="ab: #[]{}'\"*&-", max_size=5))
    nodes: list[Any] = []
    keys = st.text("kxy", min_size=1, max_size=2)
    value = data.draw(st.recursive(
        scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=3)),
        max_leaves=12,
    ))

    def collect(node: Any) -> None:
        if isinstance(node, list | dict):
            nodes.append(node)
            for child in node if isinstance(node, list) else node.values():
                collect(child)

    collect(value)
    for _ in range(data.draw(st.integers(0, 3))):  # share (or loop) some collections
        if not nodes:
            break
        target, holder = data.draw(st.sampled_from(nodes)), data.draw(st.sampled_from(nodes))
        if isinstance(holder, list):
            holder.append(target)
        else:
            holder[f"r{len(holder)}"] = target
    text = yaml.dump(value, Dumper=yaml.SafeDumper, default_flow_style=data.draw(st.sampled_from([None, True, False])),
                     width=data.draw(st.sampled_from([10, 40, 200])), indent=data.draw(st.sampled_from([2, 3])))
    if fastyaml._flat_anchors(text):
        assert not _aliased_inside_an_anchor(text), text
