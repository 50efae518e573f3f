"""Bytes that are not UTF-8 text, on stdin and in files, through the real ``kwa run``.

stdin used to be read as text, so one bad byte failed the whole run. Now input is read as bytes
and decoded per document: the document holding the byte is one problem naming the input, the
document, the byte, its offset and line; every other document is assessed.
"""

from __future__ import annotations

import json

import yaml

from tests.faults.harness import Kwa
from tests.faults.parsing_docs import CHECKS, assert_assessed, deployment, summary


def _with_bad_byte() -> bytes:
    good, bad = deployment("web").encode(), deployment("latin").replace("nginx", "caf\xe9").encode("latin-1")
    return good + b"---\n" + bad + b"---\n" + deployment("api").encode()


def test_a_bad_byte_on_stdin_costs_its_document_only(kwa: Kwa) -> None:
    got = kwa("run", "--manifests", "-", "--check", CHECKS, input=_with_bad_byte())

    run = assert_assessed(got, {"web", "api"})
    offset = _with_bad_byte().index(b"\xe9")
    assert summary(run)["problems"] == [
        f"<stdin> (document 1): not valid UTF-8: byte 0xe9 at byte offset {offset} (line 19)"
    ]
    assert "UnicodeDecodeError" not in got.text


def test_a_bad_byte_in_a_file_and_utf16_with_a_byte_order_mark(kwa: Kwa) -> None:
    (kwa.tmp / "latin1.yaml").write_bytes(_with_bad_byte())
    # YAML allows UTF-16 with a byte order mark (Windows editors write it); it is read as such.
    (kwa.tmp / "utf16.yaml").write_bytes(deployment("wide").encode("utf-16"))
    (kwa.tmp / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + deployment("marked").encode())
    (kwa.tmp / "bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(yaml.safe_load(deployment("jsonbom"))).encode())
    got = kwa("run", "--manifests", str(kwa.tmp), "--check", CHECKS)

    run = assert_assessed(got, {"web", "api", "wide", "marked", "jsonbom"})
    problems = summary(run)["problems"]
    assert len(problems) == 1 and "latin1.yaml (document 1): not valid UTF-8: byte 0xe9 at byte offset" in problems[0]


def test_empty_stdin_says_why_nothing_was_assessed(kwa: Kwa) -> None:
    got = kwa("run", "--manifests", "-", "--check", CHECKS, input=b"")

    run = assert_assessed(got, set(), code=9)
    assert summary(run)["problems"] == ["<stdin>: no Kubernetes objects: the input is empty"]
    assert "nothing was assessed: manifests: <stdin>: no Kubernetes objects: the input is empty" in got.text
