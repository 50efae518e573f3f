"""Objects that point at other objects: Services, Ingress backends, HPA targets, volumes
and env references, StatefulSet Services (REL-013 to REL-015, REL-019).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.k8s import service_selector_matches
from checks.model import Result, SkipReason
from checks.registry import check
from checks.reliability.common import SCALABLE_KINDS, _missing, _name
from checks.snapshot import K8sObject, Snapshot


class _PodLabelIndex:
    """Per namespace ``(key, value) -> pod indexes`` so a Service selector is a set intersection."""

    def __init__(self, pods: list[K8sObject]):
        self.pods = pods
        self.by_pair: dict[tuple[str | None, str, str], set[int]] = defaultdict(set)
        for i, pod in enumerate(pods):
            for k, v in pod.labels.items():
                self.by_pair[(pod.namespace, k, str(v))].add(i)

    def select(self, namespace: str | None, selector: dict[str, str]) -> list[K8sObject]:
        sets = self._sets(namespace, selector)
        if not sets:
            return []
        hit = set(sets[0]).intersection(*sets[1:])
        return [self.pods[i] for i in sorted(hit)]

    def any(self, namespace: str | None, selector: dict[str, str]) -> bool:
        """Whether :meth:`select` would find a pod, stopping at the first."""
        sets = self._sets(namespace, selector)
        if not sets:
            return False
        rest = sets[1:]
        return any(all(i in s for s in rest) for i in sets[0])

    def _sets(self, namespace: str | None, selector: dict[str, str]) -> list[set[int]]:
        """The pods with each of the selector's pairs, the rarest pair first."""
        return sorted((self.by_pair.get((namespace, k, str(v)), set()) for k, v in selector.items()), key=len)


def _ready_endpoints(snap: Snapshot) -> dict[tuple[str | None, str], int]:
    """Ready endpoint count per Service from EndpointSlices (``ready`` unset counts as ready)."""
    out: dict[tuple[str | None, str], int] = defaultdict(int)
    for es in snap.of_kind("EndpointSlice"):
        svc = es.labels.get("kubernetes.io/service-name")
        if not svc:
            continue
        for ep in es.raw.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is not False:
                out[(es.namespace, svc)] += len(ep.get("addresses") or []) or 1
    return out


@check("REL-013")
def service_selects_nothing(ctx: CheckContext) -> Iterator[Result]:
    """Services with a selector that matches no pod or pod template in their namespace.

    Rule (docs/catalogue.md#rel-013): failing when nothing matches (a warning on manifests,
    docs/catalogue.md#conventions: the pods may be deployed from elsewhere); live, also a warning
    when the matched pods give 0 ready endpoints, or only one (no redundancy). Live matching also
    looks at pods themselves, so pods of operators whose CRDs the run does not list still count.
    Selector-less and ExternalName Services are skipped.
    """
    pods = _PodLabelIndex(ctx.snapshot.of_kind("Pod")) if ctx.live else None
    ready = _ready_endpoints(ctx.snapshot) if ctx.live else {}
    for svc in ctx.snapshot.of_kind("Service"):
        selector = svc.spec.get("selector")
        if not selector or svc.spec.get("type") == "ExternalName":
            yield ctx.skip(svc, SkipReason.NOT_APPLICABLE, "Service without a selector")
            continue
        # Whether it matches anything stops at the first match, and a template's answer is kept per
        # distinct selector: 4,000 Services over the same 4,000 pods were 16 million matches (9 s).
        template = ctx.snapshot.first_workload(svc.namespace, {"matchLabels": selector})
        if template is None and not (pods is not None and pods.any(svc.namespace, selector)):
            yield _missing(ctx, svc, f"selector {selector} matches no pod or pod template in the namespace")
            continue
        if ctx.live:
            count = ready.get((svc.namespace, svc.name), 0)
            if count == 0:
                yield ctx.warn(svc, "selector matches pods but the Service has 0 ready endpoints")
                continue
            if count == 1:
                yield ctx.warn(svc, "the Service has a single ready endpoint")
                continue
        yield ctx.ok(svc)


