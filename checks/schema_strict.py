"""The strict Kubernetes OpenAPI schemas kwa bundles, reduced for full validation (OPS-012).

``kubernetes-validate`` ships, beside each version's schema, a *strict* variant
(``v1.NN.0-local-strict/_definitions.json``) in which every object type is closed to unknown
fields. This module finds those, reduces each definition to what validation needs - ``type``,
``properties``, ``items``, ``additionalProperties`` (closed or typed), ``required``, ``enum`` and
integer ranges; descriptions, list semantics and formats dropped - adds the closed value sets
Kubernetes enforces but its OpenAPI names only in prose (``checks/data/schema_enums.yaml``), caches
the result in the user's cache directory, and compiles one validator per (apiVersion, kind).

Which objects they are applied to, and how violations are worded, is :mod:`checks.schema_full`.
The type-only schemas of the input boundary are :mod:`checks.schema` and :mod:`checks.schema_bundles`.
"""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import yaml

from checks.schema_bundles import DOUBLE_MAX, INT_RANGES, REF_PREFIX, _write_cache, read_reduced, schema_dir
from checks.schema_bundles import _cache_file as bundle_cache_file

_DATA = Path(__file__).parent / "data" / "schema_enums.yaml"
_STRICT_DIR = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-local-strict$")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
_POD_SPEC = "io.k8s.api.core.v1.PodSpec"


@cache
def curated() -> tuple[dict[str, dict[str, list[str]]], dict[str, dict[str, str]]]:
    """``(type -> field -> values, type -> field -> hint)`` from checks/data/schema_enums.yaml."""
    data = yaml.safe_load(_DATA.read_text()) or {}
    enums: dict[str, dict[str, list[str]]] = {}
    for key, values in (data.get("enums") or {}).items():
        type_name, field = key.split(".", 1)
        enums.setdefault(type_name, {})[field] = [str(v) for v in values]
    moved: dict[str, dict[str, str]] = {}
    for key, hint in (data.get("moved") or {}).items():
        type_name, field = key.split(".", 1)
        moved.setdefault(type_name, {})[field] = str(hint)
    return enums, moved


def minor(version: Any) -> tuple[int, int] | None:
    """``v1.29.3-eks-1`` / ``1.31`` -> ``(1, 29)`` / ``(1, 31)``; None when unparsable."""
    match = _VERSION.match(str(version or "").strip())
    return (int(match[1]), int(match[2])) if match else None


