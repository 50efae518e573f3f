"""Which fields of its variables an expression can read, so that only those are converted into CEL.

Converting a value into CEL costs microseconds per map entry and string, and a Kubernetes object
has hundreds; an expression reads a handful. :func:`reachable_paths` reads the expression's
tokens and returns, per variable, a *path tree*: nested dicts of the fields followed, ``True``
(:data:`WHOLE`) where the value is used as a whole, and :data:`EACH` for "every element of this
list, read as the subtree says" (what a comprehension macro's variable reads). :func:`project`
cuts a value down to its tree.

Soundness over precision: a field chain that ends in anything but another field (an index, an
operator, a function or method call other than a comprehension macro or ``size()``) keeps the
value whole from there; a ``filter`` result, made of the elements themselves, keeps them whole
unless it is consumed at once by another macro or ``size()``. A projected value therefore
answers every read the expression makes exactly as the whole value would.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

WHOLE = True
EACH = "[]"
MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})

PathTree = dict[str, Any] | bool
Token = tuple[str, str, int]  # (kind, text, offset)


def reachable_paths(tokens: list[Token], roots: Iterable[str]) -> dict[str, PathTree]:
    """For each of ``roots`` the expression names, the tree of what it can read."""
    wanted = set(roots)
    trees: dict[str, PathTree] = {}
    for i, (kind, text, _) in enumerate(tokens):
        if kind != "id" or text not in wanted or (i > 0 and tokens[i - 1][1] == "."):
            continue
        # has(a.b.c) reads whether c is there, not what it holds: c's own tree is empty.
        presence = i >= 2 and tokens[i - 1][1] == "(" and tokens[i - 2][1] == "has"
        trees[text] = merge([trees.get(text, {}), _follow(tokens, i + 1, presence)])
    return trees


def _follow(tokens: list[Token], j: int, presence: bool = False) -> PathTree:
    """What is read of a value whose reference ends just before ``tokens[j]``."""
    n = len(tokens)
    if not (j + 1 < n and tokens[j][1] == "." and tokens[j + 1][0] == "id"):
        return WHOLE  # an operator, an index, an argument list, the end: the value itself is used
    name = tokens[j + 1][1]
    if not (j + 2 < n and tokens[j + 2][1] == "("):
        if presence and j + 2 < n and tokens[j + 2][1] == ")":
            return {name: {}}
        return {name: _follow(tokens, j + 2, presence)}
    if name == "size" and j + 3 < n and tokens[j + 3][1] == ")":
        return {EACH: {}}  # a list's length reads no element (a map iterated stays whole)
    if name not in MACROS or not (j + 4 < n and tokens[j + 3][0] == "id" and tokens[j + 4][1] == ","):
        return WHOLE  # any other method gets the value whole
    close = _closing(tokens, j + 2)
    if close is None:
        return WHOLE
    var = tokens[j + 3][1]
    element = reachable_paths(tokens[j + 5 : close], {var}).get(var, {})
    if name == "filter":  # its result is the elements themselves: what reads them next counts too
        element = merge([element, _elements(_follow(tokens, close + 1))])
    return {EACH: element}


def _elements(tree: PathTree) -> PathTree:
    """What a read of a list (``tree``) reads of its elements."""
    if tree is WHOLE or set(tree) - {EACH}:  # type: ignore[arg-type]
        return WHOLE
    return tree.get(EACH, {})  # type: ignore[union-attr]


def _closing(tokens: list[Token], open_at: int) -> int | None:
    depth = 0
    for k in range(open_at, len(tokens)):
        kind, text, _ = tokens[k]
        if kind != "op":
            continue
        if text in "([{":
            depth += 1
        elif text in ")]}":
            depth -= 1
            if depth == 0:
                return k
    return None


def merge(trees: Iterable[PathTree]) -> PathTree:
    """The union of several trees of one variable."""
    out: dict[str, Any] = {}
    for tree in trees:
        if tree is WHOLE:
            return WHOLE
        for key, sub in tree.items():  # type: ignore[union-attr]
            out[key] = sub if key not in out else merge([out[key], sub])
    return out


def project(value: Any, tree: PathTree) -> Any:
    """``value`` with only what ``tree`` reaches (shared, not copied, below it)."""
    if tree is WHOLE:
        return value
    if type(value) is dict:
        if EACH in tree:  # type: ignore[operator]  # a map iterated: its keys and values are read
            return value
        return {k: project(value[k], sub) for k, sub in tree.items() if k in value}  # type: ignore[union-attr]
    if type(value) is list:
        sub = tree.get(EACH)  # type: ignore[union-attr]
        if sub is None or len(tree) > 1:  # type: ignore[arg-type]
            return value
        return [project(e, sub) for e in value]
    return value
