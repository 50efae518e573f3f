"""Field types of Kubernetes objects, for the input boundary (checks/objects.py).

The types come from the Kubernetes OpenAPI schema that the ``kubernetes-validate`` package ships
(``kubernetes-json-schema/v1.NN.0-local/_definitions.json``: JSON Schema, one ``$defs`` entry per
API type, root types tagged with ``x-kubernetes-group-version-kind``). kwa keeps only what decides
the *type* of a value, because that is what a check can trip over:

* ``type`` (with ``null`` removed: null means unset, which the boundary strips; timestamps alone
  keep it, see ``_TIMES`` in :mod:`checks.schema_bundles`),
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

Reading and reducing the bundled definitions, and their cache, are in :mod:`checks.schema_bundles`;
this module chooses the schema for an object and validates against it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from checks.schema_bundles import DIR_NAME, DOUBLE_MAX, INT_RANGES, REF_PREFIX, Bundle, schema_dir  # noqa: F401  (limits re-exported)

_OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

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
        return self.defs.get(ref[len(REF_PREFIX) :], {}) if ref else node

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
                m = DIR_NAME.match(entry.name)
                if m and entry.is_dir():
                    bundles.append(Bundle(entry, (int(m[1]), int(m[2]), int(m[3]))))
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
                return TypeSchema(f"{bundle.label} {api_version} {kind}", {"$ref": REF_PREFIX + name}, defs)
        return self._metadata_only(api_version, kind)

    def _metadata_only(self, api_version: str, kind: str) -> TypeSchema:
        props: dict[str, Any] = {"apiVersion": _STRING, "kind": _STRING}
        defs: dict[str, dict[str, Any]] = {}
        if self.bundles:
            defs = self.bundles[0].closure([_OBJECT_META])
            props["metadata"] = {"$ref": REF_PREFIX + _OBJECT_META}
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
