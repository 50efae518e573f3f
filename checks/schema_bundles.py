"""The Kubernetes OpenAPI schemas kwa bundles, read and reduced to what decides a value's type.

:mod:`checks.schema` says what is kept of a definition and why; this module does the reading: it
finds the ``kubernetes-validate`` package's schema directories, reduces each version's
``_definitions.json`` once (``$ref``, ``type``, ``properties``, ``items``, ``additionalProperties``,
numeric ranges), keeps the result in the user's cache directory, and hands out the definitions a
type reaches. Kept apart from the validators and the per-kind choice of schema in
:mod:`checks.schema`, because the cache is keyed by this module's source: only a change to the
reduction should invalidate it.
"""

from __future__ import annotations

import importlib.util
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
DOUBLE_MAX = 1.7976931348623157e308
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# Timestamps admit null: the API server writes ``creationTimestamp: null`` into every pod template
# and ``lastProbeTime: null`` into pod conditions, and every reader of a timestamp treats null as
# unset. Admitting it keeps such objects on the fast path (10k-object dumps: every Pod).
_TIMES = frozenset({"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"})
REF_PREFIX = "#/$defs/"
DIR_NAME = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local$")


def schema_dir() -> Path | None:
    """Where kubernetes-validate keeps its schemas (None when the package is missing)."""
    # Located, not imported: importing kubernetes_validate loads jsonschema and costs ~170 ms.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a declared dependency
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    return path if path.is_dir() else None


class Bundle:
    """One bundled Kubernetes version: its definitions, read and reduced on demand."""

    def __init__(self, path: Path, version: tuple[int, int, int]):
        self.path = path
        self.version = version
        self._files: frozenset[str] | None = None
        self._loaded = False
        self._gvk: dict[tuple[str, str, str], str] = {}
        self._reduced: dict[str, dict[str, Any]] = {}
        self._deps: dict[str, list[str]] = {}

    @property
    def label(self) -> str:
        return f"Kubernetes {self.version[0]}.{self.version[1]}"

    def may_have(self, group: str, version: str, kind: str) -> bool:
        """Cheap pre-test from the per-type file names (``deployment-apps-v1.json``), no parsing."""
        if self._files is None:
            try:
                self._files = frozenset(os.listdir(self.path))
            except OSError:
                self._files = frozenset()
        stem = kind.lower() + (f"-{group.split('.')[0]}" if group else "") + f"-{version}.json"
        return stem in self._files

    def _load(self) -> None:
        """Reduce every definition once (or read that from the cache) and index the root types."""
        if self._loaded:
            return
        self._loaded = True
        cache = _cache_file(self.path)
        data = read_reduced(cache, self.path, _SOURCE_TAG)
        if data is not None:
            try:
                gvk = {(g, v, k): name for g, v, k, name in data["gvk"]}
                self._reduced, self._deps, self._gvk = data["defs"], data["deps"], gvk
                return
            except (ValueError, KeyError, TypeError):
                pass  # unreadable: rebuild it
        defs = orjson.loads((self.path / "_definitions.json").read_bytes()).get("$defs") or {}
        for name, definition in defs.items():
            for gvk in definition.get("x-kubernetes-group-version-kind") or ():
                self._gvk.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")), name)
            self._reduced[name] = reduced = _reduce(definition, name)
            self._deps[name] = list(dict.fromkeys(_refs(reduced)))
        if cache is not None:
            gvk = [[*key, name] for key, name in self._gvk.items()]
            _write_cache(cache, orjson.dumps({"defs": self._reduced, "deps": self._deps, "gvk": gvk}))

    def root_for(self, group: str, version: str, kind: str) -> str | None:
        self._load()
        return self._gvk.get((group, version, kind))

    def closure(self, roots: list[str]) -> dict[str, dict[str, Any]]:
        """Every reduced definition reachable from ``roots``."""
        self._load()
        out: dict[str, dict[str, Any]] = {}
        stack = list(roots)
        while stack:
            name = stack.pop()
            if name in out:
                continue
            out[name] = self._reduced.get(name) or {}
            stack.extend(ref for ref in self._deps.get(name, ()) if ref not in out)
        return out


# The reduced definitions of a bundle are kept in the user's cache directory, keyed by the bundle's
# file (size, mtime) and by this module's source: reading 1.8 MB of definitions and reducing them
# costs ~25 ms per run, reading the reduced form ~3 ms. Any failure just means no cache.
_SOURCE_TAG = f"{zlib.crc32(Path(__file__).read_bytes()):08x}"