class StrictBundle:
    """One bundled version's strict definitions, reduced for validation, and its compiled validators."""

    def __init__(self, path: Path, version: tuple[int, int]):
        self.path = path
        self.version = version
        self._defs: dict[str, dict[str, Any]] | None = None
        self._gvk: dict[tuple[str, str, str], str] = {}
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return f"Kubernetes {self.version[0]}.{self.version[1]}"

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._defs is not None:
            return self._defs
        cache = _cache_file(self.path)
        data = read_reduced(cache, self.path, _SOURCE_TAG)
        if data is not None:
            try:
                self._gvk = {(g, v, k): name for g, v, k, name in data["gvk"]}
                self._defs = data["defs"]
                return self._defs
            except (ValueError, KeyError, TypeError):
                self._gvk = {}  # unreadable: rebuild it
        raw = orjson.loads((self.path / "_definitions.json").read_bytes()).get("$defs") or {}
        enums, _ = curated()
        defs = {}
        for name, definition in raw.items():
            for gvk in definition.get("x-kubernetes-group-version-kind") or ():
                key = (gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", ""))
                self._gvk.setdefault(key, name)
            defs[name] = _reduce(definition, name, enums.get(name.rsplit(".", 1)[-1], {}))
        self._defs = defs
        if cache is not None:
            _write_cache(cache, orjson.dumps({"defs": defs, "gvk": [[*k, n] for k, n in self._gvk.items()]}))
        return defs

    def root_for(self, api_version: str, kind: str) -> str | None:
        self._load()
        group, _, version = api_version.rpartition("/")
        return self._gvk.get((group, version, kind))

    def validator(self, api_version: str, kind: str) -> Any:
        """The compiled validator of a type this version serves (None when it serves no such type)."""
        key = (api_version, kind)
        if key not in self._validators:
            self.prepare([key])
        return self._validators[key]

    def prepare(self, keys: Iterable[tuple[str, str]]) -> None:
        """Compile one validator for every (apiVersion, kind) of ``keys`` not compiled yet.

        One, not one per kind: every workload kind reaches the same ~200 pod-spec definitions, and
        jsonschema-rs compiles a definition once per validator (a Deployment alone ~25 ms; the
        seven pod-owning kinds in one validator about as much as one). Each kind's root sits
        behind an ``if`` on apiVersion and kind, so an object meets its own type's schema only.
        """
        with self._lock:
            wanted = [k for k in dict.fromkeys(keys) if k not in self._validators]
            roots = {k: self.root_for(*k) for k in wanted}
            for key, root in roots.items():
                if root is None:
                    self._validators[key] = None
            served = {k: r for k, r in roots.items() if r is not None}
            # Kinds that embed a pod spec share one validator; the others are small and compile
            # alone, so an object is matched against few ``if`` branches (each costs a little).
            shared = {k: r for k, r in served.items() if _POD_SPEC in self._closure([r])}
            groups = [shared] if shared else []
            groups += [{k: r} for k, r in served.items() if k not in shared]
            for group in groups:
                compiled = self._compile(group)
                for key in group:
                    self._validators[key] = compiled

    def _compile(self, roots: dict[tuple[str, str], str]) -> Any:
        import jsonschema_rs  # here, not at the top: every kwa command imports the check modules

        reached = self._closure(list(roots.values()))
        if len(roots) == 1:
            ((_, root),) = roots.items()
            return jsonschema_rs.Draft202012Validator(
                {**_authored(reached[root]), "$defs": reached}, validate_formats=False
            )
        branches = []
        for (api_version, kind), root in roots.items():
            top = _authored(reached[root])
            match = {"apiVersion": {"const": api_version}, "kind": {"const": kind}}
            branches.append({"if": {"properties": match, "required": ["apiVersion", "kind"]}, "then": top})
        schema = {"allOf": branches, "$defs": reached}
        return jsonschema_rs.Draft202012Validator(schema, validate_formats=False)

    def _closure(self, roots: list[str]) -> dict[str, dict[str, Any]]:
        """The definitions ``roots`` reach (themselves included)."""
        defs = self._load()
        reached: dict[str, dict[str, Any]] = {}
        stack = list(roots)
        while stack:
            name = stack.pop()
            if name not in reached:
                reached[name] = defs.get(name) or {}
                stack.extend(_refs(reached[name]))
        return reached


def _authored(root: dict[str, Any]) -> dict[str, Any]:
    """A root type's schema without its ``status``: written by controllers, ignored by the API
    server on create and update, so not the author's to get right."""
    if "status" not in root.get("properties", {}):
        return root
    return {**root, "properties": {**root["properties"], "status": {}}}


# The reduced strict definitions are cached beside checks.schema_bundles' (same directory, same
# stale-file rule), keyed by the bundle file and by this module's source and curated data:
# reading and reducing them costs ~55 ms a run, reading the cached form a few.
_SOURCE_TAG = f"{zlib.crc32(Path(__file__).read_bytes() + _DATA.read_bytes()):08x}"


def _cache_file(bundle: Path) -> Path | None:
    found = bundle_cache_file(bundle)
    return None if found is None else found.with_name(found.name.rsplit("-", 1)[0] + f"-{_SOURCE_TAG}.json")


def _reduce(node: Any, own: str, enums: dict[str, list[str]]) -> dict[str, Any]:
    """What validation needs of one schema node: types, properties, items, required, enums,
    closed objects and integer ranges. A reference of a definition to itself (a CRD's
    ``JSONSchemaProps``) is cut to "anything", so validation depth is bounded by the schema."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = ref.rsplit("/", 1)[-1]
        if target == own:
            return {}
        if target == _INT_OR_STRING:
            low, high = INT_RANGES["int32"]
            return {"type": ["string", "integer", "null"], "minimum": low, "maximum": high}
        if target == _QUANTITY:
            return {"type": ["string", "number", "null"], "minimum": -DOUBLE_MAX, "maximum": DOUBLE_MAX}
        return {"$ref": REF_PREFIX + target}
    out: dict[str, Any] = {}
    types = node.get("type")
    if isinstance(types, str):
        types = [types]
    if not types and node.get("oneOf"):
        types = [t for option in node["oneOf"] for t in (option.get("type") or []) if isinstance(option, dict)]
    if types:
        out["type"] = list(dict.fromkeys(types))
        if "integer" in types:
            out["minimum"], out["maximum"] = INT_RANGES.get(node.get("format"), INT_RANGES["int64"])
    if "enum" in node:
        out["enum"] = node["enum"]
    props = node.get("properties")
    if isinstance(props, dict):
        out["properties"] = {}
        for key, value in props.items():
            reduced = _reduce(value, own, {})
            values = enums.get(key)
            if values is not None:
                reduced = {**reduced, "enum": [*values, None]}  # null is unset: the boundary removes it
            items = enums.get(key + "[]")
            if items is not None and isinstance(reduced.get("items"), dict):
                reduced["items"] = {**reduced["items"], "enum": items}
            out["properties"][key] = reduced
    if isinstance(node.get("items"), dict):
        out["items"] = _reduce(node["items"], own, {})
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = _reduce(extra, own, {})
    elif extra is False:
        out["additionalProperties"] = False
    if node.get("required"):
        # A list is "required" in the OpenAPI when its Go field lacks omitempty, yet the API server
        # itself writes an empty one as null (``endpoints: null`` in an EndpointSlice) and the
        # boundary removes nulls: whether a list may be empty is the API server's validation code,
        # so only the lists it rejects empty (checks/data/schema_enums.yaml) stay required.
        lists = {key for key, value in (out.get("properties") or {}).items() if "array" in value.get("type", ())}
        keep = _nonempty_lists()
        short = own.rsplit(".", 1)[-1]
        out["required"] = [r for r in node["required"] if r not in lists or f"{short}.{r}" in keep]
        if not out["required"]:
            del out["required"]
    return out


@cache
def _nonempty_lists() -> frozenset[str]:
    data = yaml.safe_load(_DATA.read_text()) or {}
    return frozenset(str(x) for x in data.get("nonempty_lists") or ())


def _refs(node: dict[str, Any]) -> list[str]:
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        ref = current.get("$ref")
        if ref:
            out.append(ref[len(REF_PREFIX) :])
        stack.extend((current.get("properties") or {}).values())
        for key in ("items", "additionalProperties"):
            if isinstance(current.get(key), dict):
                stack.append(current[key])
    return out


class StrictLibrary:
    """The strict bundles kubernetes-validate ships, newest first."""

    def __init__(self, root: Path | None = None):
        base = root if root is not None else schema_dir()
        found = []
        if base is not None and base.is_dir():
            for entry in base.iterdir():
                m = _STRICT_DIR.match(entry.name)
                if m and entry.is_dir():
                    found.append(StrictBundle(entry, (int(m[1]), int(m[2]))))
        self.bundles = sorted(found, key=lambda b: b.version, reverse=True)

    def choose(self, wanted: Any) -> tuple[StrictBundle | None, str]:
        """The bundle for a target version (the nearest bundled one), and a note when it is not exact."""
        if not self.bundles:
            return None, "no bundled Kubernetes schema (kubernetes-validate is missing)"
        target = minor(wanted)
        if target is None:
            return self.bundles[0], ""
        for bundle in self.bundles:
            if bundle.version == target:
                return bundle, ""
        nearest = self.bundles[-1] if target < self.bundles[-1].version else self.bundles[0]
        return nearest, f"Kubernetes {target[0]}.{target[1]} is not bundled; the nearest bundled version is used"


_LIBRARY: StrictLibrary | None = None


def library() -> StrictLibrary:
    global _LIBRARY
    if _LIBRARY is None:
        _LIBRARY = StrictLibrary()
    return _LIBRARY