def _service_port_ok(svc: K8sObject, port: dict[str, Any] | Any) -> bool:
    ports = svc.spec.get("ports") or []
    if isinstance(port, dict):
        if port.get("name"):
            return any(p.get("name") == port["name"] for p in ports)
        if port.get("number") is not None:
            return any(str(p.get("port")) == str(port["number"]) for p in ports)
        return True
    if port is None:
        return True
    text = str(port)
    if text.isdigit():
        return any(str(p.get("port")) == text for p in ports)
    return any(p.get("name") == text for p in ports)


def _ingress_backends(ing: K8sObject) -> list[tuple[str, Any]]:
    """``(service name, port)`` for every Service backend (networking.k8s.io/v1 and v1beta1 shapes)."""
    spec = ing.spec
    backends = [spec.get("defaultBackend") or spec.get("backend")]
    for rule in spec.get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            backends.append(path.get("backend"))
    out = []
    for b in backends:
        if not b:
            continue
        if b.get("service"):
            out.append((b["service"].get("name") or "", b["service"].get("port")))
        elif b.get("serviceName"):
            out.append((b["serviceName"], b.get("servicePort")))
    return out


@check("REL-014")
def dangling_backends(ctx: CheckContext) -> Iterator[Result]:
    """Ingress Service backends and HPA scale targets that do not resolve.

    Rule (docs/catalogue.md#rel-014): failing when the referenced Service or scale target does not exist
    (a warning on manifests, docs/catalogue.md#conventions), and failing when the Service exists but has no such port
    (that is visible in the run itself). Resource backends are not checked. An HPA targeting a kind
    the run holds no object of at all (e.g. a CRD on a live cluster we did not list) is a warning:
    it cannot be verified.
    """
    for ing in ctx.snapshot.of_kind("Ingress"):
        missing, bad_port = [], []
        for name, port in _ingress_backends(ing):
            svc = ctx.snapshot.get("Service", ing.namespace, name)
            if svc is None:
                missing.append(f"Service {name}")
            elif not _service_port_ok(svc, port):
                shown = (port.get("name") or port.get("number")) if isinstance(port, dict) else port
                bad_port.append(f"Service {name} has no port {shown}")
        if bad_port:
            yield ctx.fail(ing, "; ".join(bad_port + missing), details=bad_port + missing)
        elif missing:
            yield _missing(ctx, ing, "backend " + ", ".join(missing) + " does not exist", details=missing)
        else:
            yield ctx.ok(ing)
    known_kinds = set(ctx.snapshot.kinds())
    for hpa in ctx.snapshot.of_kind("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        kind, name = ref.get("kind") or "", ref.get("name") or ""
        if ctx.snapshot.get(kind, hpa.namespace, name) is not None:
            yield ctx.ok(hpa)
        elif ctx.live and kind not in SCALABLE_KINDS and kind not in known_kinds:
            yield ctx.warn(hpa, f"scale target {kind}/{name} is of a kind this run did not list; cannot verify")
        else:
            yield _missing(ctx, hpa, f"scale target {kind}/{name} does not exist")


_ALWAYS_PRESENT = {
    "ServiceAccount": {"default"},
    "ConfigMap": {"kube-root-ca.crt"},
    "PriorityClass": {"system-cluster-critical", "system-node-critical"},
}


# (kind, name, where, container, keys the reference needs in the object)
Ref = tuple[str, str, str, str | None, tuple[str, ...]]


def _item_keys(source: dict[str, Any]) -> tuple[str, ...]:
    """The keys a ConfigMap/Secret volume or projected source maps through ``items``."""
    items = source.get("items") or []
    return tuple(str(i["key"]) for i in items if isinstance(i, dict) and i.get("key") is not None)


def _pod_references(pod_spec: dict[str, Any], containers: list[dict[str, Any]]) -> list[Ref]:
    """Every required object a pod spec references, with the keys it needs of ConfigMaps and Secrets.

    ``optional: true`` on a volume, projected source or key reference covers the object and its keys
    alike (that is how the kubelet reads it), so such references are left out entirely.
    """
    refs: list[Ref] = []
    sa = pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount")
    if sa:
        refs.append(("ServiceAccount", sa, "serviceAccountName", None, ()))
    if pod_spec.get("priorityClassName"):
        refs.append(("PriorityClass", pod_spec["priorityClassName"], "priorityClassName", None, ()))
    for s in pod_spec.get("imagePullSecrets") or []:
        if s.get("name"):
            refs.append(("Secret", s["name"], "imagePullSecrets", None, ()))
    for vol in pod_spec.get("volumes") or []:
        where = f"volume {vol.get('name', '?')}"
        cm, secret, pvc = vol.get("configMap"), vol.get("secret"), vol.get("persistentVolumeClaim")
        if cm and cm.get("name") and not cm.get("optional"):
            refs.append(("ConfigMap", cm["name"], where, None, _item_keys(cm)))
        if secret and secret.get("secretName") and not secret.get("optional"):
            refs.append(("Secret", secret["secretName"], where, None, _item_keys(secret)))
        if pvc and pvc.get("claimName"):
            refs.append(("PersistentVolumeClaim", pvc["claimName"], where, None, ()))
        # Projected sources are references too (docs/catalogue.md#regressions, "projected volumes").
        for src in (vol.get("projected") or {}).get("sources") or []:
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                item = src.get(key)
                if item and item.get("name") and not item.get("optional"):
                    refs.append((kind, item["name"], where + " (projected)", None, _item_keys(item)))
    for c in containers:
        cname = _name(c)
        for env in c.get("env") or []:
            value_from = env.get("valueFrom") or {}
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                item = value_from.get(key)
                if item and item.get("name") and not item.get("optional"):
                    keys = (str(item["key"]),) if item.get("key") is not None else ()
                    refs.append((kind, item["name"], f"env {env.get('name', '?')}", cname, keys))
        for src in c.get("envFrom") or []:
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                item = src.get(key)
                if item and item.get("name") and not item.get("optional"):
                    refs.append((kind, item["name"], "envFrom", cname, ()))
    return refs


def _known_keys(obj: K8sObject, live: bool) -> set[str] | None:
    """The keys a ConfigMap or Secret holds; None when the run cannot know them.

    ConfigMap keys are those of ``data`` and ``binaryData``, Secret keys those of ``data`` and
    ``stringData`` (a snapshot keeps a Secret's key names only: checks.k8sobject.drop_secret_values).
    A live run lists Secrets as metadata, so there Secret keys are unknown; in manifests, an object
    that declares none of these fields is a placeholder some controller or job fills (a webhook's
    certificate Secret, a server's own settings), so its keys are unknown too.
    """
    fields = ("data", "binaryData") if obj.kind == "ConfigMap" else ("data", "stringData")
    if obj.kind == "Secret" and live:
        return None
    if not live and all(obj.raw.get(f) is None for f in fields):
        return None
    return {str(k) for f in fields for k in obj.raw.get(f) or {}}


@check("REL-015")
def missing_references(ctx: CheckContext) -> Iterator[Result]:
    """Objects a pod spec needs that the snapshot does not hold, and keys missing from ConfigMaps and Secrets.

    Rule (docs/catalogue.md#rel-015): serviceAccountName, ConfigMap/Secret volumes (including projected
    sources), env/envFrom references not marked ``optional: true``, PVC claimName, imagePullSecrets
    and priorityClassName. A missing object is failing on a live cluster and a warning on manifests,
    where it may be created elsewhere. Objects Kubernetes creates itself (the ``default``
    ServiceAccount, the ``kube-root-ca.crt`` ConfigMap, the system PriorityClasses) always exist.
    When the object is in the run, the keys the reference needs must be in it too: the ``key`` of
    ``configMapKeyRef``/``secretKeyRef`` and every ``items[].key`` of a ConfigMap/Secret volume or
    projected source (``optional: true`` covers the keys too); ConfigMap keys are those of ``data``
    and ``binaryData``, Secret keys those of ``data`` and ``stringData`` (key names only: values are
    never kept). A missing key is failing in both modes: the object is in the run and lacks it.
    Keys are not verified (the passing message says so) for Secrets on a live cluster, which are
    listed without their data, nor for a manifest object that declares no data at all: a placeholder
    that a controller or job fills.
    """
    live = ctx.live
    key_sets: dict[int, set[str] | None] = {}  # by id(object): many workloads share one ConfigMap
    for w in ctx.snapshot.workloads():
        missing: list[str] = []
        no_key: list[str] = []
        unverified: set[str] = set()
        first_container: str | None = None
        key_container: str | None = None
        seen: set[tuple[str, str]] = set()
        for kind, name, where, container, keys in _pod_references(w.pod_spec, w.containers(include_ephemeral=live)):
            if (kind, name) in seen or name in _ALWAYS_PRESENT.get(kind, ()):
                continue
            ns = None if kind == "PriorityClass" else w.namespace
            obj = ctx.snapshot.get(kind, ns, name)
            if obj is None:
                seen.add((kind, name))
                missing.append(f"{kind}/{name} ({where}{', container ' + container if container else ''})")
                first_container = first_container or container
                continue
            if not keys:
                continue
            if id(obj) not in key_sets:
                key_sets[id(obj)] = _known_keys(obj, live)
            have = key_sets[id(obj)]
            if have is None:
                unverified.add(f"{kind}/{name}")
                continue
            for key in keys:
                if key not in have:
                    in_container = f", container {container}" if container else ""
                    no_key.append(f"{kind}/{name} has no key {key!r} ({where}{in_container})")
                    key_container = key_container or container
        if no_key:
            yield ctx.fail(
                w, "; ".join(no_key + missing), container=key_container or first_container, details=no_key + missing
            )
        elif missing:
            yield _missing(ctx, w, "missing " + ", ".join(missing), container=first_container, details=missing)
        elif unverified:
            shown = ", ".join(sorted(unverified))
            why = "a live run never reads Secret data" if live else "they declare no data in these manifests"
            yield ctx.ok(w, f"keys of {shown} not verified: {why}")
        else:
            yield ctx.ok(w)


@check("REL-019")
def statefulset_headless_service(ctx: CheckContext) -> Iterator[Result]:
    """StatefulSet ``spec.serviceName`` must name an existing headless Service that selects its pods.

    Rule (docs/catalogue.md#rel-019): failing when serviceName is empty; a missing Service is failing
    live and a warning on manifests (docs/catalogue.md#conventions); an existing Service fails, with
    every reason named, when it is not headless (``clusterIP: None``) or does not select the
    StatefulSet's pods: no selector (no per-pod DNS records are published then), or a selector that
    does not match the pod template's labels.
    """
    for w in ctx.snapshot.workloads():
        if w.kind != "StatefulSet":
            continue
        name = w.obj.spec.get("serviceName")
        svc = ctx.snapshot.get("Service", w.namespace, name) if name else None
        if not name:
            yield ctx.fail(w, "spec.serviceName is empty", field="spec.serviceName")
            continue
        if svc is None:
            yield _missing(ctx, w, f"Service {name} does not exist")
            continue
        problems = []
        if svc.spec.get("clusterIP") != "None":
            problems.append(f"Service {name} is not headless (clusterIP: None)")
        selector = svc.spec.get("selector")
        if not selector:
            problems.append(f"Service {name} has no selector, so it selects none of the StatefulSet's pods")
        elif not service_selector_matches(selector, w.pod_labels):
            shown = ", ".join(f"{k}={v}" for k, v in selector.items())
            problems.append(f"Service {name} selects {shown}, which does not match the StatefulSet's pod labels")
        if problems:
            yield ctx.fail(w, "; ".join(problems), details=problems)
        else:
            yield ctx.ok(w)
