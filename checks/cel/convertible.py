"""Whether the library would convert an object's values: the precondition of the fast path.

The Rust binding converts every value a program can read (the projection of checks.cel.paths)
before evaluating; a value it cannot convert (a date from an unquoted YAML timestamp, a string
with a lone surrogate, an odd map key) fails the whole evaluation, whether or not the expression
then reads it. The fast path reads only what it needs, so it checks first that the projection
converts; when it does not, the object goes to the library, whose error it gets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checks.cel.fastparse import INT64
from checks.cel.paths import EACH, WHOLE, PathTree


def convertible(value: Any, tree: PathTree) -> bool:
    """Whether the library converts the projection of ``value`` onto ``tree`` without an error
    (a date from YAML, a string with a lone surrogate, an odd key fail the Rust path at once:
    such an object goes there whole, so its error is the library's). The plain statement of the
    rule, which the tests hold :func:`converter_check` to; evaluation uses the compiled form."""
    t = type(value)
    if t is dict:
        if tree is WHOLE or EACH in tree:  # type: ignore[operator]
            return _whole(value)
        for k, sub in tree.items():  # noqa: SIM110  # type: ignore[union-attr]  # a loop: no generator per call
            if k in value and not convertible(value[k], sub):
                return False
        return True
    if t is list:
        if tree is WHOLE or len(tree) != 1 or EACH not in tree:  # type: ignore[arg-type,operator]
            return _whole(value)
        sub = tree[EACH]  # type: ignore[index]
        for v in value:  # noqa: SIM110
            if not convertible(v, sub):
                return False
        return True
    return _whole(value)


def converter_check(tree: PathTree) -> Callable[[Any], bool]:
    """:func:`convertible` for one tree, compiled into closures (it runs for every object)."""
    if tree is WHOLE:
        return _whole
    if EACH in tree:  # type: ignore[operator]
        if len(tree) != 1:  # type: ignore[arg-type]
            return _whole
        each = converter_check(tree[EACH])  # type: ignore[index]

        def elements(value: Any) -> bool:
            if type(value) is list:
                for v in value:  # noqa: SIM110  # a loop: no generator per call
                    if not each(v):
                        return False
                return True
            return _whole(value)  # a map iterated, or a scalar: projected whole

        return elements
    keys: list[str] = []
    while type(tree) is dict and len(tree) == 1 and EACH not in tree:
        ((key, tree),) = tree.items()  # a chain of single fields (spec.template.spec) walked in one loop
        keys.append(key)
    if keys:
        rest = converter_check(tree)

        def chain(value: Any) -> bool:
            for key in keys:
                if type(value) is not dict:
                    return _whole(value)
                if key not in value:
                    return True
                value = value[key]
            return rest(value)

        return chain
    fields = [(k, converter_check(sub)) for k, sub in tree.items()]  # type: ignore[union-attr]

    def select(value: Any) -> bool:
        if type(value) is dict:
            for k, check in fields:  # noqa: SIM110  # a loop: no generator per call
                if k in value and not check(value[k]):
                    return False
            return True
        return _whole(value)

    return select


def _whole(value: Any) -> bool:
    # Loops rather than all(generator): this runs for every object of a check.
    t = type(value)
    if t is str:
        return value.isascii() or _utf8(value)
    if t is dict:
        for k, v in value.items():
            tk = type(k)
            if not ((tk is str and (k.isascii() or _utf8(k))) or tk is bool or (tk is int and -INT64 <= k < INT64)):
                return False
            tv = type(v)
            if tv is str:
                if not (v.isascii() or _utf8(v)):
                    return False
            elif not (tv is int or tv is bool or v is None or tv is float or _whole(v)):
                return False
        return True
    if t is list:
        for v in value:
            tv = type(v)
            if tv is str:
                if not (v.isascii() or _utf8(v)):
                    return False
            elif not (tv is int or tv is bool or v is None or tv is float or _whole(v)):
                return False
        return True
    return t is int or t is float or t is bool or value is None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
