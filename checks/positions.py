"""Where an object and its fields sit in the manifest it was read from.

While manifests are parsed, each object gets a :class:`Place`: the input's text (shared by every
object of that input, not copied), the offsets of the object's own text in it (its document, or
its item of a ``kind: List``), the 1-based lines of its first and last content lines and the
1-based column of its first character. That is nearly free: the document splitter knows where each
document starts, counting line breaks runs at memory speed, and the column is the distance from the
line break before that start.

A check that can say which field it judged (``spec.template.spec.containers[0].securityContext.
privileged``) gets that field's line as well, resolved while the run evaluates, from the text the
run parsed (never by re-reading a file later) and only for the results that need it (failing,
warning, malformed), with its column: that of the key the path ends at (of the entry's ``-`` or
the element's first character for an index). The resolver reads the layout both YAML block style and pretty-printed JSON
use - one key per line, nesting by indentation - with a few regular-expression searches over the
object's own text, about a hundred times cheaper than composing the document with a YAML parser.
When a key is not there (a container that lacks the field) the answer is the line of the deepest
part of the path that is (and its column); when the layout is not one it can read (flow style, a
JSON object on one line) it is the object's first line and column, never a guess.

Lines count ``\\n`` breaks (``\\r\\n`` counts once), as editors and code-scanning UIs do. Columns
count characters from 1; what precedes an object or a key on its line is indentation, ``- ``
entry dashes or a ``--- `` marker, all ASCII, so characters, bytes and UTF-16 units agree.
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Any

Text = str | bytes


class Place:
    """An object's text in its input: ``text[start:end]``, content lines ``line``..``end_line``.

    ``start`` is where the object's first content line begins (or, for a document that follows
    ``--- `` on the marker's own line, where it begins on that line); ``column`` is the 1-based
    column of the object's first character on line ``line`` (its first key, the ``-`` of a YAML
    List item, the ``{`` of a JSON one).
    """

    __slots__ = ("column", "end", "end_line", "line", "memo", "start", "text")

    def __init__(self, text: Text, start: int, end: int, line: int, end_line: int, column: int = 1) -> None:
        self.text = text
        self.start = start
        self.end = end
        self.line = line
        self.end_line = end_line
        self.column = column
        # The fields already resolved (path -> line) and where path prefixes led (segments ->
        # state): an object that fails several checks is asked about the same container again
        # and again. Per process: each check worker fills its own.
        self.memo: dict[Any, Any] | None = None

    def __repr__(self) -> str:
        return f"Place(lines {self.line}-{self.end_line}, column {self.column}, chars {self.start}-{self.end})"


# -- field paths -------------------------------------------------------------------------------

_SEGMENT = re.compile(r"""\.?([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]""")


@functools.lru_cache(maxsize=4096)
def parse_path(path: str) -> tuple[str | int, ...] | None:
    """``a.b[0]["x.y"]`` -> ``("a", "b", 0, "x.y")``; None when ``path`` is not one."""
    out: list[str | int] = []
    pos = 0
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if m is None or m.end() == pos:
            return None
        key, index, quoted = m.groups()
        if index is not None:
            out.append(int(index))
        elif quoted is not None:
            out.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            out.append(key)
        pos = m.end()
    return tuple(out) or None


def join_path(base: str | None, *segments: str | int) -> str:
    """``base`` (a path, possibly empty) extended by raw segments: ``join_path("spec", "containers",
    0)`` -> ``spec.containers[0]``; keys that are not plain words are quoted (``["a.b/c"]``)."""
    out = base or ""
    for part in segments:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            escaped = part.replace("\\", "\\\\").replace('"', '\\"')
            out += f'["{escaped}"]'
    return out


def concat(base: str | None, relative: str | None) -> str | None:
    """Two paths as one: ``concat("spec.containers[0]", "securityContext.privileged")``."""
    if not relative:
        return base or None
    if not base:
        return relative
    return base + relative if relative.startswith("[") else f"{base}.{relative}"


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


# -- resolving a path to a line and column -----------------------------------------------------


def field_position(place: Place | None, path: str | None) -> tuple[int, int] | None:
    """``(line, column)``, both 1-based, of ``path`` in the object at ``place`` (see the module
    docstring)."""
    if place is None or not path:
        return None
    if place.line >= place.end_line:
        return place.line, place.column  # one line: no key is told apart from the object
    memo = place.memo
    if memo is None:
        memo = place.memo = {}
    elif path in memo:
        return memo[path]  # type: ignore[no-any-return]
    found = memo[path] = _field_position(place, path)
    return found


def field_line(place: Place | None, path: str | None) -> int | None:
    """The 1-based line of ``path`` in the object at ``place``: :func:`field_position`'s line."""
    found = field_position(place, path)
    return None if found is None else found[0]


def _field_position(place: Place, path: str) -> tuple[int, int]:
    segments = parse_path(path)
    if segments is None:
        return place.line, place.column
    segment = place.text[place.start : place.end]
    if isinstance(segment, bytes):
        segment = segment.decode("utf-8", "surrogateescape")
    # Every line is found by the "\n" that precedes it (the first line gets one too): searching
    # for a literal character is what Python's regex engine does fast, "^" it tries at every offset.
    text = "\n" + segment
    first = _FIRST.search(text)
    if first is None:
        return place.line, place.column
    opener = text[first.end() : first.end() + 1]
    if opener == "[":
        return place.line, place.column
    reader = (_Json if opener == "{" else _Block)(text)
    # The memo also keeps where each path prefix led (``spec.template.spec.containers[0]``): the
    # paths a failing object is asked for share their container, so most lookups take two steps.
    memo = place.memo if place.memo is not None else {}
    done = len(segments)
    while done and segments[:done] not in memo:
        done -= 1
    state = memo[segments[:done]] if done else reader.start(first)
    for n in range(done, len(segments)):
        following = reader.step(state, segments[n])
        if following is None:
            break  # the deepest part of the path that is there
        state = memo[segments[: n + 1]] = following
    # A state's first item is the offset of the key (or entry, or element) it found.
    at = state[0]
    line_break = text.rfind("\n", 0, at)
    column = at - line_break
    if line_break == 0:
        # The object's first line: ``text`` may start after a "--- " marker on it, so the column
        # is counted from the object's own column.
        column += place.column - (first.end() - first.start())
    return place.line + text.count("\n", 0, line_break), column


# The first content line at or after a line: indentation, then anything but a blank or a comment.
_FIRST = re.compile(r"\n([ ]*)(?=[^ \t\r\n#])")
# The start of a line up to a mapping's first key: indentation and any "- " entry dashes.
_PREFIX = re.compile(r"[ ]*(?:-(?:[ ]+|(?=[\r\n])|$))*")
_DASHES = re.compile(r"[ ]*(?:-[ ]+)*")
_DASH = re.compile(r"[ ]*-(?:[ ]+|(?=[\r\n])|$)")  # one entry's dash and the spaces after it


def _eol(text: str, pos: int, hi: int) -> int:
    """The "\n" that ends the line holding ``pos`` (``hi`` on the last line)."""
    end = text.find("\n", pos, hi)
    return hi if end < 0 else end


@functools.lru_cache(maxsize=2048)
def _block_key(key: str, col: int, parent: int | None) -> re.Pattern[str]:
    """``key:`` at column ``col`` - or, inside the value of a key at column ``parent``, whichever
    comes first of it and the line that closes that value (group ``end``): one scan, not two."""
    k = re.escape(key)
    found = rf"""(?P<prefix>[ -]{{{col}}})(?:{k}|"{k}"|'{k}')[ \t]*:(?=[ \t\r\n]|\Z)"""
    if parent is None:
        return re.compile(rf"\n{found}")
    fewer = rf"[ ]{{0,{parent - 1}}}[^ \t\r\n#]|" if parent else ""
    return re.compile(rf"\n(?:(?P<end>{fewer}[ ]{{{parent}}}[^ \t\r\n#-])|{found})")


@functools.lru_cache(maxsize=256)
def _block_end(col: int) -> re.Pattern[str]:
    # The line that closes a block value begun by a key at ``col``: any content line less indented,
    # or as indented and not a "- " entry (a sequence may sit at its key's indentation). Blank and
    # comment lines never close it.
    fewer = rf"[ ]{{0,{col - 1}}}[^ \t\r\n#]|" if col else ""
    return re.compile(rf"\n(?:{fewer}[ ]{{{col}}}[^ \t\r\n#-])")


def _closed(text: str, col: int, lo: int, upto: int) -> bool:
    """Whether one of the lines from ``lo`` to ``upto`` (both line offsets) closes the block value
    of a key at ``col``. A closing line matches in at most ``col + 2`` characters, so the search
    stops there instead of running on to the block's real end."""
    end = _block_end(col).search(text, lo, upto + col + 2)
    return end is not None and end.start() <= upto


@functools.lru_cache(maxsize=256)
def _entries(indent: int) -> re.Pattern[str]:
    return re.compile(rf"\n[ ]{{{indent}}}-(?=[ \t\r\n]|\Z)")


class _Block:
    """YAML block style: a mapping's keys ``key:`` at one column, a sequence's entries ``- ``.

    Offsets are those of the "\n" before a line; a region ``[lo, hi)`` is a run of whole lines.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    # A state: (the offset of the deepest part found - its key, or its entry's dash -, lo, hi,
    # entry, parent). ``[lo, hi)`` is the
    # region being read: the object itself, an entry of a sequence (a mapping whose first key may
    # follow the entry's dash: ``entry``), or a key's block value (a mapping, or a sequence when it
    # starts with a dash) - ``parent`` is that key's column. The value's end is not searched for
    # (that would scan the whole block): what is found inside it is checked not to lie beyond it.
    State = tuple[int, int, int, bool, "int | None"]

    def start(self, first: re.Match[str]) -> State:
        return first.end(), 0, len(self.text), self.text.startswith("-", first.end()), None

    def step(self, state: State, segment: str | int) -> State | None:
        """Where ``segment`` leads from ``state``; None when it is not there."""
        text = self.text
        _, lo, hi, entry, parent = state
        top = _FIRST.search(text, lo, hi)
        if top is None:
            return None
        if parent is not None and _closed(text, parent, lo, top.start()):
            return None  # the value is empty: its first line belongs to what follows
        dash = text.startswith("-", top.end())
        if isinstance(segment, int):
            if entry:  # "- - a": a sequence as an entry of a sequence
                nested = self._nested(top, hi)
                if nested is None:
                    return None  # not a sequence
                first_entry, indent = nested
            elif dash:
                first_entry, indent = top.start(), len(top.group(1))
            else:
                return None  # not a sequence
            found = self._entry(first_entry, indent, hi, segment, parent)
            # The entry's dash: ``indent`` columns into the line that starts after ``found[0]``.
            return None if found is None else (found[0] + 1 + indent, found[0], found[1], True, None)
        if dash and not entry:
            return None  # a sequence, not a mapping
        col = self._key_column(top, hi)
        key = None if col is None else self._key(lo, hi, col, segment, parent)
        if key is None:
            return None
        at, value = key
        if value is None:  # an inline or block scalar, or a flow collection: nothing below
            return at + 1 + col, at, at, False, None
        return at + 1 + col, value, hi, False, col

    def _key_column(self, top: re.Match[str], hi: int) -> int | None:
        """The column of the keys of the mapping whose first line is ``top``."""
        text = self.text
        begin = top.start() + 1
        eol = _eol(text, begin, hi)
        prefix = _PREFIX.match(text, begin, eol)
        if prefix.end() >= eol:  # type: ignore[union-attr]  # "-" alone: the mapping starts below
            below = _FIRST.search(text, eol, hi)
            return None if below is None else len(below.group(1))
        return prefix.end() - begin  # type: ignore[union-attr]

    def _key(self, lo: int, hi: int, col: int, key: str, parent: int | None) -> tuple[int, int | None] | None:
        """``(the key's line, where its block value starts or None)``; None when absent."""
        text = self.text
        for m in _block_key(key, col, parent).finditer(text, lo, hi):
            if parent is not None and m.group("end") is not None:
                return None  # the value it was looked for in ended first
            if _DASHES.fullmatch(m.group("prefix")) is None:
                continue  # "-x:" is a key that starts with a dash, not an entry's dash
            eol = _eol(text, m.end(), hi)
            rest = text[m.end() : eol].strip()
            if rest[:1] in ("&", "!") and " " not in rest:
                rest = ""  # an anchor or a tag alone: the value still starts below
            if rest and not rest.startswith("#"):
                return m.start(), None
            return m.start(), eol
        return None

    def _nested(self, top: re.Match[str], hi: int) -> tuple[int, int] | None:
        """``(line of its first entry, column of its dashes)`` when the entry whose first line is
        ``top`` holds a sequence: ``- - a`` on one line, or ``-`` alone with ``- a`` below."""
        text = self.text
        begin = top.start() + 1
        eol = _eol(text, begin, hi)
        dash = _DASH.match(text, begin, eol)
        if dash is None:
            return None
        if dash.end() >= eol or text[dash.end()] in "\r#":  # "-" alone: the content starts below
            below = _FIRST.search(text, eol, hi)
            if below is None or _DASH.match(text, below.end(), _eol(text, below.end(), hi)) is None:
                return None
            return below.start(), len(below.group(1))
        if _DASH.match(text, dash.end(), eol) is None:
            return None
        return top.start(), dash.end() - begin

    def _entry(self, first: int, indent: int, hi: int, n: int, parent: int | None) -> tuple[int, int] | None:
        """The region of entry ``n`` of the sequence whose dashes sit at column ``indent`` and
        whose first entry is on the line at ``first`` (the value of a key at column ``parent``,
        when it is one)."""
        text = self.text
        starts = itertools.chain((first,), (m.start() for m in _entries(indent).finditer(text, first + 1, hi)))
        start = None
        for i, at in enumerate(starts):
            if start is not None:
                if parent is not None and _closed(text, parent, start, at):
                    break  # the sequence ended before this line: entry n is its last
                return start, at
            if i == n:
                if parent is not None and _closed(text, parent, first, at):
                    return None
                start = at
        if start is None:
            return None
        end = _block_end(parent).search(text, start + 1, hi) if parent is not None else None
        return start, end.start() if end else hi


@functools.lru_cache(maxsize=2048)
def _json_key(key: str, col: int) -> re.Pattern[str]:
    return re.compile(rf'\n[ ]{{{col}}}"{re.escape(key)}"[ \t]*:[ \t]*')


@functools.lru_cache(maxsize=256)
def _json_close(col: int) -> re.Pattern[str]:
    return re.compile(rf"\n[ ]{{0,{col}}}[\]}}]")


@functools.lru_cache(maxsize=256)
def _json_elements(indent: int) -> re.Pattern[str]:
    return re.compile(rf"\n[ ]{{{indent}}}[^ \t\r\n\]}}]")


_JSON_FIRST_KEY = re.compile(r'\n([ ]*)"')


class _Json:
    """Pretty-printed JSON: one key per line, nested values indented, closers on their own lines."""

    def __init__(self, text: str) -> None:
        self.text = text

    # A state: (the offset of the deepest part found - its key's quote or its element's first
    # character -, lo, hi, the collection [lo, hi) is: "{", "[" or "" for a scalar or a
    # collection on one line).
    State = tuple[int, int, int, str]

    def start(self, first: re.Match[str]) -> State:
        return first.end(), _eol(self.text, first.end(), len(self.text)), len(self.text), "{"

    def step(self, state: State, segment: str | int) -> State | None:
        """Where ``segment`` leads from ``state``; None when it is not there."""
        text = self.text
        _, lo, hi, container = state
        if isinstance(segment, int):
            if container != "[":
                return None
            top = _FIRST.search(text, lo, hi)
            if top is None:
                return None
            indent = len(top.group(1))
            found = _json_elements(indent).finditer(text, top.start(), hi)
            element = next((m for i, m in enumerate(found) if i == segment), None)
            if element is None:
                return None
            at = element.start()
            eol = _eol(text, at + 1, hi)
            opener = text[at + 1 : eol].strip()
            if opener not in ("{", "["):
                return element.end() - 1, at, at, ""  # a scalar element, or a collection on one line
            return element.end() - 1, eol, self._close(eol, hi, indent), opener
        if container != "{":
            return None
        first_key = _JSON_FIRST_KEY.search(text, lo, hi)
        if first_key is None:
            return None
        col = len(first_key.group(1))
        m = _json_key(segment, col).search(text, lo, hi)
        if m is None:
            return None
        at = m.start()
        key = at + 1 + col
        eol = _eol(text, m.end(), hi)
        value = text[m.end() : eol].rstrip().rstrip(",")
        if value not in ("{", "["):
            return key, at, at, ""  # a scalar, or a collection on one line
        return key, eol, self._close(eol, hi, col), value

    def _close(self, lo: int, hi: int, col: int) -> int:
        """Where the collection opened on the line ending at ``lo``, at indentation ``col``, closes."""
        end = _json_close(col).search(self.text, lo, hi)
        return end.start() if end else hi
