"""Field types of Kubernetes objects, for the input boundary (checks/objects.py).

The types come from the Kubernetes OpenAPI schema that the ``kubernetes-validate`` package ships
(``kubernetes-json-schema/v1.NN.0-local/_definitions.json``: JSON Schema, one ``$defs`` entry per
API type, root types tagged with ``x-kubernetes-group-version-kind``). kwa keeps only what decides
the *type* of a value, because that is what a check can trip over:

* ``type`` (with ``null`` removed: null means unset, which the boundary strips; timestamps alone
  keep it, see ``_TIMES``),
  ``properties``, ``items``, ``additionalProperties`` and ``$ref``;
* ``IntOrString`` is a string or an int32, ``Quantity`` a string or a number;
  ``x-kubernetes-preserve-unknown-fields`` (and an empty schema) accept anything;
* integers with ``format: int32`` / ``int64`` get that range, and numbers the range of a double:
  the API server rejects anything outside, and a 400-digit integer must not reach arithmetic;
* everything else (``required``, ``enum``, formats, descriptions, list semantics) is dropped: a
  missing or unexpected *value* is for the checks to judge, not a reason to refuse the object.

A reference from a type to itself (``JSONSchemaProps`` inside a CRD) is cut to "anything": the
reduced schema is then a finite tree, so validation depth is bounded by the schema, never by how
deep a hostile document nests (jsonschema-rs recurses natively and would overflow the C stack).

Which schema: the newest bundled Kubernetes version that has the object's exact group/version/kind.
A GVK no bundled version knows (a CRD, or an API version removed before the oldest bundled one) is
checked against a metadata-only schema, except the custom resources checks read
(:data:`CRD_SHAPES`), which get a small hand-written shape of the fields those checks use.

Cost: nothing is read until the first object arrives; then, per bundled version actually needed,
its reduced definitions (from the user's cache directory, ~3 ms; the first time from the 1.8 MB
``_definitions.json``, ~40 ms), and one compiled validator per (apiVersion, kind) present, built
from the definitions it reaches only.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
DOUBLE_MAX = 1.7976931348623157e308
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Timestamps admit null: the API server writes ``creationTimestamp: null`` into every pod template
# and ``lastProbeTime: null`` into pod conditions, and every reader of a timestamp treats null as
# unset. Admitting it keeps such objects on the fast path (10k-object dumps: every Pod).
_TIMES = frozenset({"io.k8s.apimachinery.pkg.apis.meta.v1.Time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"})
_REF_PREFIX = "#/$defs/"
_DIR_NAME = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local$")

_STRING = {"type": "string"}
_OBJECT = {"type": "object"}
_BARE = {"apiVersion": _STRING, "kind": _STRING, "metadata": _OBJECT}
_TARGET_REF = {"type": "object", "properties": {"apiVersion": _STRING, "kind": _STRING, "name": _STRING}}
# Custom resources that checks read, and the fields they read (see checks/performance/autoscaling.py,
# checks/cost/idle.py and checks/sustainability/). Matched by kind, whatever the group, as the checks do.
CRD_SHAPES: dict[str, dict[str, Any]] = {
    "VerticalPodAutoscaler": {
        "type": "object",
        "properties": {
            "targetRef": _TARGET_REF,
            "updatePolicy": {"type": "object", "properties": {"updateMode": _STRING}},
        },
    },
    "ScaledObject": {"type": "object", "properties": {"scaleTargetRef": _TARGET_REF}},
    "NodePool": _OBJECT,
    "Provisioner": _OBJECT,
    "SleepInfo": _OBJECT,
}


def schema_dir() -> Path | None:
    """Where kubernetes-validate keeps its schemas (None when the package is missing)."""
    # Located, not imported: importing kubernetes_validate loads jsonschema and costs ~170 ms.
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a declared dependency
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    return path if path.is_dir() else None


class _Bundle:
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
        if cache is not None:
            try:
                data = orjson.loads(cache.read_bytes())
                gvk = {(g, v, k): name for g, v, k, name in data["gvk"]}
                self._reduced, self._deps, self._gvk = data["defs"], data["deps"], gvk
                return
            except (OSError, ValueError, KeyError, TypeError):
                pass  # absent or unreadable: rebuild it
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
        return {"$ref": _REF_PREFIX + target}
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
            yield ref[len(_REF_PREFIX) :]
        stack.extend((current.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(current.get(key), dict):
                stack.append(current[key])


class TypeSchema:
    """The reduced schema of one (apiVersion, kind): a root node and the definitions it reaches.

    Two validators, each compiled on first use: the strict one (null only in timestamps) that
    every object meets, and a variant that also admits null as the value of any field, which only
    objects failing the strict one meet: passing it proves that nulls were all that was wrong.
    """

    __slots__ = ("_lock", "_nullable", "_validator", "defs", "name", "root")

    def __init__(self, name: str, root: dict[str, Any], defs: dict[str, dict[str, Any]]):
        self.name = name
        self.root = root
        self.defs = defs
        self._validator: Any = None
        self._nullable: Any = None
        self._lock = threading.Lock()

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """``node`` with a ``$ref`` followed (one level: definitions never start with a ``$ref``)."""
        ref = node.get("$ref")
        return self.defs.get(ref[len(_REF_PREFIX) :], {}) if ref else node

    def validator(self) -> Any:
        if self._validator is None:
            with self._lock:
                if self._validator is None:
                    self._validator = _compile(self.root, self.defs)
        return self._validator

    def nullable_validator(self) -> Any:
        if self._nullable is None:
            with self._lock:
                if self._nullable is None:
                    defs = {name: _nullable(node) for name, node in self.defs.items()}
                    self._nullable = _compile(_nullable(self.root), defs)
        return self._nullable

    def is_valid(self, raw: Any) -> bool:
        """True when every typed field has its type. Raises ValueError for values JSON cannot hold
        (a YAML date, a non-string key, bytes): the caller normalises those first."""
        return bool(self.validator().is_valid(raw))

    def null_paths(self, raw: Any) -> list[list[str | int]] | None:
        """Where ``raw`` has a null in a typed field, when that is all that is wrong with it (None
        otherwise). A non-finite number is reported too: jsonschema-rs reads it as null."""
        if not self.nullable_validator().is_valid(raw):
            return None
        return [list(error.instance_path) for error in self.validator().iter_errors(raw)]

    def first_error(self, raw: Any) -> tuple[str, str] | None:
        """``(instance path, message)`` of the first error, for the rare case that needs it."""
        for error in self.validator().iter_errors(raw):
            return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path), error.message
        return None


def _compile(root: dict[str, Any], defs: dict[str, dict[str, Any]]) -> Any:
    import jsonschema_rs  # here, not at the top: every kwa command imports this module

    return jsonschema_rs.Draft202012Validator({**root, "$defs": defs}, validate_formats=False)


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with null admitted as the value of every field (not as a list item: that is a
    wrong type, as ``containers: [null]`` is to the API server)."""
    out = dict(node)
    props = node.get("properties")
    if props:
        out["properties"] = {key: _or_null(value) for key, value in props.items()}
    if isinstance(node.get("additionalProperties"), dict):
        out["additionalProperties"] = _or_null(node["additionalProperties"])
    if isinstance(node.get("items"), dict):
        out["items"] = _nullable(node["items"])
    return out


