"""Measuring a parsed document against checks.limits at C speed: depth, sizes, strings, lost keys.

A JSON document (a file, or rapidyaml's JSON rendering of a YAML one) is rendered by orjson once,
and that one rendering answers every question: orjson refuses to write more than
:func:`orjson_depth` levels, so an object wrapped in that many levels less the limit renders only
if it is no deeper than the limit; its length bounds its strings and its size; its colons count
its keys, so a key JSON parsing collapsed (a duplicate: orjson keeps the last, silently) is a colon
fewer than the text has, and only then does a slow exact scan find the key and its line. A
``kind: List`` (kubectl's dump: one document for a whole cluster) is measured item by item, so
one item over a limit costs that item only.
"""

from __future__ import annotations

import functools
import json
import json.scanner
import re
from collections.abc import Iterable
from itertools import repeat
from operator import add
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

    ``nbytes``: the document's size when it may be over ``limits.document_bytes`` (a List may be,
    by ``document_bytes`` per item on average); ``json_text``: the JSON it was parsed from, whose
    keys are counted against the rendering (:func:`same_colons`); ``depth_known``: its depth was
    bounded by the parser already.

    Each item (or the document) is rendered by orjson once, at C speed, and that one rendering
    answers everything: orjson refuses to write more than :func:`orjson_depth` levels, so wrapped
    in that many levels less the limit an object renders only if it is no deeper than the limit;
    its length bounds its strings (only an object that long is searched for one); its colons count
    its keys.
    """
    items = list_items(value)
    if nbytes is not None and nbytes > limits.document_bytes and (items is None or nbytes > limits.document_bytes
                                                                   * max(1, len(items))):
        raise Rejected(LIMIT, f"a document of {size_text(nbytes)}, over limits.document_bytes "
                              f"({size_text(limits.document_bytes)})")
    ceiling = None if depth_known else orjson_depth()
    walk = not depth_known and ceiling is None
    rejected: dict[int, Rejected] = {}
    colons: int | None
    if items is None:
        shell = _Shell(ceiling - limits.depth) if ceiling else None
        colons = _measure(value, limits, limits.depth, shell, None, walk).colons
    else:
        # The List and its "items" sequence are two levels above every item.
        head = {k: v for k, v in value.items() if k != "items"}
        shell = _Shell(ceiling - limits.depth) if ceiling else None
        counted = _measure(head, limits, limits.depth, shell, None, walk).colons
        colons = counted + 1 if counted is not None else None  # +1: the "items" key
        colons = _measure_items(items, limits, ceiling, depth_known, colons, rejected)
    # An item JSON cannot render leaves its keys uncounted (it is skipped as too deep anyway).
    if json_text is not None and colons is not None and not same_colons(json_text, colons):
        duplicate = json_duplicate(json_text if isinstance(json_text, str) else json_text.decode("utf-8"))
        if duplicate is not None:
            raise duplicate
    return rejected


def list_items(value: Any) -> list[Any] | None:
    """The items of a ``kind: List`` (``PodList``...) document, or None."""
    if isinstance(value, dict) and isinstance(value.get("items"), list):
        kind = value.get("kind")
        if isinstance(kind, str) and kind.endswith("List"):
            return value["items"]  # type: ignore[no-any-return]
    return None


def _measure_items(
    items: list[Any], limits: Limits, ceiling: int | None, depth_known: bool, colons: int | None,
    rejected: dict[int, Rejected],
) -> int | None:
    """The items of a List: each rendered once (``orjson.dumps`` mapped over them, the loop a
    100,000-item dump goes through), their colons added to ``colons``; an item is looked at on
    its own only when its rendering could be over a limit: as long as a limit, or with more
    ``[``/``{`` (brackets in strings included) than the levels it may nest."""
    try:
        rendered: list[bytes | None] = list(map(orjson.dumps, items))
    except (orjson.JSONEncodeError, TypeError):
        rendered = [_dumps(item) for item in items]
    present = [r for r in rendered if r is not None]
    if colons is not None:
        colons += sum(map(bytes.count, present, repeat(b":")))
    levels = limits.depth - 2  # the List and its "items" sequence are two levels above every item
    threshold = min(limits.document_bytes, limits.string_length)
    opens: Iterable[int]
    if depth_known:
        opens = repeat(0)
    elif len(present) == len(rendered):
        opens = map(add, map(bytes.count, present, repeat(b"{")), map(bytes.count, present, repeat(b"[")))
    else:  # an item that did not render is measured on its own anyway
        opens = (t.count(b"{") + t.count(b"[") if t is not None else levels + 1 for t in rendered)
    walk = not depth_known and ceiling is None
    shell = _Shell(ceiling - levels) if ceiling and not depth_known else None
    for number, (item, text, brackets) in enumerate(zip(items, rendered, opens, strict=False)):
        if text is not None and len(text) < threshold and brackets <= levels and not walk:
            continue
        measured = _measure(item, limits, levels, shell, limits.document_bytes, walk)
        if text is None:
            colons = None if colons is None or measured.colons is None else colons + measured.colons
        if measured.problem is not None:
            rejected[number] = measured.problem
    return colons


class _Measured:
    __slots__ = ("colons", "problem")

    def __init__(self, colons: int | None, problem: Rejected | None) -> None:
        self.colons = colons
        self.problem = problem


class _Shell:
    """``levels`` nested lists around one slot, built once and reused for every item: orjson then
    renders ``[[…[obj]…]]`` only if ``obj`` is at most its ceiling less ``levels`` deep."""

    def __init__(self, levels: int) -> None:
        self.levels = max(0, levels)
        self.slot: list[Any] = [None]
        outer: list[Any] = self.slot
        for _ in range(self.levels - 1):
            outer = [outer]
        self.outer = outer

    def render(self, obj: Any) -> bytes | None:
        self.slot[0] = obj
        try:
            return _dumps(self.outer if self.levels else obj)
        finally:
            self.slot[0] = None


def _dumps(obj: Any) -> bytes | None:
    try:
        return orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:  # a YAML value may have keys JSON has none of (12: x); too deep fails again
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return None  # too deep, or a value JSON has no form for (a YAML !!binary, !!set...)


def _measure(
    obj: Any, limits: Limits, depth: int, shell: _Shell | None, max_bytes: int | None, walk: bool = False
) -> _Measured:
    """Render ``obj`` once and check it against ``depth`` levels (through ``shell``; ``walk``: by
    walking it, orjson having no ceiling), ``max_bytes`` and ``limits.string_length``. A
    document's own problems are raised (``max_bytes`` None); an item's are returned."""
    rendered = shell.render(obj) if shell is not None else _dumps(obj)
    problem: Rejected | None = None
    if rendered is None or walk:
        path = _too_deep(obj, depth)
        if path is not None:
            problem = Rejected(LIMIT, f"nested deeper than limits.depth ({limits.depth}) at {path}")
    size = len(rendered) - 2 * (shell.levels if shell is not None else 0) if rendered is not None else None
    if problem is None and max_bytes is not None and size is not None and size > max_bytes:
        problem = Rejected(LIMIT, f"an object of {size_text(size)}, over limits.document_bytes "
                                  f"({size_text(max_bytes)})")
    if problem is None and (size is None or size >= limits.string_length):
        found = _long_string(obj, limits.string_length)
        if found is not None:
            path, length = found
            problem = Rejected(LIMIT, f"a string of {length:,} characters at {path}, over limits.string_length "
                                      f"({limits.string_length:,})")
    if problem is not None and max_bytes is None:
        raise problem
    return _Measured(rendered.count(b":") if rendered is not None else None, problem)


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
