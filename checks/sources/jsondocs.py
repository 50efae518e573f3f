"""JSON inputs: one document, a stream of documents, and the JSON orjson refuses.

A ``.json`` file, or any input whose first character is ``{`` or ``[``, is read here first. One
document is parsed by orjson (a large ``kind: List`` item by item: :mod:`checks.sources.jsonlist`).
What orjson refuses is never handed whole to the YAML parser when it is plainly JSON, because
that parser is slow and memory-hungry on one-line JSON (a 40 MB dump cut short took 15 s and
1.8 GB to be told it ends early):

* **a stream of documents** (``kubectl get … -o json`` run twice into one file, JSON Lines):
  each document is read on its own, with its own index and lines; one that does not parse is
  reported and reading goes on from the next line that starts a document;
* **a List cut short** (a full disk, a killed ``kubectl``): its complete items are read and the cut
  is reported with what it cost (:mod:`checks.sources.jsoncut`);
* **nesting past orjson's depth** (1024 levels): an item of a ``kind: List`` nested that deep is
  skipped with the depth verdict any over-deep item gets, and the other items are read; anywhere
  else the document gets that verdict (:mod:`checks.sources.jsondeep`);
* **any other syntax error** in an input of :data:`YAML_FALLBACK_MAX` or more, found after at
  least :data:`JSON_PROVEN` characters of valid JSON, is reported as JSON's own, located error: a
  JSON dump cut short or damaged. Anything else still goes to the YAML parser, which reads the
  flow-style YAML that starts with ``{`` too (unquoted keys and values, comments, trailing commas:
  orjson stops at the first of them, near the start) and locates what it cannot.
"""

from __future__ import annotations

import json
import re

import orjson

from checks.limits import SYNTAX, Limits
from checks.snapshot import K8sObject, ParseProblem
from checks.sources import jsoncut, jsondeep, jsonlist, stopping
from checks.sources.documents import accept, check_document, check_unparsed, document_bytes, read_stats, report
from checks.sources.guards import Rejected
from checks.sources.places import Lines, document_place

# Below this, JSON that orjson refuses is offered to the YAML parser as it always was.
YAML_FALLBACK_MAX = 1024 * 1024
# A larger input that was valid JSON this far before its error is JSON, damaged: not YAML.
JSON_PROVEN = 64 * 1024
_AFTER_DOCUMENT = "unexpected content after document"
_TOO_DEEP = "depth limit exceeded"
_CUT_SHORT = "unexpected end of data"
_BLANK = re.compile(r"\s*")
# A document of a stream starts a line (kubectl indents everything inside one).
_NEXT_DOCUMENT = re.compile(r"\n[{\[]")


def read_json(
    text: str | bytes, label: str, objects: list[K8sObject], problems: list[ParseProblem], limits: Limits
) -> bool:
    """Read ``text`` as JSON; False when it is not (the YAML parser then reads or locates it)."""
    if jsonlist.read_whole(text, label, objects, problems, limits):
        read_stats(problems).documents += 1
        return True
    try:
        read_document(text, label, 0, objects, problems, limits)
    except orjson.JSONDecodeError as exc:
        return _refused(text, exc, label, objects, problems, limits)
    return True


def read_document(
    text: str | bytes,
    label: str,
    index: int,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    limits: Limits,
    lines: Lines | None = None,
    lo: int = 0,
    counted: bool = False,
) -> None:
    """One JSON document, ``text[lo:]`` of an input whose lines ``lines`` counts; raises
    orjson.JSONDecodeError when it does not parse (nothing is reported then). ``counted``: the
    caller counts the document itself."""
    nbytes = document_bytes(text, limits)
    try:
        check_unparsed(text, nbytes, limits)
        value = orjson.loads(text)
        check_document(value, nbytes, limits, text)
    except Rejected as exc:
        read_stats(problems).documents += not counted
        line_offset = lines.line(lo) - 1 if lines is not None else 0
        report(problems, exc.kind, label, index, exc.describe(line_offset))
        return
    read_stats(problems).documents += not counted
    if lines is None:
        lines, lo = Lines(text), 0
        place = document_place(text, lines, 0, len(text))
    else:
        place = document_place(lines.text, lines, lo, lo + len(text))
    accept(value, label, index, objects, problems, place, lines)


def _refused(
    text: str | bytes,
    exc: orjson.JSONDecodeError,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    limits: Limits,
) -> bool:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return False  # the caller reports the encoding, with its offset
    if exc.msg == _AFTER_DOCUMENT:
        _stream(text, label, objects, problems, limits)
        return True
    if exc.msg == _CUT_SHORT and jsoncut.salvage(text, exc, label, objects, problems, limits):
        read_stats(problems).documents += 1
        return True
    if exc.msg == _TOO_DEEP:
        read_stats(problems).documents += 1
        jsondeep.read_deep(text, label, objects, problems, limits)
        return True
    if len(text) < YAML_FALLBACK_MAX or exc.pos < JSON_PROVEN:
        return False
    read_stats(problems).documents += 1
    report(problems, SYNTAX, label, 0, _located(exc, 0))
    return True


def _stream(text: str, label: str, objects: list[K8sObject], problems: list[ParseProblem], limits: Limits) -> None:
    """Several JSON documents one after the other, each read on its own."""
    decoder = json.JSONDecoder()
    lines = Lines(text)
    index, at = 0, 0
    while True:
        stopping.check()
        at = _BLANK.match(text, at).end()  # type: ignore[union-attr]
        if at >= len(text):
            return
        try:
            _, end = decoder.raw_decode(text, at)
        except (json.JSONDecodeError, RecursionError):
            # Its end is unknown (where the error is found may be past the next document, read as
            # a value of this one): report it and go on from the next line that starts a document.
            resume = _NEXT_DOCUMENT.search(text, at)
            end = resume.start() + 1 if resume else len(text)
            end = at + len(text[at:end].rstrip())  # an error at its end is placed on its last line
        piece = text[at:end]
        try:
            read_document(piece, label, index, objects, problems, limits, lines, at)
        except orjson.JSONDecodeError as exc:
            read_stats(problems).documents += 1
            if exc.msg == _TOO_DEEP:
                jsondeep.report_deep(piece, label, index, problems, limits, lines.line(at) - 1)
            else:
                report(problems, SYNTAX, label, index, _located(exc, lines.line(at) - 1))
        index, at = index + 1, end


def _located(exc: orjson.JSONDecodeError, line_offset: int) -> str:
    return f"JSON does not parse: {exc.msg} (line {exc.lineno + line_offset}, column {exc.colno})"


__all__ = ["JSON_PROVEN", "YAML_FALLBACK_MAX", "read_document", "read_json"]
