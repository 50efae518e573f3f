"""Measuring a parsed document against checks.limits at C speed: depth, sizes, strings, lost keys.

A JSON document (a file, or rapidyaml's JSON rendering of a YAML one) is rendered by orjson once,
and that one rendering answers every question: orjson refuses to write more than
:func:`orjson_depth` levels, so an object wrapped in that many levels less the limit renders only
if it is no deeper than the limit; its length bounds its strings and its size; its colons count
its keys, so a key JSON parsing collapsed (a duplicate: orjson keeps the last, silently) is a colon
fewer than the text has, and only then does a slow exact scan find the key and its line. When a
``kind: List`` (kubectl's dump: one document for a whole cluster) is over a limit, its items are
then looked at one by one, so one item over a limit costs that item only.
"""

from __future__ import annotations

import functools
import json
import json.scanner
import re
from collections.abc import Callable
from typing import Any

import orjson

from checks.limits import DUPLICATE_KEY, LIMIT, Limits
from checks.limits import size as size_text
from checks.sources.guards import Rejected, quote

_ESCAPED_COLON = re.compile(r"\\u003[aA]")
_ESCAPED_COLON_B = re.compile(rb"\\u003[aA]")


def same_colons(text: str | bytes, colons: int) -> bool:
    """True if JSON ``text`` has ``colons`` colons (those of orjson's rendering of what it parsed
    to): then no key was lost. In JSON a colon is either a key's or inside a string, and strings
    render unchanged unless the text escaped a colon (``\\u003a``), so a key lost to a
    duplicate is a colon fewer.
    """
    if isinstance(text, str):
        return text.count(":") == colons and _ESCAPED_COLON.search(text) is None
    return text.count(b":") == colons and _ESCAPED_COLON_B.search(text) is None


def check_document(
    value: Any, limits: Limits, nbytes: int | None = None, json_text: str | bytes | None = None,
    depth_known: bool = False,
) -> dict[int, Rejected]:
    """Measure a parsed document against ``limits``; raise :class:`Rejected` for the document, and
    return the items of a ``kind: List`` that are over a limit by themselves (the caller skips
    those, so one bad item in a cluster dump costs that item only).

    ``nbytes``: the document's size when it may be over ``limits.document_bytes``; a List may hold
    that much per item on average. ``json_text``: the JSON it was parsed from (then depth, strings
    and lost keys are measured here; a YAML document had them measured while it was parsed, and
    ``depth_known`` says so).

    One orjson rendering of the whole document, at C speed, answers depth and keys: orjson
    refuses to write more than :func:`orjson_depth` levels, so the document wrapped in that many
    levels less the limit renders only if it is no deeper than the limit; and its colons are
    counted against the text's (:func:`same_colons`). Only when one of these fails is anything
    looked at item by item, to find the culprits.
    """
    items = list_items(value)
    if nbytes is not None and nbytes > limits.document_bytes and (
        items is None or nbytes > limits.document_bytes * max(1, len(items))
    ):
        raise Rejected(LIMIT, f"a document of {size_text(nbytes)}, over limits.document_bytes "
                              f"({size_text(limits.document_bytes)})")
    if json_text is None and depth_known:
        return {}
    rejected: dict[int, Rejected] = {}
    ceiling = None if depth_known else orjson_depth()
    rendered = _dumps(_wrapped(value, ceiling - limits.depth) if ceiling else value)
    if rendered is None or (ceiling is None and not depth_known):
        _find(value, items, rejected, lambda obj, levels: _deep_at(obj, levels, limits))
        if rejected:
            rendered = None  # the rest is not compared with the text: its skipped items are in it
    if json_text is not None and len(json_text) >= limits.string_length and may_have_long_string(
        json_text, limits.string_length
    ):
        _find(value, items, rejected, lambda obj, levels: _string_at(obj, limits))
    if json_text is not None and rendered is not None and not same_colons(json_text, rendered.count(b":")):
        duplicate = json_duplicate(json_text if isinstance(json_text, str) else json_text.decode("utf-8"))
        if duplicate is not None:
            raise duplicate
    return rejected


def _find(
    value: Any, items: list[Any] | None, rejected: dict[int, Rejected],
    problem_of: Callable[[Any, int], Rejected | None],
) -> None:
    """Raise the problem ``problem_of(document, levels)`` finds in a document, or record the
    items of a List that have one (the List and its "items" sequence are two levels above them)."""
    if items is None:
        problem = problem_of(value, 0)
        if problem is not None:
            raise problem
        return
    problem = problem_of({k: v for k, v in value.items() if k != "items"}, 0)
    if problem is not None:
        raise problem
    for number, item in enumerate(items):
        if number not in rejected:
            problem = problem_of(item, 2)
            if problem is not None:
                rejected[number] = problem


def _deep_at(obj: Any, above: int, limits: Limits) -> Rejected | None:
    path = _too_deep(obj, limits.depth - above)
    if path is None:
        return None
    return Rejected(LIMIT, f"nested deeper than limits.depth ({limits.depth}) at {path}")


def _string_at(obj: Any, limits: Limits) -> Rejected | None:
    found = _long_string(obj, limits.string_length)
    if found is None:
        return None
    path, length = found
    return Rejected(LIMIT, f"a string of {length:,} characters at {path}, over limits.string_length "
                           f"({limits.string_length:,})")