def _cache_file(bundle: Path) -> Path | None:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    try:
        stat = (bundle / "_definitions.json").stat()
    except OSError:
        return None
    return Path(base) / "kwa" / "schema" / f"{bundle.name}-{stat.st_size}-{stat.st_mtime_ns}-{_SOURCE_TAG}.json"


# Reductions of the newest bundled version, shipped with kwa (tools/gen_schema_cache.py writes them,
# a test keeps them current): a new home — every CI job — would otherwise reduce both the typed
# boundary's and OPS-012's definitions before its first object (~0.15 s). Named by the bundle,
# a checksum of its definitions and the reducing module's tag, so only an exact match is used.
SHIPPED_DIR = Path(__file__).parent / "data" / "schema-reduced"


def shipped_name(bundle: Path, tag: str) -> str | None:
    try:
        content = zlib.crc32((bundle / "_definitions.json").read_bytes())
    except OSError:
        return None
    return f"{bundle.name}-{content:08x}-{tag}.json.z"


def read_reduced(cache: Path | None, bundle: Path, tag: str) -> Any:
    """A bundle's reduced form from the user's cache, else from the copy shipped with kwa, else None."""
    if cache is not None:
        try:
            return orjson.loads(cache.read_bytes())
        except (OSError, ValueError):
            pass
    name = shipped_name(bundle, tag) if SHIPPED_DIR.is_dir() else None
    if name is None or not (SHIPPED_DIR / name).is_file():
        return None
    try:
        return orjson.loads(zlib.decompress((SHIPPED_DIR / name).read_bytes()))
    except (OSError, ValueError, zlib.error):
        return None


def _write_cache(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        bundle = path.name.rsplit("-", 3)[0]
        for stale in path.parent.glob(f"{bundle}-*.json"):
            if stale.name.rsplit("-", 3)[0] == bundle and stale != path:
                stale.unlink(missing_ok=True)  # the same bundle from an older package or kwa
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError:
        pass


def _reduce(node: Any, own: str) -> dict[str, Any]:
    """The type-only form of one schema node (see the module docstring). ``own`` is the name of the
    definition being reduced: a reference back to it is cut to "anything"."""
    if not isinstance(node, dict) or node.get("x-kubernetes-preserve-unknown-fields"):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = ref.rsplit("/", 1)[-1]
        if target == own:
            return {}
        if target == _INT_OR_STRING:
            return _int_or_string()
        if target == _QUANTITY:
            return {"type": ["string", "number"], "minimum": -DOUBLE_MAX, "maximum": DOUBLE_MAX}
        if target in _TIMES:
            return {"type": ["string", "null"]}
        return {"$ref": REF_PREFIX + target}
    if node.get("x-kubernetes-int-or-string"):
        return _int_or_string()
    types = _types(node.get("type"))
    for option in node.get("oneOf") or ():
        types.extend(t for t in _types(option.get("type") if isinstance(option, dict) else None) if t not in types)
    out: dict[str, Any] = {}
    if types:
        out["type"] = types[0] if len(types) == 1 else types
    if "integer" in types:
        low, high = INT_RANGES.get(node.get("format"), INT_RANGES["int64"])
        out["minimum"], out["maximum"] = low, high
    elif "number" in types:
        out["minimum"], out["maximum"] = -DOUBLE_MAX, DOUBLE_MAX
    props = node.get("properties")
    if isinstance(props, dict) and props:
        out["properties"] = {key: _reduce(value, own) for key, value in props.items()}
    items = node.get("items")
    if isinstance(items, dict):
        out["items"] = _reduce(items, own)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = _reduce(extra, own)
    return out


def _int_or_string() -> dict[str, Any]:
    low, high = INT_RANGES["int32"]
    return {"type": ["string", "integer"], "minimum": low, "maximum": high}


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return [t for t in value if isinstance(t, str) and t != "null"]


def _refs(node: dict[str, Any]) -> Iterator[str]:
    """Names of the definitions a reduced node refers to."""
    stack = [node]
    while stack:
        current = stack.pop()
        ref = current.get("$ref")
        if ref:
            yield ref[len(REF_PREFIX) :]
        stack.extend((current.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(current.get(key), dict):
                stack.append(current[key])
