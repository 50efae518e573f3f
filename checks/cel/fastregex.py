"""Regular expressions of CEL's ``matches()`` that Python's ``re`` reads as the library does.

The library (the Rust ``cel`` crate) matches with Rust's ``regex`` crate; Python's ``re`` differs
in places (``$`` also matches before a final newline, Unicode classes such as ``\\d`` and ``\\w``
follow different tables, flags, look-around, possessive repetition, set operations inside
classes). :func:`python_pattern` accepts only patterns made of plain characters, simple classes
and ranges, groups, alternation and repetition, where the two read the same; anything else is
:class:`~checks.cel.fastparse.Unsupported` and the expression keeps to the library.
"""

from __future__ import annotations

import re

from checks.cel.fastparse import Unsupported

_LITERAL = re.compile(r"[A-Za-z0-9 _\-/:@,=#%'\"<>!;`]")
# A class of plain characters and alphanumeric ranges (no nested classes, escapes or set operators).
_CLASS = re.compile(r"\[\^?(?:[A-Za-z0-9]-[A-Za-z0-9]|[A-Za-z0-9 _/:@,=#%'\"<>!;`.*+?(){}$])+\]")
_ESCAPABLE = set(".\\-/*+?()[]{}|^$")
_QUANT = re.compile(r"\{([0-9]{1,3})(,([0-9]{1,3})?)?\}")


def python_pattern(pattern: str) -> re.Pattern[str]:
    """The pattern compiled for Python, or Unsupported if Python might read it differently."""
    out: list[str] = []
    i, n, depth = 0, len(pattern), 0
    repeatable = False  # whether the previous item may take a quantifier
    while i < n:
        c = pattern[i]
        item = True
        if c == "^" and i == 0:
            out.append(c)
            item = False
        elif c == "$" and i == n - 1 and depth == 0:
            out.append(r"\Z")  # Python's $ also matches before a final newline; the library's does not
            item = False
        elif c == "\\":
            if i + 1 >= n or pattern[i + 1] not in _ESCAPABLE:
                raise Unsupported("regex escape")
            out.append(pattern[i : i + 2])
            i += 1
        elif c == "[":
            m = _CLASS.match(pattern, i)
            if m is None:
                raise Unsupported("regex class")
            out.append(m.group())
            i = m.end() - 1
        elif c == "(":
            if pattern.startswith("(?:", i):
                out.append("(?:")
                i += 2
            elif i + 1 < n and pattern[i + 1] == "?":
                raise Unsupported("regex group")
            else:
                out.append(c)
            depth += 1
            item = False
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise Unsupported("regex group")
            out.append(c)
        elif c in "*+?{":
            if not repeatable:
                raise Unsupported("regex repetition")
            m = _QUANT.match(pattern, i) if c == "{" else None
            if c == "{" and (m is None or out[-1] == ")"):
                raise Unsupported("regex repetition")
            text = m.group() if m else c
            i += len(text) - 1
            if i + 1 < n and pattern[i + 1] == "?":  # lazy: the same yes/no answer in both
                text += "?"
                i += 1
            out.append(text)
            item = False
        elif c == "|":
            out.append(c)
            item = False
        elif c == "." or _LITERAL.match(c):
            out.append(c)
        else:
            raise Unsupported("regex character")
        repeatable = item
        i += 1
    if depth != 0:
        raise Unsupported("regex group")
    try:
        return re.compile("".join(out))
    except re.error:
        raise Unsupported("regex") from None
