"""A YAML stream split into its documents on ``---`` markers, so one bad document cannot hide
the others. Every document is a contiguous slice of the text, and its start is kept so that a
problem found in it can name the line of the file. At most ``limit`` documents are cut: a stream
with more stops there (checks.limits: ``documents``) instead of filling memory with empty ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A marker line: "---" alone or followed by a blank or a comment, then the line's end. Matched
# after its "\n" (the first line is tried apart): the engine finds that literal in C, where a
# MULTILINE "^" is tried at every offset (17 MB: 0.02 s instead of 0.16 s).
_MARKER = re.compile(r"---(?:[ \t#][^\n]*)?(?=\n|\Z)")
_LATER_MARKER = re.compile(r"\n(---(?:[ \t#][^\n]*)?)(?=\n|\Z)")
# Line breaks str.splitlines knows besides "\n": with any of them, the line-by-line split decides.
# Tested one by one: a substring test runs in C, a character class is tried at every offset.
_OTHER_BREAKS = ("\r", "\v", "\f", "\x1c", "\x1d", "\x1e")
_OTHER_BREAKS_WIDE = ("\x85", "\u2028", "\u2029")


def split(text: str, limit: int | None = None) -> tuple[list[str], list[int], bool]:
    """``(documents, starts, truncated)``: the documents of ``text``, where each starts in it,
    and whether there were more than ``limit`` (then only the first ``limit`` are returned)."""
    if _other_breaks(text):
        chunks, starts, stopped = _by_lines(text, limit)
    else:
        chunks, starts, stopped = _by_markers(text, limit)
    if chunks and not chunks[0].strip():  # a file starting with --- has no document before it
        chunks, starts = chunks[1:] or [""], starts[1:] or [0]
    if limit is not None and (stopped or len(chunks) > limit):
        return chunks[:limit], starts[:limit], True
    return chunks, starts, False


def _other_breaks(text: str) -> bool:
    if any(b in text for b in _OTHER_BREAKS):
        return True
    return not text.isascii() and any(b in text for b in _OTHER_BREAKS_WIDE)


def _markers(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, marker line without its line break)`` for every marker line, in order."""
    first = _MARKER.match(text)
    if first:
        yield 0, first.group()
    for found in _LATER_MARKER.finditer(text):
        yield found.start(1), found.group(1)


def _by_markers(text: str, limit: int | None) -> tuple[list[str], list[int], bool]:
    # One regex scan instead of a Python loop per line.
    chunks: list[str] = []
    starts: list[int] = []
    begin = 0
    for at, marker in _markers(text):
        chunks.append(text[begin:at])
        starts.append(begin)
        if limit is not None and len(chunks) >= limit + 2:
            return chunks, starts, True
        rest = marker[3:]
        end = at + len(marker) + 1  # past the line break (or one past the end of the text)
        # "--- a: 1": the rest of the marker line belongs to the next document.
        begin = at + 3 + (len(rest) - len(rest.lstrip())) if rest.strip() else min(end, len(text))
    chunks.append(text[begin:])
    starts.append(begin)
    return chunks, starts, False


def _by_lines(text: str, limit: int | None) -> tuple[list[str], list[int], bool]:
    chunks: list[str] = []
    starts: list[int] = []
    current: list[str] = []
    begin = pos = 0
    for line in text.splitlines(keepends=True):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t\r\n#"):
            chunks.append("".join(current))
            starts.append(begin)
            if limit is not None and len(chunks) >= limit + 2:
                return chunks, starts, True
            rest = line[3:]
            if rest.strip():
                current = [rest.lstrip()]
                begin = pos + 3 + len(rest) - len(rest.lstrip())
            else:
                current = []
                begin = pos + len(line)
        else:
            current.append(line)
        pos += len(line)
    chunks.append("".join(current))
    starts.append(begin)
    return chunks, starts, False


def split_documents(text: str) -> list[str]:
    """The documents of ``text`` (the regex scan where it applies)."""
    return split(text)[0]


def split_lines(text: str) -> list[str]:
    """The documents of ``text``, always by the line-by-line scan (the regex scan's reference)."""
    chunks = _by_lines(text, None)[0]
    if chunks and not chunks[0].strip():
        chunks = chunks[1:] or [""]
    return chunks
