"""CEL evaluated in Python, for the common subset, with the Rust evaluator as the reference.

Handing a value to the Rust evaluator costs microseconds per string and map entry; a check over
10k objects spent most of its time there. For expressions inside the subset of
:mod:`checks.cel.fastparse` (plus the functions ``size``, ``int``, ``string``, ``has``, the
macros ``all``/``exists``/``exists_one``/``map``/``filter`` and the string methods
``startsWith``/``endsWith``/``contains``/``matches``), :func:`compile_fast` builds Python closures
that read the object's JSON directly.

The closures only return a value when they are certain the Rust library returns the same one.
Everything else raises :class:`Defer` and the caller evaluates that object on the Rust path
(checks.cel.engine): a missing field, a null or a value of another type where CEL errs, an int
outside int64 or an int meeting a double (CEL's numeric rules), ``&&``/``||`` whose first operand
is not a bool (error absorption), a comprehension element that defers, a map iterated by
``map``/``filter`` (its order is the Rust map's). Errors and their messages therefore always come
from the reference implementation. Where the Rust library departs from the CEL specification,
the closures follow the library (``size()`` of a string counts UTF-8 bytes; ``'a' == 1`` is
false). tests/checks/test_cel_fast.py checks this differentially against the Rust library.
Which patterns ``matches`` decides here: checks.cel.fastregex; which objects may take this path
at all (their values convert in the library): checks.cel.convertible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checks.cel.fastparse import INT64, Node, Unsupported, parse
from checks.cel.fastregex import python_pattern

Scope = dict[str, Any]
Fn = Callable[[Scope], Any]
_LOOP_MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})


class Defer(Exception):
    """The fast path cannot decide this object with certainty: ask the Rust evaluator."""


_DEFER = Defer()


def compile_fast(source: str, variables: frozenset[str] | set[str] | tuple[str, ...]) -> Fn | None:
    """A closure evaluating ``source`` on a scope (variable name -> JSON value), or None when the
    expression is outside the subset."""
    try:
        body = _Compiler(frozenset(variables)).compile(parse(source), frozenset())
    except (Unsupported, RecursionError):
        return None

    def run(scope: Scope) -> Any:
        try:
            value = body(scope)
            if _plain(value):
                return value
        except Defer:
            raise
        except Exception:  # data nested deeper than Python's stack, or anything unforeseen: the
            pass  # fast path is only a shortcut, the library's answer is the reference
        raise _DEFER

    return run


def _plain(value: Any) -> bool:
    """A value the Rust library hands back unchanged (its ints, strings, lists, maps)."""
    t = type(value)
    if t is bool or t is str or value is None:
        return True
    if t is int:
        return -INT64 <= value < INT64
    if t is list:
        return all(_plain(v) for v in value)
    if t is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _is_i64(v: Any) -> bool:
    return type(v) is int and -INT64 <= v < INT64


def _eq(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is tb and (ta is str or ta is bool):
        return a == b
    if ta is int and tb is int and -INT64 <= a < INT64 and -INT64 <= b < INT64:
        return a == b
    if a is None and b is None:
        return True
    if ta is tb is list:
        # Every pair is decided (or the whole defers) before the answer: no early exit can hide
        # a pair the library would treat differently.
        return len(a) == len(b) and all([_eq(x, y) for x, y in zip(a, b, strict=True)])
    if ta is tb is dict:
        if any(type(k) is not str for k in a) or any(type(k) is not str for k in b):
            raise _DEFER
        return a.keys() == b.keys() and all([_eq(a[k], b[k]) for k in a])
    # Heterogeneous equality with null is false in the library; anything else (int vs double,
    # lists and maps compared deeply, ints beyond int64) is left to it.
    if (a is None and tb in (str, bool, dict, list)) or (b is None and ta in (str, bool, dict, list)):
        return False
    raise _DEFER


def _less(a: Any, b: Any) -> bool:
    ta = type(a)
    if ta is type(b) and (ta is str or ta is bool or (ta is int and _is_i64(a) and _is_i64(b))):
        return a < b
    raise _DEFER


def _contains(container: Any, item: Any) -> bool:
    tc = type(container)
    if type(item) is str and (tc is dict or tc is list):
        # A str equals no other type in Python or in the library, so membership agrees.
        return item in container
    raise _DEFER


def _size(v: Any) -> int:
    t = type(v)
    if t is str:
        return len(v) if v.isascii() else len(v.encode("utf-8"))  # the library counts UTF-8 bytes
    if t is list or t is dict:
        return len(v)
    raise _DEFER


def _bool(v: Any) -> bool:
    if type(v) is bool:
        return v
    raise _DEFER


_INT_TEXT = re.compile(r"[+-]?[0-9]+\Z")


def _to_int(v: Any) -> int:
    if _is_i64(v):
        return v  # type: ignore[no-any-return]
    if type(v) is str and _INT_TEXT.match(v):
        n = int(v)
        if -INT64 <= n < INT64:
            return n
    raise _DEFER


def _to_string(v: Any) -> str:
    if type(v) is str:
        return v  # type: ignore[no-any-return]
    if _is_i64(v):
        return str(v)
    raise _DEFER


def _add(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is type(b):
        if ta is str or ta is list:
            return a + b
        if ta is int and _is_i64(a) and _is_i64(b) and _is_i64(a + b):
            return a + b
    raise _DEFER


def _sub(a: Any, b: Any) -> Any:
    if _is_i64(a) and _is_i64(b) and _is_i64(a - b):
        return a - b
    raise _DEFER


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "!=": lambda a, b: not _eq(a, b),
    "<": _less,
    ">": lambda a, b: _less(b, a),
    "<=": lambda a, b: not _less(b, a),
    ">=": lambda a, b: not _less(a, b),
    "in": lambda a, b: _contains(b, a),
    "+": _add,
    "-": _sub,
}
_STRING_METHODS = {
    "startsWith": str.startswith,
    "endsWith": str.endswith,
    "contains": str.__contains__,
}


class _Compiler:
    def __init__(self, variables: frozenset[str]) -> None:
        self.variables = variables

    def compile(self, node: Node, local: frozenset[str]) -> Fn:
        kind = node[0]
        if kind == "lit":
            value = node[1]
            return lambda s: value
        if kind == "id":
            name = node[1]
            if name in local:
                return lambda s: s[name]
            if name not in self.variables:
                raise Unsupported(f"identifier {name!r}")
            return lambda s: s.get(name)
        if kind == "list":
            items = [self.compile(n, local) for n in node[1]]
            return lambda s: [f(s) for f in items]
        if kind == "select":
            return _select(self.compile(node[1], local), node[2])
        if kind == "index":
            return _index(self.compile(node[1], local), self.compile(node[2], local))
        if kind == "unary":
            return self._unary(node[1], self.compile(node[2], local))
        if kind == "binary":
            return self._binary(node[1], self.compile(node[2], local), self.compile(node[3], local))
        if kind == "cond":
            c, t, e = (self.compile(n, local) for n in node[1:])
            return lambda s: t(s) if _bool(c(s)) else e(s)
        if kind == "call":
            return self._call(node[1], node[2], local)
        if kind == "method":
            return self._method(node[1], node[2], node[3], local)
        raise Unsupported(kind)

    def _unary(self, op: str, f: Fn) -> Fn:
        if op == "!":
            return lambda s: not _bool(f(s))
        return lambda s: _sub(0, f(s))

    def _binary(self, op: str, f: Fn, g: Fn) -> Fn:
        if op == "&&":
            # Only a bool first operand is decided here: an error or non-bool there may be absorbed
            # by the second operand's false, which is the library's call.
            return lambda s: _bool(g(s)) if _bool(f(s)) else False
        if op == "||":
            return lambda s: True if _bool(f(s)) else _bool(g(s))
        compare = _COMPARE.get(op)
        if compare is None:
            raise Unsupported(op)
        return lambda s: compare(f(s), g(s))

    def _call(self, name: str, args: list[Node], local: frozenset[str]) -> Fn:
        if name == "has":
            if len(args) != 1 or args[0][0] != "select":
                raise Unsupported("has() of a non-field")
            target, field = self.compile(args[0][1], local), args[0][2]

            def has(s: Scope) -> bool:
                m = target(s)
                if type(m) is dict:
                    return field in m
                raise _DEFER

            return has
        if len(args) != 1:
            raise Unsupported(f"{name}() with {len(args)} arguments")
        f = self.compile(args[0], local)
        if name == "size":
            return lambda s: _size(f(s))
        if name == "int":
            return lambda s: _to_int(f(s))
        if name == "string":
            return lambda s: _to_string(f(s))
        raise Unsupported(f"function {name!r}")

    def _method(self, target: Node, name: str, args: list[Node], local: frozenset[str]) -> Fn:
        t = self.compile(target, local)
        if name in _LOOP_MACROS:
            if len(args) != 2 or args[0][0] != "id" or args[0][1] in self.variables:
                raise Unsupported(f"{name}() form")
            var = args[0][1]
            return _macro(name, t, var, self.compile(args[1], local | {var}))
        if name == "size" and not args:
            return lambda s: _size(t(s))
        if len(args) != 1:
            raise Unsupported(f"{name}() with {len(args)} arguments")
        if name == "matches":
            if args[0][0] != "lit" or type(args[0][1]) is not str:
                raise Unsupported("matches() of a computed pattern")
            search = python_pattern(args[0][1]).search

            def matches(s: Scope) -> bool:
                text = t(s)
                if type(text) is str:
                    return search(text) is not None
                raise _DEFER

            return matches
        method = _STRING_METHODS.get(name)
        if method is None:
            raise Unsupported(f"method {name!r}")
        a = self.compile(args[0], local)

        def call(s: Scope) -> bool:
            text, arg = t(s), a(s)
            if type(text) is str and type(arg) is str:
                return method(text, arg)  # type: ignore[no-any-return]
            raise _DEFER

        return call


def _select(f: Fn, field: str) -> Fn:
    def select(s: Scope) -> Any:
        m = f(s)
        if type(m) is dict:
            try:
                return m[field]
            except KeyError:
                pass
        raise _DEFER

    return select


def _index(f: Fn, g: Fn) -> Fn:
    def index(s: Scope) -> Any:
        container, key = f(s), g(s)
        tc, tk = type(container), type(key)
        if tc is list and tk is int and 0 <= key < len(container):
            return container[key]
        if tc is dict and tk is str and key in container:
            return container[key]
        raise _DEFER

    return index


def _macro(name: str, target: Fn, var: str, body: Fn) -> Fn:
    def run(s: Scope) -> Any:
        items = target(s)
        t = type(items)
        if t is dict:
            if name in ("map", "filter"):
                raise _DEFER  # the result's order is the library's map order
        elif t is not list:
            raise _DEFER
        saved = s.get(var, _DEFER)
        try:
            return _loop(name, items, var, body, s, t is dict)
        finally:
            if saved is _DEFER:
                s.pop(var, None)
            else:
                s[var] = saved

    return run


def _loop(name: str, items: Any, var: str, body: Fn, s: Scope, unordered: bool) -> Any:
    if name == "map":
        out = []
        for item in items:
            s[var] = item
            out.append(body(s))
        return out
    verdicts = []
    for item in items:
        s[var] = item
        verdict = _bool(body(s))
        # The library stops at the first decisive element of a list; over a map (unordered)
        # every element is decided first, so no error can hide behind an earlier verdict.
        if not unordered and ((name == "all" and not verdict) or (name == "exists" and verdict)):
            return verdict
        verdicts.append(verdict)
    if name == "all":
        return all(verdicts)
    if name == "exists":
        return any(verdicts)
    if name == "exists_one":
        return verdicts.count(True) == 1
    return [item for item, keep in zip(items, verdicts, strict=True) if keep]
