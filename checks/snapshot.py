"""One run's view of a cluster: every object once, plus indexes built once.

Checks never scan the whole cluster per object: they ask the snapshot for objects of a kind, for a
namespace, for pods owned by a workload, or for the workloads a label selector picks, and each of
those is a dictionary lookup. Objects stay plain dicts (parsed straight from JSON/YAML) wrapped in a
slotted ``K8sObject`` that remembers where the object came from.

Building a snapshot is the input boundary (checks/objects.py): whatever the source, every object
is checked against its Kubernetes field types first; a malformed one is quarantined in
``Snapshot.malformed`` and never reaches ``objects`` or an index.

The object and workload wrappers themselves are in :mod:`checks.k8sobject`; this module holds the
run's view over them. Their names are re-exported here, where checks have always imported them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import InitVar, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from checks.k8s import selector_key, selector_matches
from checks.k8sobject import (  # noqa: F401  (re-exported: callers import them from here)
    CLUSTER_SCOPED_KINDS,
    POD_SPEC_PATHS,
    TEMPLATE_KINDS,
    WORKLOAD_KINDS,
    K8sObject,
    Workload,
    container_path,
    drop_secret_values,
    pod_template,
)

if TYPE_CHECKING:
    from checks.objects import MalformedObject

# Indexes that check modules register (name -> builder): built once per snapshot by prepare(),
# in the parent process, so forked check workers share them instead of each rebuilding them.
INDEX_BUILDERS: dict[str, Callable[[Snapshot], Any]] = {}
# Of those, the ones prepare() may build in a forked child meanwhile (checks/offload.py): costly,
# and their answer pickles small.
OFFLOADABLE: set[str] = set()


def register_index(
    name: str, *, offload: bool = False
) -> Callable[[Callable[[Snapshot], Any]], Callable[[Snapshot], Any]]:
    def decorate(build: Callable[[Snapshot], Any]) -> Callable[[Snapshot], Any]:
        INDEX_BUILDERS[name] = build
        if offload:
            OFFLOADABLE.add(name)
        return build

    return decorate


@dataclass
class ParseProblem:
    """A document that could not be used, with where it was."""

    source: str
    index: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.index is None else f"{self.source} (document {self.index})"
        return f"{where}: {self.message}"


@dataclass
class Snapshot:
    """Everything one run assesses; made by a source (checks.sources: manifests, live, demo)."""

    objects: list[K8sObject]
    mode: str = "manifest"  # "manifest" or "live"
    description: str = ""
    problems: list[ParseProblem] = field(default_factory=list)
    # kind -> message for resources that could not be listed (403 / 404 / other API errors).
    unavailable: dict[str, str] = field(default_factory=dict)
    server_version: str | None = None
    # None when metrics.k8s.io is absent or this is a manifest run. Otherwise:
    #   {"pods": {"<namespace>/<pod>": {container: {"cpu": cores, "memory": bytes}}},
    #    "nodes": {node: {"cpu": cores, "memory": bytes}}}
    metrics: dict[str, Any] | None = None
    cluster_id: str = ""
    # When the objects were read. A recorded dump (the demo cluster) sets it so that ages
    # ("pending for 10 minutes", "retained for 7 days") are measured at capture time, not today.
    captured_at: datetime | None = None
    # What reading a live cluster cost its API server (checks.sources.live.stats.ApiStats.as_dict():
    # requests, bytes, pages, concurrency); None for manifests and the demo.
    api_stats: dict[str, Any] | None = None
    # Objects the input boundary kept out (wrong field types), with their problems.
    malformed: list[MalformedObject] = field(default_factory=list)
    # True when ``objects`` already crossed the boundary (a snapshot rebuilt from another one).
    screened: InitVar[bool] = False

    def now(self) -> datetime:
        return self.captured_at or datetime.now(UTC)

    def __post_init__(self, screened: bool) -> None:
        for obj in self.objects:
            if obj.kind == "Secret":
                drop_secret_values(obj)
        if not screened:
            from checks.objects import screen  # it imports this module (for K8sObject), so not at the top

            self.objects, quarantined = screen(self.objects)
            self.malformed = [*self.malformed, *quarantined]
            # Also a problem of the input, reported and kept with the run like a document that does
            # not parse ("skipped input ..."), naming file, document, object and field.
            if quarantined:
                from checks.limits import MALFORMED, InputProblem, Problems

                found = [InputProblem(m.obj.source, m.obj.index, m.summary(), MALFORMED) for m in quarantined]
                if isinstance(self.problems, Problems):
                    self.problems.extend(found)  # keeps the reader's cap, counts and read stats
                else:
                    self.problems = [*self.problems, *found]
        self._by_kind: dict[str, list[K8sObject]] = defaultdict(list)
        self._by_kind_ns: dict[tuple[str, str | None], list[K8sObject]] = defaultdict(list)
        self._by_name: dict[tuple[str, str | None, str], K8sObject] = {}
        self._by_uid: dict[str, K8sObject] = {}
        self._children: dict[tuple[str, str | None, str], list[K8sObject]] = defaultdict(list)
        # One pass, names bound locally: it runs for every object of the run.
        by_kind, by_kind_ns, by_name, by_uid = self._by_kind, self._by_kind_ns, self._by_name, self._by_uid
        children = self._children
        for obj in self.objects:
            kind, namespace = obj.kind, obj.namespace
            by_kind[kind].append(obj)
            by_kind_ns[(kind, namespace)].append(obj)
            by_name[(kind, namespace, obj.name)] = obj
            if obj.uid:
                by_uid[obj.uid] = obj
            refs = (obj.raw.get("metadata") or {}).get("ownerReferences")  # obj.owner_refs
            if refs:
                for ref in refs:
                    children[(ref.get("kind", ""), namespace, ref.get("name", ""))].append(obj)
        self._workloads: list[Workload] | None = None
        self._label_index: dict[str | None, _LabelIndex] | None = None
        self._namespaces: list[str] | None = None
        self._hpa_targets: dict[tuple[str, str | None, str], K8sObject] | None = None
        self._indexes: dict[str, Any] = {}

    def prepare(self, alongside: Callable[[], None] | None = None) -> Snapshot:
        """Build every lazy index now, once, before checks run in forked children.

        A child's work is lost when it exits, so an index first built inside a check would be
        rebuilt by every check; building them in the parent shares them copy-on-write. Indexes
        registered with ``offload=True`` are built by a forked child of their own meanwhile
        (checks/offload.py), while this process builds the others and runs ``alongside`` (the
        run's exemptions, say): two cores busy instead of one.
        """
        from checks.offload import offload

        pending = {}
        for name in INDEX_BUILDERS:
            if name in OFFLOADABLE and name not in self._indexes:
                job = offload(lambda build=INDEX_BUILDERS[name]: build(self), len(self.objects))
                if job is not None:
                    pending[name] = job
        self._labels()
        self.namespaces()
        for name in INDEX_BUILDERS:
            if name not in pending:
                self.index(name)
        if self._hpa_targets is None and self.of_kind("HorizontalPodAutoscaler"):
            self.hpa_for(self.of_kind("HorizontalPodAutoscaler")[0])
        if alongside is not None:
            alongside()
        for name, job in pending.items():
            value = job.result()
            adopt = getattr(value, "adopt", None)
            if adopt is not None:  # an answer built in a child that refers back to its snapshot
                adopt(self)
            self._indexes[name] = value
        return self

    def without(self, drop: Iterable[K8sObject]) -> Snapshot:
        """This snapshot minus ``drop``, every index rebuilt (lazily) from the remaining objects.

        The objects are not screened again; registered indexes and exemption grants are built on
        first use, as for any snapshot, so the result is what a run without those objects sees.
        """
        gone = {id(o) for o in drop}
        kept = [o for o in self.objects if id(o) not in gone]
        return replace(self, objects=kept, malformed=list(self.malformed), screened=True)

    def malformed_facts(self, limit: int = 50) -> dict[str, Any]:
        """What a run keeps about quarantined objects: how many, and the first ``limit`` in full."""
        return {"count": len(self.malformed), "first": [m.as_dict() for m in self.malformed[:limit]]}

    def index(self, name: str) -> Any:
        """A registered index (:func:`register_index`), built on first use and kept."""
        if name not in self._indexes:
            self._indexes[name] = INDEX_BUILDERS[name](self)
        return self._indexes[name]

    # ---- plain lookups ------------------------------------------------------------------------
    @property
    def is_live(self) -> bool:
        return self.mode == "live"

    def kinds(self) -> list[str]:
        return sorted(self._by_kind)

    def of_kind(self, *kinds: str) -> list[K8sObject]:
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], [])
        out: list[K8sObject] = []
        for kind in kinds:
            out.extend(self._by_kind.get(kind, []))
        return out

    def in_namespace(self, kind: str, namespace: str | None) -> list[K8sObject]:
        return self._by_kind_ns.get((kind, namespace), [])

    def get(self, kind: str, namespace: str | None, name: str) -> K8sObject | None:
        return self._by_name.get((kind, namespace, name))

    def by_uid(self, uid: str) -> K8sObject | None:
        return self._by_uid.get(uid)

    def children(self, owner: K8sObject) -> list[K8sObject]:
        """Objects whose ownerReferences name ``owner`` (pods of a ReplicaSet, Jobs of a CronJob...)."""
        return self._children.get((owner.kind, owner.namespace, owner.name), [])

    def namespaces(self) -> list[str]:
        """Every namespace that exists or holds objects (manifests may omit Namespace objects)."""
        if self._namespaces is None:
            names = {o.name for o in self.of_kind("Namespace")}
            names.update(ns for (_, ns) in self._by_kind_ns if ns)
            self._namespaces = sorted(names)
        return self._namespaces

    def pods_of(self, workload: K8sObject) -> list[K8sObject]:
        """Running pods of a workload, following Deployment → ReplicaSet → Pod and CronJob → Job → Pod."""
        out: list[K8sObject] = []
        stack = [workload]
        while stack:
            current = stack.pop()
            for child in self.children(current):
                if child.kind == "Pod":
                    out.append(child)
                elif child.kind in ("ReplicaSet", "Job"):
                    stack.append(child)
        return out

    def top_owner(self, obj: K8sObject) -> K8sObject:
        """Follow controller references up to the object users manage (workload roll-up)."""
        seen = 0
        current = obj
        while seen < 5:
            ref = current.controller_ref
            if ref is None:
                return current
            parent = self._by_uid.get(ref.get("uid", "")) if ref.get("uid") else None
            if parent is None:
                parent = self.get(ref.get("kind", ""), current.namespace, ref.get("name", ""))
            if parent is None:
                return current
            current = parent
            seen += 1
        return current

    # ---- workloads (docs/catalogue.md#conventions) -----------------------------------------------------------
    def workloads(self) -> list[Workload]:
        """Top-level workloads: objects with a pod spec that no other controller owns.

        A pod or ReplicaSet with a controller ownerReference is assessed through its owner, so each
        finding is reported once. A Job owned by a CronJob is assessed through the CronJob.
        """
        if self._workloads is None:
            out: list[Workload] = []
            live = self.is_live
            by_name = self._by_name
            for kind in WORKLOAD_KINDS:
                for obj in self._by_kind.get(kind, []):
                    # obj.controller_ref and _owner_present, inlined: this runs for every pod.
                    refs = (obj.raw.get("metadata") or {}).get("ownerReferences")
                    if refs:
                        owned = False
                        for ref in refs:
                            if ref.get("controller"):
                                owned = live or (ref.get("kind", ""), obj.namespace, ref.get("name", "")) in by_name
                                break
                        if owned:
                            continue
                    pt = pod_template(obj)
                    if pt is not None:
                        out.append(Workload(obj, pt[0], pt[1]))
            self._workloads = out
        return self._workloads

    def _owner_present(self, obj: K8sObject) -> bool:
        # Live: a controller-owned pod is rolled up even when its owner is a CRD we do not list.
        if self.is_live:
            return True
        ref = obj.controller_ref or {}
        return self.get(ref.get("kind", ""), obj.namespace, ref.get("name", "")) is not None

    def workload(self, kind: str, namespace: str | None, name: str) -> Workload | None:
        obj = self.get(kind, namespace, name)
        if obj is None:
            return None
        pt = pod_template(obj)
        return Workload(obj, pt[0], pt[1]) if pt else None

    def select_workloads(self, namespace: str | None, selector: dict[str, Any] | None) -> list[Workload]:
        """Workloads in ``namespace`` whose pod-template labels match a full LabelSelector.

        A ``None`` selector matches nothing; an empty selector ``{}`` matches every workload in the
        namespace (Kubernetes semantics for NetworkPolicy and PDB selectors).
        """
        if selector is None:
            return []
        index = self._labels().get(namespace)
        if index is None:
            return []
        return index.select(selector)

    def first_workload(self, namespace: str | None, selector: dict[str, Any] | None) -> Workload | None:
        """The first workload :meth:`select_workloads` would return, without finding the others,
        and once per namespace and distinct selector: checks that ask whether a selector picks
        anything (thousands of Services or policies over the same thousands of pods) pay for one
        match per selector, not one per object that repeats it."""
        if selector is None:
            return None
        index = self._labels().get(namespace)
        return None if index is None else index.first(selector)

    def _labels(self) -> dict[str | None, _LabelIndex]:
        if self._label_index is None:
            indexes: dict[str | None, _LabelIndex] = defaultdict(_LabelIndex)
            for w in self.workloads():
                indexes[w.namespace].add(w)
            self._label_index = dict(indexes)
        return self._label_index

    def hpa_for(self, obj: K8sObject) -> K8sObject | None:
        """The HorizontalPodAutoscaler whose scaleTargetRef names ``obj``, if any."""
        if self._hpa_targets is None:
            targets: dict[tuple[str, str | None, str], K8sObject] = {}
            for hpa in self.of_kind("HorizontalPodAutoscaler"):
                ref = hpa.spec.get("scaleTargetRef") or {}
                targets.setdefault((ref.get("kind", ""), hpa.namespace, ref.get("name", "")), hpa)
            self._hpa_targets = targets
        return self._hpa_targets.get((obj.kind, obj.namespace, obj.name))


class _LabelIndex:
    """Inverted index ``(key, value) -> workloads`` for one namespace."""

    __slots__ = ("all", "by_key", "by_pair", "firsts", "position")

    def __init__(self) -> None:
        self.all: list[Workload] = []
        self.by_pair: dict[tuple[str, str], list[Workload]] = defaultdict(list)
        self.by_key: dict[str, list[Workload]] = defaultdict(list)
        self.position: dict[int, int] | None = None  # id(workload) -> its place in ``all``, when needed
        self.firsts: dict[str, Workload | None] = {}  # selector_key(selector) -> first(selector)

    def add(self, w: Workload) -> None:
        self.all.append(w)
        for key, value in w.pod_labels.items():
            self.by_pair[(key, str(value))].append(w)
            self.by_key[key].append(w)

    def select(self, selector: dict[str, Any]) -> list[Workload]:
        return [w for w in self._candidates(selector) if selector_matches(selector, w.pod_labels)]

    def first(self, selector: dict[str, Any]) -> Workload | None:
        key = selector_key(selector)
        if key not in self.firsts:
            candidates = self._candidates(selector)
            self.firsts[key] = next((w for w in candidates if selector_matches(selector, w.pod_labels)), None)
        return self.firsts[key]

    def _candidates(self, selector: dict[str, Any]) -> list[Workload]:
        """The fewest workloads, in the order of ``all``, among which every match is: those with the
        rarest ``matchLabels`` pair, with one of an ``In`` expression's values, or with an
        ``Exists`` expression's key (without them a selector of 4,000 budgets scanned the whole
        namespace each, 16-20 s per check). ``NotIn`` and ``DoesNotExist`` narrow nothing."""
        options = [self.by_pair.get((k, str(v)), []) for k, v in (selector.get("matchLabels") or {}).items()]
        expressions = selector.get("matchExpressions") or []
        for expr in expressions if isinstance(expressions, list) else ():
            key = expr.get("key") if isinstance(expr, dict) else None
            if not isinstance(key, str):
                continue
            operator, values = expr.get("operator"), expr.get("values")
            if operator == "Exists":
                options.append(self.by_key.get(key, []))
            elif operator == "In" and isinstance(values, list):
                options.append(self._union([self.by_pair.get((key, str(v)), []) for v in values]))
        # Start from the rarest so the candidate set is as small as possible.
        return min(options, key=len) if options else self.all

    def _union(self, lists: list[list[Workload]]) -> list[Workload]:
        lists = [found for found in lists if found]
        if len(lists) <= 1:
            return lists[0] if lists else []
        if self.position is None:  # only an In of several values needs it: built once, on demand
            self.position = {id(w): i for i, w in enumerate(self.all)}
        position = self.position
        merged = {id(w): w for found in lists for w in found}
        return sorted(merged.values(), key=lambda w: position[id(w)])
