"""Kubernetes semantics shared by many checks, written once so every check agrees.

- effective security context (container overrides pod, docs/catalogue.md#effective-security-context);
- effective replicas (an HPA's minReplicas wins over spec.replicas);
- full LabelSelector matching (matchLabels + matchExpressions);
- image references (registry, repository, tag, digest);
- resource quantities (``500m``, ``1Gi``) as numbers.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.snapshot import Snapshot, Workload

# Fields where the container value overrides the pod value.
INHERITED_FIELDS = (
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
    "windowsOptions",
)
CONTAINER_ONLY_FIELDS = (
    "privileged",
    "allowPrivilegeEscalation",
    "readOnlyRootFilesystem",
    "capabilities",
    "procMount",
)
# Node labels that name a node's zone: the current one first, then the deprecated beta label.
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
_SENTINEL = object()


def effective_security_context(pod_spec: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """The security context a container really runs with.

    Container values override pod values for the inherited fields; container-only fields come from
    the container alone. Fields that are unset on both stay absent, so callers can tell "unset"
    (often a warning) from an explicit value.
    """
    pod_ctx = pod_spec.get("securityContext") or {}
    ctr_ctx = container.get("securityContext") or {}
    out: dict[str, Any] = {}
    for name in INHERITED_FIELDS:
        value = ctr_ctx.get(name, _SENTINEL)
        if value is _SENTINEL or value is None:
            value = pod_ctx.get(name, _SENTINEL)
        if value is not _SENTINEL and value is not None:
            out[name] = value
    for name in CONTAINER_ONLY_FIELDS:
        if ctr_ctx.get(name) is not None:
            out[name] = ctr_ctx[name]
    return out


def unknown_pod_security_fields(pod_spec: dict[str, Any]) -> list[str]:
    """Container-only fields written at pod level, where Kubernetes ignores them (Polaris #874)."""
    pod_ctx = pod_spec.get("securityContext") or {}
    return [name for name in CONTAINER_ONLY_FIELDS if pod_ctx.get(name) is not None]


def is_windows(pod_spec: dict[str, Any]) -> bool:
    """``spec.os.name: windows``, or the older ``nodeSelector kubernetes.io/os: windows``."""
    if str((pod_spec.get("os") or {}).get("name") or "").lower() == "windows":
        return True
    return str((pod_spec.get("nodeSelector") or {}).get("kubernetes.io/os") or "").lower() == "windows"


def effective_replicas(snapshot: Snapshot, workload: Workload) -> int:
    """HPA ``minReplicas`` (default 1) when an HPA targets the workload, else ``spec.replicas`` (default 1).

    Meaningful for replicated kinds only (Deployment, StatefulSet, ReplicaSet, ReplicationController);
    a DaemonSet's pod count comes from its nodes, not from ``spec.replicas``.
    """
    hpa = snapshot.hpa_for(workload.obj)
    if hpa is not None:
        return _count(hpa.spec.get("minReplicas"), f"{hpa.ref} spec.minReplicas")
    return _count(workload.obj.spec.get("replicas"), f"{workload.obj.ref} spec.replicas")


class InvalidManifest(ValueError):
    """A field has a value the API server would reject; the message names object and field."""


def _count(value: Any, where: str) -> int:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidManifest(f"{where} is not an integer: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise InvalidManifest(f"{where} is not an integer: {value!r}") from None


# ---- label selectors ---------------------------------------------------------------------------

def selector_key(selector: Any) -> str:
    """One string per distinct selector (key order ignored): checks that meet the same selector
    many times (budgets, policies, Services over the same pods) match it once."""
    return json.dumps(selector, sort_keys=True, default=str)


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Full LabelSelector semantics. ``None`` matches nothing; ``{}`` matches everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        # YAML may parse label values as numbers or booleans; the API compares strings.
        have = labels.get(key)
        if have is None or str(have) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        key = expr.get("key")
        op = expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        present = key in labels
        if op == "In":
            if not present or str(labels[key]) not in values:
                return False
        elif op == "NotIn":
            if present and str(labels[key]) in values:
                return False
        elif op == "Exists":
            if not present:
                return False
        elif op == "DoesNotExist":
            if present:
                return False
        else:
            return False  # an unknown operator is rejected by the API server; match nothing
    return True


def service_selector_matches(selector: dict[str, str] | None, labels: dict[str, str]) -> bool:
    """Service selectors are plain equality maps; an empty/absent one selects no pods."""
    if not selector:
        return False
    return all(labels.get(k) is not None and str(labels[k]) == str(v) for k, v in selector.items())


# ---- images -------------------------------------------------------------------------------------

class ImageRef:
    __slots__ = ("digest", "raw", "registry", "repository", "tag")

    def __init__(self, raw: str, registry: str, repository: str, tag: str | None, digest: str | None):
        self.raw = raw
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest

    @property
    def mutable(self) -> bool:
        """True when the reference can point at different images over time (no digest, latest/no tag)."""
        return self.digest is None and (self.tag is None or self.tag == "latest")


def parse_image(image: str) -> ImageRef:
    raw = image.strip()
    rest = raw
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    tag = None
    last = rest.rsplit("/", 1)[-1]
    if ":" in last:
        rest, tag = rest.rsplit(":", 1)
    parts = rest.split("/", 1)
    if len(parts) == 2 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        registry, repository = parts
    else:
        registry, repository = "docker.io", rest
    return ImageRef(raw, registry, repository, tag or None, digest or None)


# ---- plain numbers from spec fields -------------------------------------------------------------

def as_int(value: Any) -> int | None:
    """An integer field, or None when it is not one (templated or malformed manifests)."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def as_number(value: Any) -> float | None:
    """A number from a spec field (int, float or numeric string), or None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# ---- quantities ---------------------------------------------------------------------------------

_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0,
    "n": 1e-9,
    "u": 1e-6,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


class QuantityError(ValueError):
    pass


def parse_quantity(value: Any) -> float:
    """``"500m"`` → 0.5, ``"1Gi"`` → 1073741824.0; raises :class:`QuantityError` on nonsense."""
    if isinstance(value, bool):
        raise QuantityError(f"invalid quantity {value!r}")
    if isinstance(value, int | float):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise QuantityError(f"invalid quantity {value!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


def container_resource(container: dict[str, Any], section: str, resource: str) -> Any:
    """``container.resources[section][resource]`` or None (section is ``requests`` or ``limits``)."""
    return ((container.get("resources") or {}).get(section) or {}).get(resource)
