"""What keeps one hostile document from costing more than itself (checks.limits).

Each parser has its own way of failing: PyYAML's C composer recurses once per nesting level and
overflows the C stack near 100,000 levels (a segfault, not an exception); rapidyaml's ``resolve``
copies every alias (the 437-byte "billion laughs" becomes 435 million nodes) and crashes on an
alias inside its own anchor; ``json.loads`` raises RecursionError at 1,000 levels; every one of
them keeps the last of two equal mapping keys without a word. So each document is measured
before anything is built from it, by bounds that cost next to nothing when a document is
ordinary and turn precise only when it is not:

- depth: a bound from the text (indentation plus every ``[``/``{``), then libyaml's event stream
  (iterative) read only as deep as the limit;
- aliases: the composed node graph walked once with memoised sizes, so the expanded size of the
  billion laughs is counted in a few hundred steps without expanding anything;
- duplicate keys: in PyYAML's constructor, with their line; for JSON text, by counting colons
  in the text and in orjson's rendering of what was parsed (a collapsed key loses its colon),
  and only when the two differ a slow exact scan that finds the key and its line.

Failures are :class:`Rejected`: a kind for counting (checks.limits), a message, a position.
"""

from __future__ import annotations

import functools
import io
import json
import json.scanner
import re
from collections.abc import Iterable
from itertools import repeat
from operator import add
from typing import Any

import orjson
import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from checks.limits import DUPLICATE_KEY, LIMIT, Limits
from checks.limits import size as size_text

try:  # the C loader is ~10x faster on large dumps
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_MERGE_TAG = "tag:yaml.org,2002:merge"
# Opening events of a collection / closing events, as libyaml reports them.
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


class Rejected(Exception):
    """A document kwa will not use: over a limit, or a duplicate key. Positions are 0-based and
    relative to the document's text; :meth:`describe` makes them lines of the file."""

    def __init__(
        self, kind: str, message: str, line: int | None = None, column: int | None = None, first: int | None = None
    ) -> None:
        super().__init__(kind, message, line, column, first)  # args: so it pickles across a fork
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
        self.first = first  # a duplicate key: the line of its first definition

    def describe(self, line_offset: int = 0) -> str:
        """The message with file lines: ``line_offset`` is the line the document starts on (0-based)."""
        if self.line is None:
            return self.message
        where = f"line {self.line + line_offset + 1}"
        if self.column is not None:
            where += f", column {self.column + 1}"
        if self.first is not None:
            where += f"; first defined at line {self.first + line_offset + 1}"
        return f"{self.message} ({where})"


def quote(key: Any, width: int = 80) -> str:
    """A key as a message shows it: JSON-quoted, cut to ``width`` characters."""
    text = json.dumps(key, ensure_ascii=False) if isinstance(key, str) else repr(key)
    return text if len(text) <= width else text[: width - 1] + "…\""


# ---- depth --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _indented(width: int) -> re.Pattern[str]:
    # A line whose indentation, counting the "- ", "? " and ": " of compact nested nodes, reaches
    # ``width`` columns.
    return re.compile(rf"^[ \t?:-]{{{width}}}", re.MULTILINE)


