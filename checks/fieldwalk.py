"""The slow path of the input boundary: one walk over an object that failed the fast check.

It runs only for objects ``jsonschema_rs`` did not accept as they are (a null where a field is
typed, a value only YAML produces, a wrong type), so it may be thorough: without recursion (the
depth is the document's), it normalises in place what Kubernetes would normalise and names every
field whose type is wrong - path, expected type, actual type; never a long value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from checks.schema import TypeSchema

MAX_PROBLEMS = 10  # field problems kept per object
MAX_TEXT = 80  # longest key or identity part shown in a message


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field whose value does not have the type Kubernetes gives it."""

    path: str  # spec.template.spec.containers[0].ports[0].containerPort
    expected: str  # "a mapping", "a string or an integer", "an int32 (-2147483648 to 2147483647)"
    got: str  # "a string", "null", "an integer of about 40 digits"

    def __str__(self) -> str:
        return f"{self.path or 'the object'} must be {self.expected}, got {self.got}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "expected": self.expected, "got": self.got}


# The JSON Schema type of a parsed value, and how a message names a type (checks.schema_full too).
JSON_TYPE = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
TYPE_NOUN = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}


# A path is built as a chain of (parent, key) pairs and turned into text only for a problem: most
# objects on the slow path have none, and formatting every path cost more than the rest of the walk.
Path_ = tuple[Any, Any] | None


def normalise(raw: dict[str, Any], schema: TypeSchema) -> tuple[list[FieldProblem], int]:
    """Walk ``raw`` against ``schema`` without recursion (depth is the document's, not ours).

    In place: null mapping values are removed where the schema types them (null = unset), YAML-only
    values become what the API server would receive. Returns the type problems (at most
    :data:`MAX_PROBLEMS`) and how many there were.
    """
    problems: list[FieldProblem] = []
    total = 0
    stack: list[tuple[Any, dict[str, Any] | None, Path_]] = [(raw, schema.root, None)]
    resolve = schema.resolve
    while stack:
        value, node, path = stack.pop()
        if node is not None:
            node = resolve(node)
            wrong = _wrong_type(value, node)
            if wrong is not None:
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(FieldProblem(path_text(path), *wrong))
                continue
        kind = type(value)
        if kind is dict:
            total += _mapping(schema, value, node, path, stack, problems)
        elif kind is list:
            items = node.get("items") if node is not None else None
            for i in range(len(value) - 1, -1, -1):
                item = value[i]
                if type(item) not in _PLAIN:
                    value[i] = item = _plain(item)
                stack.append((item, items, (path, i)))
    return problems, total


def _mapping(
    schema: TypeSchema,
    value: dict[str, Any],
    node: dict[str, Any] | None,
    path: Path_,
    stack: list[tuple[Any, dict[str, Any] | None, Path_]],
    problems: list[FieldProblem],
) -> int:
    """Normalise one mapping's keys and values; push its children (in reverse: popped in order)."""
    props = node.get("properties") if node is not None else None
    extra = node.get("additionalProperties") if node is not None else None
    bad = 0
    if not all(type(k) is str for k in value):
        for key in list(value):
            if type(key) is str:
                continue
            item = value.pop(key)
            text = _key_text(key)
            if text is None:
                bad += 1
                if len(problems) < MAX_PROBLEMS:
                    where = path_text((path, _key_label(key)))
                    problems.append(FieldProblem(where, "a string key", describe(key) + " as a key"))
                continue
            value.setdefault(text, item)
    children = []
    for key, item in list(value.items()):
        sub = props.get(key) if props else None
        if sub is None:
            sub = extra
        if item is None:
            # Null is unset: removed wherever the schema gives the field a type, except where the
            # type admits null (timestamps, which the API server writes as null when unset). An
            # untyped field keeps it, as the fast path does.
            types = _types_of(schema, sub) if sub is not None else ()
            if types and "null" not in types:
                del value[key]
            continue
        if type(item) not in _PLAIN:
            value[key] = item = _plain(item)
        children.append((item, sub, (path, key)))
    stack.extend(reversed(children))
    return bad


