"""Positions on layouts that trip line counting, and findings text that tries to be Markdown.

One real ``kwa run`` over files with CRLF line ends and a byte order mark, documents after a huge
block scalar and after a document that does not parse, ``--- `` with the document on the marker's
line, Lists in block, flow, pretty-JSON and one-line-JSON form: every stored line must be the line
PyYAML's composer gives the object (or, for a List whose items cannot be told apart by their lines,
the List's own first line - coarse, never another object's). The findings artifact in the Prefect
UI shows hostile object names and messages as text.
"""

from __future__ import annotations

import json
import re

import httpx
import yaml

from tests.faults.harness import Kwa, assert_no_traceback

try:
    from yaml import CSafeLoader as Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as Loader  # type: ignore[assignment]


def pod(name: str, privileged: bool = True) -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {json.dumps(name)}\n  namespace: shop\nspec:\n"
        f"  containers:\n  - name: c\n    image: busybox:1.36\n    securityContext:\n"
        f"      privileged: {'true' if privileged else 'false'}\n"
    )


HOSTILE = "web<img src=x onerror=alert(1)>**bold**|`x`"
FILES: dict[str, bytes] = {
    "crlf.yaml": b"\xef\xbb\xbf" + ("# bom and crlf\n" + pod("crlf-a") + "---\n" + pod("crlf-b")).replace(
        "\n", "\r\n"
    ).encode(),
    "scalar.yaml": (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big, namespace: shop}\ndata:\n  script: |\n"
        + "".join(f"    line {i}: --- not a marker\n" for i in range(3000))
        + "---\n"
        + pod("after-scalar")
    ).encode(),
    "broken.yaml": (pod("before-broken") + "---\nkind: [unclosed\n---\n" + pod("after-broken")).encode(),
    "inline.yaml": ("--- " + pod("on-the-marker") + "--- \n" + pod(HOSTILE)).encode(),
    "list.yaml": yaml.safe_dump(
        {"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(pod(f"item-{i}")) for i in range(3)]},
        sort_keys=False,
    ).encode(),
    "flow-list.yaml": (
        "apiVersion: v1\nkind: List\nitems: [\n"
        + ",\n".join(json.dumps(yaml.safe_load(pod(f"flow-{i}"))) for i in range(2))
        + "\n]\n"
    ).encode(),
    "pretty.json": json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(pod(f"json-{i}")) for i in range(2)]}, indent=4
    ).encode(),
    "oneline.json": json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": [yaml.safe_load(pod(f"one-{i}")) for i in range(2)]}
    ).encode(),
}


def truth(name: str, data: bytes) -> dict[str, tuple[int, int | None]]:
    """``object name -> (first line, line of securityContext.privileged)`` by PyYAML's composer
    (for a flow List: the List's first line and no field line of its own)."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    docs = []
    for chunk_start, chunk in _documents(text):
        try:
            node = yaml.compose(chunk, Loader=Loader)
        except yaml.YAMLError:
            continue
        if node is not None:
            docs.append((chunk_start, node))
    out: dict[str, tuple[int, int | None]] = {}
    for offset, node in docs:
        fields = {k.value: v for k, v in node.value}
        if "items" in fields:
            for item in fields["items"].value:
                if fields["items"].flow_style and not name.endswith(".json"):
                    out[_name(item)] = (offset + node.start_mark.line + 1, None)
                else:
                    out[_name(item)] = (offset + item.start_mark.line + 1, offset + _privileged(item) + 1)
        elif fields.get("kind") is not None and fields["kind"].value == "Pod":
            out[_name(node)] = (offset + node.start_mark.line + 1, offset + _privileged(node) + 1)
    return out


def _documents(text: str) -> list[tuple[int, str]]:
    """Documents split on marker lines, each with the line it starts on (0-based)."""
    out, current, start = [], [], 0
    for n, line in enumerate(text.split("\n")):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t"):
            out.append((start, "\n".join(current)))
            current, start = ([line[4:]], n) if line[3:].strip() else ([], n + 1)
        else:
            current.append(line)
    out.append((start, "\n".join(current)))
    return out


def _name(node: yaml.Node) -> str:
    meta = {k.value: v for k, v in node.value}.get("metadata")
    return {k.value: v.value for k, v in meta.value}.get("name", "") if meta is not None else ""


def _privileged(node: yaml.Node) -> int:
    def find(n: yaml.Node) -> int | None:
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                if k.value == "privileged":
                    return k.start_mark.line
                if (hit := find(v)) is not None:
                    return hit
        if isinstance(n, yaml.SequenceNode):
            for v in n.value:
                if (hit := find(v)) is not None:
                    return hit
        return None

    return find(node) or 0


def test_every_stored_line_is_where_yaml_says_the_object_is(kwa: Kwa, prefect_api: str) -> None:
    k8s = kwa.tmp / "k8s"
    k8s.mkdir(parents=True)
    expected: dict[str, tuple[int, int | None]] = {}
    for name, data in FILES.items():
        (k8s / name).write_bytes(data)
        expected |= {obj: (first, field) for obj, (first, field) in truth(name, data).items()}
    got = kwa("run", "--manifests", "k8s", timeout=300)
    assert_no_traceback(got.out, got.err)
    assert got.code == 0, got.text  # the broken document is skipped input; the run completes
    run = got.run()
    assert run["state"] == "completed"
    assert "broken.yaml (document 1)" in got.text
    sec = {r["object_name"]: r for r in got.results() if r["check_id"] == "SEC-001" and r["object_kind"] == "Pod"}
    assert set(sec) == set(expected), set(sec) ^ set(expected)
    for obj, (first, field) in expected.items():
        r = sec[obj]
        assert r["source_line"] == first, (obj, r["source"], r["source_line"], first)
        if field is not None:
            assert r["field_line"] == field, (obj, r["source"], r["field_line"], field)
        else:  # a flow List: the List's own lines, never a neighbour's
            assert r["field_line"] == first, (obj, r["field_line"])
    assert sec["after-scalar"]["source_line"] == 3007

    # the findings artifact shows the hostile name as text
    artifacts = httpx.post(
        f"{prefect_api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [run["prefect_flow_run_id"]]}, "type": {"any_": ["markdown"]}}},
        timeout=30,
    ).json()
    findings = [a for a in artifacts if (a.get("key") or "").endswith("-failing")]
    assert len(findings) == 1, [a.get("key") for a in artifacts]
    text: str = findings[0]["data"]
    order = ["critical", "high", "medium", "low", "info"]
    severities = re.findall(r"^\*\*(\w+)\*\* · ", text, flags=re.MULTILINE)
    assert severities[0] == "critical" and severities == sorted(severities, key=order.index)
    assert text.split("\n## ", 2)[1].split("\n", 1)[0].endswith("SEC\\-001 · Privileged or HostProcess container")
    assert "<img" not in text and "&lt;img src=x onerror=alert\\(1\\)&gt;\\*\\*bold\\*\\*\\|\\`x\\`" in text
    assert f"k8s/inline\\.yaml:{expected[HOSTILE][1]}" in text
    summary = [a for a in artifacts if (a.get("key") or "").endswith("-summary")]
    assert summary and "findings artifact" in summary[0]["data"]

