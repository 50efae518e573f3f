"""Manifest sources: files, directories, stdin, multi-document YAML, JSON, kind: List, bad input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from checks.sources.manifests import SourceError, load_manifests

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}]}
"""
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}}\n"


def test_multi_document_yaml_keeps_file_and_index(tmp_path: Path) -> None:
    f = tmp_path / "app.yaml"
    f.write_text(f"---\n{DEPLOY}---\n{SERVICE}---\n")
    snap = load_manifests([str(f)])
    assert [(o.kind, o.index) for o in snap.objects] == [("Deployment", 0), ("Service", 1)]
    assert snap.objects[0].where == f"{f}#0"
    assert not snap.problems


def test_directory_is_walked_recursively_for_yaml_yml_json(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "d.yml").write_text(DEPLOY)
    (tmp_path / "s.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}}))
    (tmp_path / "README.md").write_text("# not a manifest")
    snap = load_manifests([str(tmp_path)])
    assert sorted(o.kind for o in snap.objects) == ["Deployment", "Service"]


def test_kind_list_as_printed_by_kubectl(tmp_path: Path) -> None:
    dump = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"}},
        ],
    }
    f = tmp_path / "dump.json"
    f.write_text(json.dumps(dump))
    snap = load_manifests([str(f)])
    assert [o.kind for o in snap.objects] == ["Namespace", "Service"]
    assert snap.objects[0].namespace is None  # cluster-scoped
    assert snap.objects[1].where.endswith("dump.json#0#1")


def test_typed_list_fills_item_kind(tmp_path: Path) -> None:
    f = tmp_path / "pods.yaml"
    f.write_text("apiVersion: v1\nkind: PodList\nitems:\n- metadata: {name: p1, namespace: a}\n  spec: {}\n")
    assert [o.kind for o in load_manifests([str(f)]).objects] == ["Pod"]


def test_stdin() -> None:
    snap = load_manifests(["-"], stdin=io.StringIO(DEPLOY))
    assert snap.objects[0].source == "<stdin>"


def test_malformed_document_is_reported_and_the_rest_assessed(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(SERVICE)
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(f"{DEPLOY}---\nkind: [unclosed\n---\n{SERVICE}---\n- just\n- a list\n---\nfoo: bar\n")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    snap = load_manifests([str(tmp_path)])
    assert sorted(o.kind for o in snap.objects) == ["Deployment", "Service", "Service"]
    problems = {(Path(p.source).name, p.index): p.message for p in snap.problems}
    assert "YAML does not parse" in problems[("mixed.yaml", 1)]
    assert "not a Kubernetes object (a list)" in problems[("mixed.yaml", 3)]
    assert "missing apiVersion, kind, metadata.name" in problems[("mixed.yaml", 4)]
    assert ("broken.json", 0) in problems


def test_an_unrendered_helm_template_says_so(tmp_path: Path) -> None:
    chart = tmp_path / "deployment.yaml"
    chart.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n")
    (plain := tmp_path / "plain.yaml").write_text("kind: Deployment\nmetadata: {name: [unclosed\n")
    snap = load_manifests([str(tmp_path)])
    problems = {Path(p.source).name: p.message for p in snap.problems}
    assert "YAML does not parse" in problems["deployment.yaml"] and "helm template" in problems["deployment.yaml"]
    assert "(line 4, column" in problems["deployment.yaml"]  # the place is still said
    assert "helm" not in problems[plain.name]


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"manifest path not found: .*nope\.yaml"):
        load_manifests([str(tmp_path / "nope.yaml")])


def test_whole_corpus_parses(corpus: Path) -> None:
    snap = load_manifests([str(corpus)])
    assert not snap.problems, snap.problems
    assert len(snap.objects) == 389  # SOURCES.md: total objects 389


def test_large_dump_parsed_in_parallel_equals_serial(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import checks.sources.manifests as manifests

    docs = [DEPLOY.replace("name: web", f"name: web-{i}") for i in range(400)]
    docs.insert(123, "kind: [unclosed\n")  # a broken document in the middle keeps its index
    f = tmp_path / "dump.yaml"
    f.write_text("---\n".join(docs))
    monkeypatch.setattr(manifests, "PARALLEL_MIN_CHARS", 10**12)
    serial = load_manifests([str(f)])
    monkeypatch.setattr(manifests, "PARALLEL_MIN_CHARS", 1)
    parallel = load_manifests([str(f)])
    assert [(o.raw, o.where) for o in parallel.objects] == [(o.raw, o.where) for o in serial.objects]
    assert [str(p) for p in parallel.problems] == [str(p) for p in serial.problems]
    assert len(parallel.objects) == 400 and parallel.problems[0].index == 123


SPLIT_CASES = [
    "",
    "---",
    "---\n",
    "a: 1",
    "---\na: 1\n---\nb: 2\n",
    "a: 1\n--- # comment\nb: 2",
    "a: 1\n---x\nb",
    "a\n--- b: 1\nc: 2\n---",
    "--- \n---\t\na",
    "x\n---#c\ny",
    "a\n----\nb",
    " ---\na",
    "a: 1\r\n---\r\nb: 2\r\n",  # other line breaks: the line-by-line split decides
    "a: 1\u2028---\u2028b",
]


@pytest.mark.parametrize("text", SPLIT_CASES)
def test_the_regex_document_split_equals_the_line_by_line_one(text: str) -> None:
    from checks.sources.manifests import _split_documents, _split_lines

    assert _split_documents(text) == _split_lines(text)


def test_the_document_split_agrees_on_the_corpus(corpus: Path) -> None:
    from checks.sources.manifests import _split_documents, _split_lines

    for path in sorted(p for p in corpus.rglob("*") if p.suffix in (".yaml", ".yml")):
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _split_documents(text) == _split_lines(text), path
