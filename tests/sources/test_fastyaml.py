"""rapidyaml's fast path reads every document exactly as PyYAML's SafeLoader does, or steps aside."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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