def _or_null(node: dict[str, Any]) -> dict[str, Any]:
    node = _nullable(node)
    if "$ref" in node:
        return {"anyOf": [{"type": "null"}, node]}
    types = node.get("type")
    if types is None:
        return node
    listed = [types] if isinstance(types, str) else list(types)
    return {**node, "type": listed if "null" in listed else [*listed, "null"]}


class SchemaLibrary:
    """Type schemas per (apiVersion, kind), built on first use and kept for the process."""

    def __init__(self, root: Path | None = None):
        base = root if root is not None else schema_dir()
        bundles = []
        if base is not None and base.is_dir():
            for entry in base.iterdir():
                m = _DIR_NAME.match(entry.name)
                if m and entry.is_dir():
                    bundles.append(_Bundle(entry, (int(m[1]), int(m[2]), int(m[3]))))
        self.bundles = sorted(bundles, key=lambda b: b.version, reverse=True)
        self._cache: dict[tuple[str, str], TypeSchema] = {}
        self._lock = threading.Lock()

    @property
    def newest(self) -> str:
        return self.bundles[0].label if self.bundles else "no bundled schema"

    def for_object(self, api_version: Any, kind: Any) -> TypeSchema:
        key = (api_version, kind) if isinstance(api_version, str) and isinstance(kind, str) else ("", "")
        found = self._cache.get(key)
        if found is None:
            with self._lock:
                found = self._cache.get(key)
                if found is None:
                    try:
                        found = self._build(*key)
                    except Exception as exc:  # a damaged schema package must not fail the run
                        name = f"object and metadata shapes only (the bundled schema is unreadable: {exc})"
                        found = TypeSchema(name, {"type": "object", "properties": _BARE}, {})
                    self._cache[key] = found
        return found

    def _build(self, api_version: str, kind: str) -> TypeSchema:
        group, _, version = api_version.rpartition("/")
        for n, bundle in enumerate(self.bundles):
            # The newest bundle is always consulted; older ones only when a file name says they may
            # know the type, so a CRD costs one definitions file, not one per bundled version.
            if n and not bundle.may_have(group, version, kind):
                continue
            name = bundle.root_for(group, version, kind)
            if name is not None:
                defs = bundle.closure([name])
                return TypeSchema(f"{bundle.label} {api_version} {kind}", {"$ref": _REF_PREFIX + name}, defs)
        return self._metadata_only(api_version, kind)

    def _metadata_only(self, api_version: str, kind: str) -> TypeSchema:
        props: dict[str, Any] = {"apiVersion": _STRING, "kind": _STRING}
        defs: dict[str, dict[str, Any]] = {}
        if self.bundles:
            defs = self.bundles[0].closure([_OBJECT_META])
            props["metadata"] = {"$ref": _REF_PREFIX + _OBJECT_META}
        else:
            props["metadata"] = _OBJECT
        shape = CRD_SHAPES.get(kind)
        if shape is not None:
            props["spec"] = shape
            name = f"kwa's shape of {kind} (the fields checks read)"
        else:
            name = f"metadata only ({api_version or '?'} {kind or '?'} is not a bundled Kubernetes type)"
        return TypeSchema(name, {"type": "object", "properties": props}, defs)


_LIBRARY: SchemaLibrary | None = None


def library() -> SchemaLibrary:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = SchemaLibrary()
    return _LIBRARY
