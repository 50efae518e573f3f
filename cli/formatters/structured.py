"""JSON and YAML: one envelope per document, versioned.

Every document is ``{"apiVersion": "kwa/v1", "kind": <Kind>, …}``; the kinds and their fields
are listed in docs/query.md. Fields are only ever added within ``kwa/v1``: a field removed or
changed in meaning gets ``kwa/v2``.
"""

from __future__ import annotations

import json
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
            out.write(f"  {_compact(key)}: [\n")
            n = len(value) - 1
            for j, item in enumerate(value):
                out.write(f"    {_compact(item)}{',' if j < n else ''}\n")
            out.write(f"  ]{comma}\n")
        else:
            text = json.dumps(value, indent=2, ensure_ascii=False, default=_default, allow_nan=False)
            out.write(f"  {_compact(key)}: {text.replace(chr(10), chr(10) + '  ')}{comma}\n")
    out.write("}\n")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line messages as literal blocks: readable, and no escaped "\n" soup.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def write_yaml(kind: str, payload: dict[str, Any], out: TextIO) -> None:
    yaml.dump(envelope(kind, payload), out, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
