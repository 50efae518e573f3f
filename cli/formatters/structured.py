"""JSON and YAML: one envelope per document, versioned.

Every document is ``{"apiVersion": "kwa/v1", "kind": <Kind>, …}``; the kinds and their fields
are listed in docs/query.md. Fields are only ever added within ``kwa/v1``: a field removed or
changed in meaning gets ``kwa/v2``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TextIO

import yaml

from cli.formatters.common import jsonable

API_VERSION = "kwa/v1"


def envelope(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": kind, **jsonable(payload)}


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars from pandas
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_compact = json.JSONEncoder(ensure_ascii=False, default=_default, allow_nan=False).encode


def write_json(kind: str, payload: dict[str, Any], out: TextIO) -> None:
    """Indented JSON, except that each element of a list of objects takes one line.

    One result per line reads well, greps well, and lets the C encoder do the bulk of the work:
    Python's indenting encoder is pure Python and took seconds for a 20,000-item diff.
    """
    doc = {"apiVersion": API_VERSION, "kind": kind, **payload}
    out.write("{\n")
    last = len(doc) - 1
    for i, (key, value) in enumerate(doc.items()):
        comma = "," if i < last else ""
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            _json_items(key, value, comma, out)
        else:
            _json_field(key, value, comma, out)
    out.write("}\n")


def _json_field(key: str, value: Any, comma: str, out: TextIO) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=_default, allow_nan=False)
    out.write(f"  {_compact(key)}: {text.replace(chr(10), chr(10) + '  ')}{comma}\n")


def _json_items(key: str, items: Iterable[dict[str, Any]], comma: str, out: TextIO) -> int:
    """``key: [`` one item per line ``]``, written as the items come (one item held back for its
    comma); ``key: []`` when there are none. Returns how many were written."""
    n, pending = 0, None
    for item in items:
        if pending is None:
            out.write(f"  {_compact(key)}: [\n")
        else:
            out.write(f"    {pending},\n")
        pending = _compact(item)
        n += 1
    if pending is None:
        out.write(f"  {_compact(key)}: []{comma}\n")
    else:
        out.write(f"    {pending}\n  ]{comma}\n")
    return n


def stream_json(
    kind: str,
    head: dict[str, Any],
    key: str,
    items: Iterable[dict[str, Any]],
    tail: Callable[[int], dict[str, Any]],
    out: TextIO,
) -> int:
    """The document :func:`write_json` writes for ``{**head, key: [...items], **tail(n)}``, byte for
    byte, with ``items`` consumed as they come: memory stays flat however many there are.

    ``tail`` gets the number of items written (for a ``pagination.returned``) and must give at
    least one field (the list is never the document's last). Returns that number.
    """
    out.write("{\n")
    for k, v in {"apiVersion": API_VERSION, "kind": kind, **head}.items():
        _json_field(k, v, ",", out)
    n = _json_items(key, items, ",", out)
    end = tail(n)
    if not end:
        raise ValueError("stream_json: the tail must have at least one field")
    last = len(end) - 1
    for i, (k, v) in enumerate(end.items()):
        _json_field(k, v, "," if i < last else "", out)
    out.write("}\n")
    return n


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line messages as literal blocks: readable, and no escaped "\n" soup.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)
_YAML = {"Dumper": _Dumper, "sort_keys": False, "allow_unicode": True, "width": 120}


def write_yaml(kind: str, payload: dict[str, Any], out: TextIO) -> None:
    yaml.dump(envelope(kind, payload), out, **_YAML)


def stream_yaml(
    kind: str,
    head: dict[str, Any],
    key: str,
    chunks: Iterable[list[dict[str, Any]]],
    tail: Callable[[int], dict[str, Any]],
    out: TextIO,
) -> int:
    """The document :func:`write_yaml` writes for ``{**head, key: [...], **tail(n)}``, byte for byte,
    a chunk of items at a time. PyYAML writes a list under a key without indenting it (``key:`` then
    ``- …`` lines at the key's column), exactly as it writes a list on its own, so each chunk is
    dumped as a list and the pieces join into the one document."""
    yaml.dump(envelope(kind, head), out, **_YAML)
    n = 0
    for chunk in chunks:
        if not chunk:
            continue
        if n == 0:
            out.write(f"{key}:\n")
        yaml.dump(jsonable(chunk), out, **_YAML)
        n += len(chunk)
    if n == 0:
        yaml.dump({key: []}, out, **_YAML)
    yaml.dump(jsonable(tail(n)), out, **_YAML)
    return n
