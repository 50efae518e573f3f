"""Validate policy reports against the vendored CRDs (tests/data/policyreport/) as kube-apiserver would.

The CRD's ``openAPIV3Schema`` becomes a JSON Schema: ``x-kubernetes-*`` extensions are dropped
(they steer merging and listing, not validity), and every object schema that lists its properties
without ``additionalProperties`` gets ``additionalProperties: false``. The API server would not
reject an unknown field there, it would prune it silently (or warn): a field kwa writes that the CRD
does not know is lost, so the test treats it as an error. ``metadata`` (``type: object`` only) stays
open and is checked here the way the API server checks it: a DNS-1123 name, a namespace exactly
when the kind is namespaced, valid label keys and values.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator

CRD_DIR = Path(__file__).resolve().parents[1] / "data" / "policyreport"
CRD_FILES = {
    "wgpolicyk8s.io": ("wgpolicyk8s.io_policyreports.yaml", "wgpolicyk8s.io_clusterpolicyreports.yaml"),
    "openreports.io": ("openreports.io_reports.yaml", "openreports.io_clusterreports.yaml"),
}
_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if out.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    if "properties" in node:  # property names are data, not keywords: keep them whatever they are
        out["properties"] = {k: to_json_schema(v) for k, v in node["properties"].items()}
    return out


@cache
def crds() -> dict[tuple[str, str], dict[str, Any]]:
    """``(apiVersion, kind) -> CRD`` for every vendored CRD (each holds one version)."""
    out = {}
    for group, names in CRD_FILES.items():
        for name in names:
            crd = yaml.safe_load((CRD_DIR / group / name).read_text(encoding="utf-8"))
            for version in crd["spec"]["versions"]:
                out[(f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])] = crd
    return out


@cache
def _validator(api_version: str, kind: str) -> Draft7Validator:
    crd = crds()[(api_version, kind)]
    (version,) = [v for v in crd["spec"]["versions"] if f"{crd['spec']['group']}/{v['name']}" == api_version]
    schema = to_json_schema(version["schema"]["openAPIV3Schema"])
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def problems(obj: dict[str, Any]) -> list[str]:
    """Everything the CRD (and the API server's metadata rules) would reject or prune in ``obj``."""
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in crds():
        return [f"no vendored CRD for {key}"]
    out = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(*key).iter_errors(obj)]
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    if not (_DNS1123.match(name) and len(name) <= 253):
        out.append(f"metadata.name {name!r} is not a DNS-1123 subdomain")
    namespaced = crds()[key]["spec"]["scope"] == "Namespaced"
    if namespaced != ("namespace" in meta):
        out.append(f"metadata.namespace {'missing' if namespaced else 'set'} on a {crds()[key]['spec']['scope']} kind")
    for label, value in (meta.get("labels") or {}).items():
        prefix, _, label_name = label.rpartition("/")
        if not (_LABEL_NAME.match(label_name) and len(label_name) <= 63) or (prefix and not _DNS1123.match(prefix)):
            out.append(f"label key {label!r} is invalid")
        if not (isinstance(value, str) and _LABEL_VALUE.match(value) and len(value) <= 63):
            out.append(f"label {label}={value!r}: invalid value")
    for value in (meta.get("annotations") or {}).values():
        if not isinstance(value, str):
            out.append(f"annotation value {value!r} is not a string")
    return out