def check_yaml_depth(text: str, limit: int) -> None:
    """Raise :class:`Rejected` if ``text`` nests deeper than ``limit`` collections.

    Bound first: a block collection sits at least one column right of its parent, except a
    sequence under a mapping key, whose entries then start two columns right; so block depth is
    at most 2 x indentation + 2, and every flow level costs a ``[`` or ``{``. Only a document
    that could be deeper is read event by event, stopping at the limit: libyaml's parser is
    iterative, its consumers are not.
    """
    room = limit - 2 - text.count("[") - text.count("{")
    if room >= 0 and _indented(room // 2 + 1).search(text) is None:
        return
    depth = 0
    try:
        for event in yaml.parse(io.StringIO(text) if len(text) > 1_000_000 else text, Loader=_Loader):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > limit:
                    mark = event.start_mark
                    raise Rejected(LIMIT, f"nested deeper than limits.depth ({limit})", mark.line, mark.column)
            elif isinstance(event, _CLOSE):
                depth -= 1
    except yaml.YAMLError:
        return  # a syntax error before the limit: the loader reports it, no deeper than this


# ---- PyYAML: aliases, expanded size, strings, duplicate keys ---------------------------------------

def has_alias_token(text: str) -> bool:
    """True if ``text`` may hold a YAML alias: a ``*`` where a token can start (line start,
    after whitespace or a flow indicator). ``"*.example.com"`` and ``a*b`` are not aliases."""
    return alias_tokens(text, stop_at=1) > 0


def alias_tokens(text: str, stop_at: int | None = None) -> int:
    """How many ``*`` could start an alias (an upper bound on the aliases of ``text``)."""
    count = 0
    at = text.find("*")
    while at != -1:
        if at == 0 or text[at - 1] in " \t\r\n[{,:":
            count += 1
            if stop_at is not None and count >= stop_at:
                return count
        at = text.find("*", at + 1)
    return count


def check_node_graph(root: yaml.Node, limits: Limits, strings: bool = True) -> None:
    """Raise :class:`Rejected` if the composed document has too many aliases, would expand to too
    many nodes or nest too deep with its aliases expanded, holds an alias inside its own anchor,
    or (``strings``) a string longer than ``limits.string_length``.

    PyYAML's composer makes an alias the very node its anchor names, so the graph is a DAG whose
    expanded size is memoised per node: the billion laughs costs a few hundred steps here.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            total, deepest = 1, 0
            for child in _children(node):
                total += size[id(child)]
                deepest = max(deepest, depth[id(child)])
            size[key] = total
            depth[key] = deepest + 1
            if total > limits.alias_nodes:
                raise _over(f"expands to more than limits.alias_nodes ({limits.alias_nodes:,}) nodes "
                            "with its aliases resolved", node)
            if deepest + 1 > limits.depth:
                raise _over(f"nested deeper than limits.depth ({limits.depth}) with its aliases resolved",
                            node)
            continue
        if key in size:  # measured before: this occurrence is an alias (or a merge) of it
            aliases += 1
            if aliases > limits.aliases:
                raise _over(f"more than limits.aliases ({limits.aliases:,}) aliases; the last refers to the anchor",
                            node)
            continue
        if key in open_nodes:
            raise Rejected(LIMIT, "an alias inside its own anchor (a recursive document)",
                           node.start_mark.line, node.start_mark.column)
        if isinstance(node, ScalarNode):
            if strings and len(node.value) > limits.string_length:
                raise _over(f"a string of {len(node.value):,} characters, over "
                            f"limits.string_length ({limits.string_length:,})", node)
            size[key], depth[key] = 1, 0
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in reversed(_children(node)):
            if id(child) in open_nodes:
                raise Rejected(LIMIT, "an alias inside its own anchor (a recursive document)",
                               node.start_mark.line, node.start_mark.column)
            stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _over(message: str, node: yaml.Node) -> Rejected:
    return Rejected(LIMIT, message, node.start_mark.line, node.start_mark.column)


class _GuardedLoader(_Loader):  # type: ignore[misc, valid-type]
    """PyYAML's loader, refusing a mapping that defines a key twice (as the API server does)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue  # merged keys may be overridden: that is what a merge is for
                key = self.construct_object(key_node, deep=True)  # memoised: built once either way
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # unhashable: the base class reports it
                mark = key_node.start_mark
                if first is not None:
                    raise Rejected(DUPLICATE_KEY, f"mapping key {quote(key)} defined twice", mark.line, mark.column,
                                   first)
                seen[key] = mark.line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def load_guarded(text: str, limits: Limits) -> list[Any]:
    """Every document of ``text`` through PyYAML, each measured before it is built.

    Raises :class:`Rejected` (a limit, a duplicate key) or ``yaml.YAMLError`` (syntax).
    """
    check_yaml_depth(text, limits.depth)
    walk = has_alias_token(text) or len(text) > limits.string_length
    loader = _GuardedLoader(io.StringIO(text) if len(text) > 1_000_000 else text)
    try:
        out = []
        while loader.check_node():
            node = loader.get_node()
            if walk:
                check_node_graph(node, limits, strings=len(text) > limits.string_length)
            out.append(loader.construct_document(node))
        return out
    finally:
        loader.dispose()


# ---- JSON text (a JSON file, or rapidyaml's JSON rendering of a YAML document) --------------------

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
