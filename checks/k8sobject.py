"""One Kubernetes object as a check sees it, and the workload view of pod-owning objects.

:class:`K8sObject` wraps a plain dict with the identity fields every check reads and where it came
from; :class:`Workload` is a pod-owning object with its pod spec and containers found once;
:func:`pod_template` and :func:`container_path` say where those sit in each kind. Kept apart from
:mod:`checks.snapshot`, which holds the run's objects and the indexes over them: these are the
values that flow through the indexes, and the input boundary (:mod:`checks.objects`) builds on
them without needing the snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.positions import Place

# Kinds whose pod template sits at spec.template (docs/catalogue.md#conventions); CronJob is handled separately.
TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")
WORKLOAD_KINDS = ("Pod", *TEMPLATE_KINDS, "CronJob")
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "CustomResourceDefinition",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "RuntimeClass",
        "CSIDriver",
    }
)


def _text(value: Any) -> str:
    """An identity field as text: strings as they are, other scalars printed, containers empty."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, dict | list | tuple | set | bytes):
        return ""
    return str(value)


# A Secret's value fields. Only their keys survive into a snapshot (REL-015 checks referenced keys).
SECRET_VALUE_FIELDS = ("data", "stringData")


def _placeholder(value: Any) -> Any:
    """A value of the same JSON type carrying nothing, so the boundary still names a wrong type."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | dict | list):
        return type(value)()
    return ""


def drop_secret_values(obj: K8sObject) -> None:
    """Replace every value of a Secret's ``data``/``stringData`` with an empty one, in place; keep the keys.

    Secret values are never needed (docs/catalogue.md#least-privilege): live runs never request them,
    and a manifest's Secret loses them here, before anything else may read, index or quote them.
    """
    raw = obj.raw
    if obj.kind != "Secret" or type(raw) is not dict:
        return
    for name in SECRET_VALUE_FIELDS:
        values = raw.get(name)
        if isinstance(values, dict):
            raw[name] = {key: _placeholder(v) for key, v in values.items()}
        elif values is not None:
            raw[name] = _placeholder(values)


class K8sObject:
    """A Kubernetes object as a raw dict plus the fields every check reads.

    Construction never raises, whatever the shape of ``raw``: the identity is read defensively so
    that a broken object can still be named. The accessors (``spec``, ``labels``...) trust the
    shapes the input boundary (checks/objects.py) guarantees for the objects a snapshot admits.
    """

    __slots__ = ("_where", "api_version", "index", "kind", "name", "namespace", "place", "raw", "source", "uid")

    def __init__(
        self, raw: dict[str, Any], source: str = "", index: int | None = None, place: Place | None = None
    ) -> None:
        # Runs for every object parsed (10k+ per run): the common case (strings) costs no call.
        self.raw = raw
        self.place = place  # where its text is in the manifest it came from (None: live, built)
        if type(raw) is not dict:
            raw = {}
        meta = raw.get("metadata")
        if type(meta) is not dict:
            meta = {}
        kind = raw.get("kind")
        if type(kind) is not str:
            kind = _text(kind)
        self.kind: str = kind
        api_version = raw.get("apiVersion")
        self.api_version: str = api_version if type(api_version) is str else _text(api_version)
        ns = meta.get("namespace")
        if type(ns) is not str:
            ns = _text(ns)
        self.namespace: str | None = None if kind in CLUSTER_SCOPED_KINDS else (ns or None)
        name = meta.get("name")
        self.name: str = (name if type(name) is str else _text(name)) or _text(meta.get("generateName"))
        uid = meta.get("uid")
        self.uid: str | None = uid if type(uid) is str and uid else None
        self.source = source
        self.index = index
        self._where: str | None = None

    @property
    def meta(self) -> dict[str, Any]:
        return self.raw.get("metadata") or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.meta.get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.meta.get("annotations") or {}

    @property
    def spec(self) -> dict[str, Any]:
        return self.raw.get("spec") or {}

    @property
    def status(self) -> dict[str, Any]:
        return self.raw.get("status") or {}

    @property
    def owner_refs(self) -> list[dict[str, Any]]:
        return self.meta.get("ownerReferences") or []

    @property
    def controller_ref(self) -> dict[str, Any] | None:
        for ref in self.owner_refs:
            if ref.get("controller"):
                return ref
        return None

    @property
    def ref(self) -> str:
        """``Kind/namespace/name`` (or ``Kind/name`` when cluster-scoped) for messages."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def where(self) -> str:
        """Where the object came from: ``file#doc`` for manifests, ``api`` for live objects."""
        # Every result of a manifest object names it (600,000 at 100,000 objects): built once.
        where = self._where
        if where is None:
            where = self._where = self.source if self.index is None else f"{self.source}#{self.index}"
        return where

    def __repr__(self) -> str:
        return f"K8sObject({self.ref} from {self.where or '?'})"


class Workload:
    """An object that owns a pod spec: a bare Pod, a controller, or a CronJob (docs/catalogue.md#conventions)."""

    __slots__ = ("_places", "obj", "pod_spec", "template_meta")

    def __init__(self, obj: K8sObject, pod_spec: dict[str, Any], template_meta: dict[str, Any]):
        self.obj = obj
        self.pod_spec = pod_spec
        self.template_meta = template_meta
        # Where each container is, for a pod of many (see container_path); False: too few to index.
        self._places: _Places | bool | None = None

    @property
    def kind(self) -> str:
        return self.obj.kind

    @property
    def namespace(self) -> str | None:
        return self.obj.namespace

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def pod_labels(self) -> dict[str, str]:
        return self.template_meta.get("labels") or {}

    @property
    def pod_annotations(self) -> dict[str, str]:
        return self.template_meta.get("annotations") or {}

    def containers(self, include_init: bool = True, include_ephemeral: bool = False) -> list[dict[str, Any]]:
        """The container set ``C``: init containers and containers (ephemeral ones when asked)."""
        spec = self.pod_spec
        out = list(spec.get("initContainers") or []) if include_init else []
        out += spec.get("containers") or []
        if include_ephemeral:
            out += spec.get("ephemeralContainers") or []
        return out

    def long_running_containers(self) -> list[dict[str, Any]]:
        """The container set ``C*``: regular containers plus restartable (sidecar) init containers."""
        spec = self.pod_spec
        sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        return sidecars + list(spec.get("containers") or [])

    def pod_path(self, field: str | None = None) -> str:
        """The path of the pod spec (or of ``field`` in it) in the object:
        ``spec.template.spec.hostNetwork`` for a Deployment, ``spec.hostNetwork`` for a Pod."""
        base = POD_SPEC_PATHS.get(self.obj.kind, "spec")
        return f"{base}.{field}" if field else base

    def container_path(self, container: dict[str, Any] | str, field: str | None = None) -> str | None:
        """The path of a container (the dict itself, or its name) or of ``field`` in it:
        ``spec.template.spec.containers[1].securityContext.privileged``; None if it is not here."""
        places = self._places
        if places is None:
            # Found by a linear search, each container's verdict in a pod of 4,000 containers cost
            # 4,000 steps (0.6 s a check); past a few dozen an index answers in one.
            count = sum(len(v) for v in map(self.pod_spec.get, _CONTAINER_LISTS) if isinstance(v, list))
            places = self._places = _Places(self.pod_spec) if count > _INDEXED_FROM else False
        if places is False:
            return container_path(self.obj.kind, self.pod_spec, container, field)
        found = places.find(container)  # type: ignore[union-attr]
        return None if found is None else _container_path(self.obj.kind, found[0], found[1], field)

    def __repr__(self) -> str:
        return f"Workload({self.obj.ref})"


# Where the pod spec sits in each workload kind (for field paths; Pod: "spec").
POD_SPEC_PATHS = {
    "Pod": "spec",
    **dict.fromkeys(TEMPLATE_KINDS, "spec.template.spec"),
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


_INDEXED_FROM = 32  # containers in a pod from which Workload.container_path indexes them


class _Places:
    """Each container of a pod spec by identity and by (first) name: what :func:`container_path`
    finds by searching, in its order (containers, then init, then ephemeral containers)."""

    __slots__ = ("by_id", "by_name")

    def __init__(self, pod_spec: dict[str, Any]) -> None:
        self.by_id: dict[int, tuple[str, int]] = {}
        self.by_name: dict[Any, tuple[str, int]] = {}
        for key in _CONTAINER_LISTS:
            listed = pod_spec.get(key)
            if not isinstance(listed, list):
                continue
            for i, c in enumerate(listed):
                self.by_id.setdefault(id(c), (key, i))
                if isinstance(c, dict):
                    name = c.get("name")
                    if isinstance(name, str):  # only a string can equal the name asked for
                        self.by_name.setdefault(name, (key, i))

    def find(self, container: dict[str, Any] | str) -> tuple[str, int] | None:
        by_id = self.by_id.get(id(container))
        if isinstance(container, str):  # by identity or by name, whichever comes first
            by_name = self.by_name.get(container)
            if by_id is None or by_name is None:
                return by_id or by_name
            return min(by_id, by_name, key=lambda place: (_CONTAINER_LISTS.index(place[0]), place[1]))
        return by_id


def container_path(
    kind: str, pod_spec: dict[str, Any], container: dict[str, Any] | str, field: str | None = None
) -> str | None:
    """``spec.template.spec.initContainers[0]`` (``.field``) for a container of a workload's pod
    spec, found by identity or by name; None when the pod spec has no such container."""
    for key in _CONTAINER_LISTS:
        listed = pod_spec.get(key)
        if not isinstance(listed, list):
            continue
        for i, c in enumerate(listed):
            if c is container or (isinstance(container, str) and isinstance(c, dict) and c.get("name") == container):
                return _container_path(kind, key, i, field)
    return None


def _container_path(kind: str, key: str, index: int, field: str | None) -> str:
    path = f"{POD_SPEC_PATHS.get(kind, 'spec')}.{key}[{index}]"
    return f"{path}.{field}" if field else path


def pod_template(obj: K8sObject) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Return ``(pod_spec, template_metadata)`` for objects that carry a pod spec."""
    kind = obj.kind
    if kind == "Pod":
        return obj.spec, obj.meta
    if kind == "CronJob":
        template = ((obj.spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
    elif kind in TEMPLATE_KINDS:
        template = obj.spec.get("template") or {}
    else:
        return None
    return template.get("spec") or {}, template.get("metadata") or {}