def list_items(value: Any) -> list[Any] | None:
    """The items of a ``kind: List`` (``PodList``...) document, or None."""
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        kind = value.get("kind")
        if isinstance(kind, str) and kind.endswith("List"):
            return value["items"]  # type: ignore[no-any-return]
    return None


def rendered_within(value: Any, levels: int) -> bytes | None:
    """orjson's rendering of ``value`` wrapped in ``levels`` lists, or None: with ``levels`` the
    render ceiling less a depth limit, None says the value is deeper than that limit."""
    return _dumps(_wrapped(value, levels))


def _dumps(obj: Any) -> bytes | None:
    try:
        return orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:  # a YAML value may have keys JSON has none of (12: x); too deep fails again
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return None  # too deep, or a value JSON has no form for (a YAML !!binary, !!set...)


@functools.lru_cache(maxsize=1)
def orjson_depth() -> int | None:
    """How many nested collections orjson writes before it refuses (254 in orjson 3.x), or None
    if it did not refuse 4,096 (then depth is measured the slow way)."""
    low, high = 1, 4096
    if _renders(high):
        return None
    while low + 1 < high:  # invariant: _renders(low) and not _renders(high)
        middle = (low + high) // 2
        low, high = (middle, high) if _renders(middle) else (low, middle)
    return low


def _renders(depth: int) -> bool:
    try:
        orjson.dumps(_wrapped(None, depth))
    except orjson.JSONEncodeError:
        return False
    return True


def _wrapped(value: Any, levels: int) -> Any:
    for _ in range(levels):
        value = [value]
    return value


def may_have_long_line(text: str | bytes, width: int) -> bool:
    """False if no line of ``text`` reaches ``width`` characters. A line that long covers a whole
    block of ``width // 2`` aligned on a multiple of it, so one ``find`` per block decides: a few
    dozen calls for a large dump, instead of reading every line."""
    half = max(1, width // 2)
    newline: Any = "\n" if isinstance(text, str) else b"\n"
    return any(text.find(newline, start, start + half) == -1 for start in range(0, len(text) - half + 1, half))


def may_have_long_string(text: str | bytes, width: int) -> bool:
    """False if no string of JSON ``text`` reaches ``width`` characters. Inside a string every
    quote is escaped, and a string that long (its text at least as long) covers a whole block of
    ``width // 2`` aligned on a multiple of it: so if every block holds a quote that is not
    escaped (not after an odd run of backslashes), none does. One ``find`` per block, usually."""
    half = max(1, width // 2)
    quote: Any = '"' if isinstance(text, str) else b'"'
    backslash: Any = "\\" if isinstance(text, str) else 0x5C
    for start in range(0, len(text) - half + 1, half):
        end = start + half
        at = text.find(quote, start, end)
        while at != -1:
            before = at - 1
            while before >= 0 and text[before] == backslash:
                before -= 1
            if (at - 1 - before) % 2 == 0:
                break  # a quote that opens or closes a string
            at = text.find(quote, at + 1, end)
        if at == -1:
            return True
    return False


def _too_deep(value: Any, limit: int) -> str | None:
    """The path of a collection nested deeper than ``limit`` (depth-first, stops at the first)."""
    if not isinstance(value, dict | list):
        return None
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, level, path = stack.pop()
        if level > limit:
            return path or "the top"
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(child, dict | list):
                stack.append((child, level + 1, _join(path, key)))
    return None


def _long_string(value: Any, width: int) -> tuple[str, int] | None:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if len(node) > width:
                return path or "the top", len(node)
            continue
        if isinstance(node, dict):
            for key, child in node.items():
                if isinstance(key, str) and len(key) > width:
                    return _join(path, key[:40] + "…"), len(key)
                stack.append((child, _join(path, key)))
        elif isinstance(node, list):
            stack.extend((child, _join(path, i)) for i, child in enumerate(node))
    return None


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key
        self.at: int | None = None


def json_duplicate(text: str) -> Rejected | None:
    """The first mapping of JSON ``text`` that defines a key twice, or None.

    Slow (the pure-Python scanner: it is the one that tells where an object starts), so it runs
    only when :func:`same_colons` says a key went missing.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
        return dict(items)

    decoder = json.JSONDecoder(object_pairs_hook=pairs)
    plain = decoder.parse_object

    def parse_object(s_and_end: tuple[str, int], *args: Any) -> Any:
        try:
            return plain(s_and_end, *args)
        except _Duplicate as dup:
            if dup.at is None:
                dup.at = s_and_end[1] - 1  # the "{" of the innermost object: the one that repeats
            raise

    decoder.parse_object = parse_object  # type: ignore[method-assign]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _Duplicate as dup:
        at = dup.at or 0
        line = text.count("\n", 0, at)
        column = at - (text.rfind("\n", 0, at) + 1)
        return Rejected(DUPLICATE_KEY, f"mapping key {quote(dup.key)} defined twice in the object", line, column)
    except (ValueError, RecursionError):
        return None  # orjson read it; whatever this scanner dislikes is not a duplicate
    return None