def path_text(path: Path_) -> str:
    """``spec.template.spec.containers[0].ports[0].containerPort`` from a (parent, key) chain."""
    parts: list[Any] = []
    while path is not None:
        path, key = path
        parts.append(key)
    out = ""
    for key in reversed(parts):
        if type(key) is int:
            out += f"[{key}]"
            continue
        shown = key if len(key) <= MAX_TEXT else key[: MAX_TEXT - 1] + "…"
        if shown and all(c.isalnum() or c in "_-" for c in shown):
            out += f".{shown}" if out else shown
        else:
            out += f'["{shown}"]'
    return out


_PLAIN = frozenset({dict, list, int, float, bool, type(None)})  # str is checked for surrogates


def _plain(value: Any) -> Any:
    """``value`` as the API server would receive it, when YAML gave it a type JSON lacks."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: Go writes U+FFFD
                return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, tuple):
        return list(value)
    return value  # anything else is reported by _wrong_type where typed, and is unusable anyway


def _key_label(key: Any) -> str:
    """A key that is not a string, shown in a path (a huge integer has no repr)."""
    try:
        text = repr(key)
    except ValueError:
        text = ""
    return text if text and len(text) <= MAX_TEXT else f"<{type(key).__name__}>"


def _key_text(key: Any) -> str | None:
    """A key as the API server's YAML-to-JSON conversion writes it, or None when it has no such form."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and -(10**300) < key < 10**300:
        return str(key)
    if isinstance(key, float) and math.isfinite(key):
        return repr(key)
    if isinstance(key, datetime | date):
        return key.isoformat()
    return None


def _wrong_type(value: Any, node: dict[str, Any]) -> tuple[str, str] | None:
    """``(expected, got)`` when ``value`` does not have the type ``node`` gives it, else None."""
    types = node.get("type")
    if types is None:  # typed by its fields only, or "anything"
        return None
    actual = JSON_TYPE.get(type(value))
    matches = actual is not None and (actual == types or (type(types) is list and actual in types))
    if matches and actual != "integer" and actual != "number":
        return None  # the common case, decided without building anything
    allowed = (types,) if isinstance(types, str) else tuple(types)
    if actual is None:
        actual = "null" if value is None else ""
    if actual == "integer" and "integer" not in allowed and "number" in allowed:
        actual = "number"
    elif actual == "number" and "integer" in allowed and math.isfinite(value) and value == int(value):
        actual = "integer"  # 2.0 is an integer in JSON Schema, so the fast path admits it too
    if type(value) is float and not math.isfinite(value):
        return _expected(allowed), describe(value)
    if actual not in allowed:
        return _expected(allowed), describe(value)
    if actual in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            if isinstance(high, int):
                span = "an int32" if high == 2**31 - 1 else "an int64" if high == 2**63 - 1 else "an integer"
                return f"{span} ({low} to {high})", describe(value)
            return "a number within the range of a double", describe(value)
    return None


def _types_of(schema: TypeSchema, node: dict[str, Any]) -> tuple[str, ...]:
    types = schema.resolve(node).get("type")
    if types is None:
        return ()
    return (types,) if isinstance(types, str) else tuple(types)


def _expected(types: tuple[str, ...]) -> str:
    nouns = [TYPE_NOUN.get(t, t) for t in types if t != "null"]
    return " or ".join(nouns) if nouns else "null"


def describe(value: Any) -> str:
    """What a value is, never the value itself when it could be long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        if -(10**20) < value < 10**20:
            return f"an integer ({value})"
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, float):
        return "a number" if math.isfinite(value) else f"a non-finite number ({value})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def shorten(message: str) -> str:
    return message if len(message) <= 120 else message[:119] + "…"
