"""Custom resources validated against the CustomResourceDefinition the snapshot holds (OPS-012).

A custom resource has no bundled schema, but when its CustomResourceDefinition is in the same
snapshot (a live cluster lists them; a chart often ships them), the CRD's
``spec.versions[].schema.openAPIV3Schema`` is the schema the API server applies. It is a
*structural* schema: JSON Schema plus Kubernetes extensions, translated here as the API server
reads them:

* null is admitted everywhere: ``nullable: true`` allows it, and elsewhere the API server prunes
  it rather than rejecting the object; ``x-kubernetes-int-or-string`` is an integer or a string;
* an object with ``properties`` is closed to other fields (the API server prunes them, and
  rejects them under strict field validation, kubectl's default), unless
  ``x-kubernetes-preserve-unknown-fields`` keeps them; ``x-kubernetes-embedded-resource`` adds
  ``apiVersion``, ``kind`` and ``metadata``;
* ``type``, ``properties``, ``items``, ``additionalProperties``, ``required``, ``enum``, numeric
  and length bounds and ``pattern`` are kept; formats and ``x-kubernetes-validations`` (CEL rules)
  are not checked, and the root's ``apiVersion``, ``kind``, ``metadata`` and ``status`` are left
  to the API server as for built-in types.

A CRD whose schema jsonschema-rs cannot compile (a pattern its regex engine refuses) leaves its
resources unvalidated, with the reason.
"""

from __future__ import annotations

from typing import Any

from checks.snapshot import Snapshot

_KEPT = (
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "pattern",
    "uniqueItems",
    "multipleOf",
)
_ROOT_OWN = ("apiVersion", "kind", "metadata", "status")
# (apiVersion, kind) -> (a compiled validator, what it is), or the reason there is none
CrdSchemas = dict[tuple[str, str], Any]


def crd_validators(snapshot: Snapshot) -> CrdSchemas:
    """A validator per (group/version, kind) that a CustomResourceDefinition of ``snapshot`` defines."""
    import jsonschema_rs  # here, not at the top: every kwa command imports the check modules

    out: CrdSchemas = {}
    for crd in snapshot.of_kind("CustomResourceDefinition"):
        spec = crd.spec
        group = spec.get("group")
        kind = (spec.get("names") or {}).get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        for version in spec.get("versions") or ():
            if not isinstance(version, dict) or not isinstance(version.get("name"), str):
                continue
            schema = (
                ((version.get("schema") or {}).get("openAPIV3Schema"))
                if isinstance(version.get("schema"), dict)
                else None
            )
            key = (f"{group}/{version['name']}", kind)
            if not isinstance(schema, dict):
                out[key] = f"CustomResourceDefinition {crd.name} gives no schema for {version['name']}"
                continue
            try:
                compiled = jsonschema_rs.Draft202012Validator(_root(schema), validate_formats=False)
                out[key] = (compiled, f"CustomResourceDefinition {crd.name}")
            except Exception as exc:  # a schema jsonschema-rs refuses: its resources go unvalidated
                out[key] = (
                    f"the schema of CustomResourceDefinition {crd.name} could not be compiled ({type(exc).__name__})"
                )
    return out


def _root(schema: dict[str, Any]) -> dict[str, Any]:
    node = _convert(schema)
    props = node.get("properties")
    if isinstance(props, dict):
        node["properties"] = {**props, **{key: {} for key in _ROOT_OWN}}
    return node


def _convert(node: Any) -> dict[str, Any]:
    """The JSON Schema of one structural-schema node (iteration depth is the CRD document's, which
    the input limits bound)."""
    if not isinstance(node, dict):
        return {}
    out: dict[str, Any] = {key: node[key] for key in _KEPT if key in node}
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    elif isinstance(node.get("type"), str):
        out["type"] = [node["type"]]
    if "type" in out:  # null: nullable, or pruned by the API server (either way not rejected)
        out["type"] = [*out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    props = node.get("properties")
    if isinstance(props, dict):
        out["properties"] = {str(key): _convert(value) for key, value in props.items()}
        if node.get("x-kubernetes-embedded-resource"):
            out["properties"].update({key: {} for key in ("apiVersion", "kind", "metadata")})
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out["additionalProperties"] = _convert(extra)
    elif isinstance(props, dict) and not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        out["items"] = _convert(node["items"])
    required = node.get("required")
    if isinstance(required, list) and all(isinstance(r, str) for r in required):
        out["required"] = required
    return out
