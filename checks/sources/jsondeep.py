"""A JSON document nested deeper than orjson reads (1024 levels): only what is that deep is lost.

``limits.depth`` (at most 250) is far below orjson's own ceiling, so anything orjson refuses for
depth is over the limit wherever it is. In a ``kind: List`` that is one item's problem, as it is
for an item nested 300 deep (orjson reads that one, and the measurement skips it): here the
document is scanned for its brackets, every item nested past :data:`ITEM_DEPTH` is replaced by a
marker string, the rest is parsed as usual and each marker becomes that item's depth verdict,
located at the first bracket past the limit. Anywhere other than an item, the whole document gets
that verdict. The scan is Python over every string and bracket (about 1 s for 50 MB), paid only
by a document orjson refused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import orjson

from checks.limits import LIMIT, SYNTAX, Limits
from checks.snapshot import K8sObject, ParseProblem
from checks.sources import jsonlist
from checks.sources.documents import accept, check_document, document_bytes, report
from checks.sources.guards import Rejected
from checks.sources.places import Lines, document_place

# An item nested deeper than this inside its List is replaced before parsing: deeper than any
# limits.depth allows, and shallow enough for orjson (1024) and msgspec (the recursion limit).
ITEM_DEPTH = 500
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_ITEM_LEVEL = 3  # the document (1), its items array (2), an item (3)


def brackets(text: str) -> Iterator[tuple[int, str]]:
    """``(position, bracket)`` of every bracket of JSON ``text`` outside its strings, in order."""
    for match in _TOKENS.finditer(text):
        at = match.start()
        char = text[at]
        if char != '"':
            yield at, char


class _Scan:
    """Where the document goes past ``limits.depth`` first, and the items nested past ITEM_DEPTH:
    (start, end, first position past the limit) each."""

    def __init__(self, text: str, limit: int) -> None:
        self.first_over: int | None = None
        self.items: list[tuple[int, int, int]] = []
        self.closed = True
        depth, item_start, item_deep = 0, 0, False
        item_over: int | None = None
        for at, char in brackets(text):
            if char in "[{":
                depth += 1
                if depth == _ITEM_LEVEL:
                    item_start, item_over, item_deep = at, None, False
                if depth > limit:
                    if self.first_over is None:
                        self.first_over = at
                    if item_over is None and depth >= _ITEM_LEVEL:
                        item_over = at
                if depth - _ITEM_LEVEL >= ITEM_DEPTH:
                    item_deep = True
            else:
                if depth == _ITEM_LEVEL and item_deep:
                    self.items.append((item_start, at + 1, item_over if item_over is not None else item_start))
                depth -= 1
        self.closed = depth == 0


def read_deep(
    text: str, label: str, objects: list[K8sObject], problems: list[ParseProblem], limits: Limits
) -> None:
    """Read ``text`` (one document orjson refused for depth): its items that are not too deep."""
    scan = _Scan(text, limits.depth)
    if not scan.items or not scan.closed:
        report(problems, LIMIT, label, 0, _verdict(text, scan.first_over, limits).describe())
        return
    token = secrets.token_hex(8)
    markers: dict[str, Rejected] = {}
    parts: list[str] = []
    last = 0
    for number, (start, end, over) in enumerate(scan.items):
        marker = f"kwa-too-deep-{token}-{number}"
        markers[marker] = _verdict(text, over, limits)
        # The item's newlines stay, so every item after it keeps its lines.
        parts += (text[last:start], f'"{marker}"', "\n" * text.count("\n", start, end))
        last = end
    parts.append(text[last:])
    reduced = "".join(parts)
    if jsonlist.read_whole(reduced, label, objects, problems, limits, markers):
        return
    try:
        value = orjson.loads(reduced)
    except orjson.JSONDecodeError as exc:
        report(problems, SYNTAX, label, 0, f"JSON does not parse: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        return
    items = value.get("items") if isinstance(value, dict) and str(value.get("kind", "")).endswith("List") else None
    if not isinstance(items, list):
        items = []
    found = [i for i, item in enumerate(items) if isinstance(item, str) and item in markers]
    if len(found) != len(markers):  # a marker is not an item: the depth is the document's own
        report(problems, LIMIT, label, 0, _verdict(text, scan.first_over, limits).describe())
        return
    try:
        check_document(value, document_bytes(reduced, limits), limits, reduced)
    except Rejected as exc:
        report(problems, exc.kind, label, 0, exc.describe())
        return
    for number in found:
        value["items"][number] = markers[value["items"][number]]
    reduced_lines = Lines(reduced)
    accept(value, label, 0, objects, problems, document_place(reduced, reduced_lines, 0, len(reduced)), reduced_lines)


def report_deep(
    text: str, label: str, index: int, problems: list[ParseProblem], limits: Limits, line_offset: int
) -> None:
    """The depth verdict of one document of a stream, located in the input."""
    verdict = _verdict(text, _Scan(text, limits.depth).first_over, limits)
    report(problems, LIMIT, label, index, verdict.describe(line_offset))


def _verdict(text: str, position: int | None, limits: Limits) -> Rejected:
    message = f"nested deeper than limits.depth ({limits.depth})"
    if position is None:
        return Rejected(LIMIT, message)
    line_start = text.rfind("\n", 0, position) + 1
    return Rejected(LIMIT, message, text.count("\n", 0, position), position - line_start)
