"""The :class:`checks.positions.Place` of each document and ``kind: List`` item, while parsing.

A document's place comes from where the splitter cut it (checks/sources/splitting.py): its first
and last content lines (blank and comment-only lines around it are not part of it), counted
forward through the input, so a whole file costs one pass of ``str.count`` over it. Its column is
that of its first character: the distance back to the line break before it (a few bytes: a
document starts at the beginning of a line, or after a ``--- `` marker on it).

The items of a List (``kubectl get -o yaml|json``) are found by their layout, not by parsing again:
in YAML block style every item starts with a ``- `` at the items' own indentation, in pretty-printed
JSON with a ``{`` alone on its line at theirs. The count must equal the number of items the parser
returned, or no item gets a place of its own (each keeps the List document's lines): a layout this
does not read never yields a wrong line. A List printed on one line (``json.dumps`` without indent)
needs no search: everything is on that line.
"""

from __future__ import annotations

import functools
import re

from checks.positions import Place, Text

_SPACE = frozenset(b" \t\r\n")


class Lines:
    """1-based line numbers of offsets in ``text``, counted forward from the last one asked for."""

    __slots__ = ("_at", "_line", "_nl", "text")

    def __init__(self, text: Text) -> None:
        self.text = text
        self._nl: Text = b"\n" if isinstance(text, bytes) else "\n"
        self._at = 0
        self._line = 1

    def line(self, pos: int) -> int:
        if pos < self._at:
            self._at, self._line = 0, 1
        self._line += self.text.count(self._nl, self._at, pos)  # type: ignore[arg-type]
        self._at = pos
        return self._line


@functools.lru_cache(maxsize=64)
def _pattern(source: str, binary: bool) -> re.Pattern:  # type: ignore[type-arg]
    return re.compile(source.encode() if binary else source, re.MULTILINE)


_LEADING = r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*"  # blank and comment-only lines


def document_place(text: Text, lines: Lines, lo: int, hi: int) -> Place | None:
    """The place of the document ``text[lo:hi]``; None when it has no content line."""
    binary = isinstance(text, bytes)
    start = _pattern(_LEADING, binary).match(text, lo, hi).end()  # type: ignore[union-attr]
    end = _content_end(text, start, hi)
    if end <= start:
        return None
    line, end_line = lines.line(start), lines.line(end - 1)
    column = _column(text, start, binary)
    if line == end_line:  # every field is on its one line: the text is never needed again
        return Place(text[:0], 0, 0, line, line, column)
    return Place(text, start, end, line, end_line, column)


def _column(text: Text, start: int, binary: bool) -> int:
    """The 1-based column of the first non-blank character at or after ``start`` on its line."""
    line_start = text.rfind(b"\n" if binary else "\n", 0, start) + 1  # type: ignore[arg-type]
    first = start
    while text[first : first + 1] in (" ", "\t", b" ", b"\t"):
        first += 1
    return first - line_start + 1


def _content_end(text: Text, lo: int, hi: int) -> int:
    """The end of the last content character in ``text[lo:hi]``: trailing blanks and
    comment-only lines dropped (checked backwards: there are rarely any)."""
    binary = isinstance(text, bytes)
    nl, hash_ = (b"\n", b"#") if binary else ("\n", "#")
    end = hi
    while True:
        while end > lo and _is_space(text[end - 1], binary):
            end -= 1
        line_start = text.rfind(nl, lo, end) + 1  # type: ignore[arg-type]
        if line_start < lo:
            line_start = lo
        first = line_start
        while first < end and text[first] in (" ", "\t", 32, 9):
            first += 1
        if first < end and text[first : first + 1] == hash_ and end > lo:
            end = line_start
            continue
        return end


def _is_space(char: str | int, binary: bool) -> bool:
    return char in _SPACE if binary else char in " \t\r\n"


def item_places(place: Place, count: int, lines: Lines) -> list[Place] | None:
    """A place per item of the List at ``place`` (``count`` items), or None when its layout does
    not show them one by one (see the module docstring)."""
    if count == 0:
        return []
    if place.line == place.end_line:  # one line: nothing to tell apart
        # Items are not told apart on one line: each keeps the List's column too.
        return [Place(place.text, place.start, place.end, place.line, place.line, place.column) for _ in range(count)]
    text = place.text
    binary = isinstance(text, bytes)
    first = text[place.start : place.start + 1]
    if first in ("{", b"{"):
        bounds = _json_items(text, place.start, place.end, binary)
    else:
        bounds = _yaml_items(text, place.start, place.end, binary)
    if bounds is None:
        return None
    starts, region_end = bounds
    if len(starts) != count:
        return None
    out = []
    for i, start in enumerate(starts):
        end = _content_end(text, start, starts[i + 1] if i + 1 < len(starts) else region_end)
        # An item's line starts with its "- " or "{" after the items' indentation.
        column = _column(text, start, binary)
        out.append(Place(text, start, end, lines.line(start), lines.line(max(end - 1, start)), column))
    return out


def _yaml_items(text: Text, lo: int, hi: int, binary: bool) -> tuple[list[int], int] | None:
    key = _pattern(r"^items[ \t]*:[ \t]*(?:#[^\n]*)?\r?$", binary).search(text, lo, hi)
    if key is None:
        return None
    body = key.end() + 1
    first = _pattern(r"^([ ]*)(?=[^ \t\r\n#])", binary).search(text, body, hi)
    if first is None or text[first.end() : first.end() + 1] not in ("-", b"-"):
        return None
    indent = first.end() - first.start()
    fewer = rf"[ ]{{0,{indent - 1}}}[^ \t\r\n#]|" if indent else ""
    # Line starts as the newline before them (see _json_items).
    close = _pattern(rf"\n(?:{fewer}[ ]{{{indent}}}[^ \t\r\n#-])", binary).search(text, body - 1, hi)
    end = close.start() + 1 if close else hi
    entry = _pattern(rf"\n[ ]{{{indent}}}-(?=[ \t\r\n]|$)", binary)
    return [m.start() + 1 for m in entry.finditer(text, first.start() - 1, end)], end


def _json_items(text: Text, lo: int, hi: int, binary: bool) -> tuple[list[int], int] | None:
    key = _pattern(r'^[ ]*"items"[ \t]*:[ \t]*\[[ \t]*\r?$', binary).search(text, lo, hi)
    if key is None:
        return None
    body = key.end() + 1
    first = _pattern(r"^([ ]*)(?=\S)", binary).search(text, body, hi)
    if first is None or text[first.end() : first.end() + 1] not in ("{", b"{"):
        return None
    indent = first.end() - first.start()
    # Line starts written as the newline before them, not as ``^``: a pattern that begins with a
    # literal is searched for that character, one with ``^`` is tried at every offset (a kubectl
    # dump is indented: 1.9 of 3.5 s of reading 10k objects went to these two scans). ``body`` and
    # ``first`` start lines, so the newline before each is in the text.
    close = _pattern(rf"\n[ ]{{0,{max(indent - 1, 0)}}}\S", binary).search(text, body - 1, hi)
    end = close.start() + 1 if close else hi
    opener = _pattern(rf"\n[ ]{{{indent}}}\{{", binary)
    return [m.start() + 1 for m in opener.finditer(text, first.start() - 1, end)], end
