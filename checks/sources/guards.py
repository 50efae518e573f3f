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
- duplicate keys: in PyYAML's constructor, with their line (JSON text: checks.sources.measure).

Failures are :class:`Rejected`: a kind for counting (checks.limits), a message, a position.
"""

from __future__ import annotations

import functools
import io
import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from checks.limits import DUPLICATE_KEY, LIMIT, Limits

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


def check_settings(text: str, limits: Limits | None = None) -> None:
    """Hold the documents of a settings file (kwa's config, a kubeconfig, a fleet, framework or
    check file) to the manifests' limits on nesting and aliases before anything is built: such
    files are input too, and PyYAML's recursion would otherwise end in a RecursionError. Raises
    :class:`Rejected` or ``yaml.YAMLError``."""
    limits = limits or Limits()
    check_yaml_depth(text, limits.depth)
    if has_alias_token(text):
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is not None:
                check_node_graph(node, limits, strings=False)


def load_settings(text: str, limits: Limits | None = None) -> Any:
    """The one YAML document of a settings file, checked first (:func:`check_settings`)."""
    check_settings(text, limits)
    return yaml.load(text, Loader=_Loader)
