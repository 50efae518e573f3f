"""Network exposure: NetworkPolicy isolation, default deny, Ingress TLS, Service exposure
(SEC-023 to SEC-026).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from checks.context import CheckContext
from checks.k8s import selector_key
from checks.model import Result, SkipReason
from checks.registry import check
from checks.security.common import _namespace_subject
from checks.snapshot import K8sObject, Workload


def _policy_types(policy: K8sObject) -> set[str]:
    """Effective ``policyTypes`` with Kubernetes defaulting.

    Absent ``policyTypes`` means Ingress, plus Egress when ``spec.egress`` holds at least one rule
    (the API server's defaulting). Rules may be empty: a policy with Ingress and no ingress rules is
    a deny-all for the pods it selects, which still counts as coverage.
    """
    spec = policy.spec
    declared = spec.get("policyTypes")
    if declared:
        return {str(t) for t in declared}
    types = {"Ingress"}
    if spec.get("egress"):
        types.add("Egress")
    return types


def _pod_selector(policy: K8sObject) -> dict[str, Any]:
    # An absent podSelector deserialises to the empty selector, which selects every pod.
    selector = policy.spec.get("podSelector")
    return selector if isinstance(selector, dict) else {}


def _workload_key(w: Workload) -> tuple[str, str | None, str]:
    return (w.kind, w.namespace, w.name)


@check("SEC-023")
def workload_network_isolation(ctx: CheckContext) -> Iterator[Result]:
    """Check that NetworkPolicies in the workload's own namespace select it for ingress and egress.

    Rule (docs/catalogue.md#sec-023): a policy selects a workload when its full ``podSelector`` matches the
    pod-template labels in the same namespace (policies elsewhere never cover). Ingress coverage:
    effective ``policyTypes`` contains Ingress; egress likewise (see ``_policy_types`` for defaulting;
    empty rule lists are deny-all and count). passing: both covered; warning: only one; failing: none;
    skipped(not-applicable): hostNetwork pods, which policies do not apply to.
    Interpretation (docs/catalogue.md#conventions, manifest downgrade): in manifest mode a namespace with no
    NetworkPolicy at all in the run may simply have its policies elsewhere, so "none" is a warning
    there, as it is for workloads whose manifest omits the namespace (the namespace is unknown); it
    stays failing when the run holds policies for that named namespace and none selects the pods.
    """
    snap = ctx.snapshot
    ingress: set[tuple[str, str | None, str]] = set()
    egress: set[tuple[str, str | None, str]] = set()
    namespaces_with_policies: set[str | None] = set()
    seen: set[tuple[str | None, str, frozenset[str]]] = set()
    for policy in snap.of_kind("NetworkPolicy"):
        namespaces_with_policies.add(policy.namespace)
        types = _policy_types(policy)
        selector = _pod_selector(policy)
        # A policy that selects what an earlier one did, for the same directions, covers nothing new.
        key = (policy.namespace, selector_key(selector), frozenset(types))
        if key in seen:
            continue
        seen.add(key)
        for w in snap.select_workloads(policy.namespace, selector):
            if "Ingress" in types:
                ingress.add(_workload_key(w))
            if "Egress" in types:
                egress.add(_workload_key(w))
    for w in snap.workloads():
        if w.pod_spec.get("hostNetwork") is True:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "hostNetwork pods are not subject to NetworkPolicy")
            continue
        key = _workload_key(w)
        has_in, has_out = key in ingress, key in egress
        if has_in and has_out:
            yield ctx.ok(w)
        elif has_in or has_out:
            missing = "Egress" if has_in else "Ingress"
            yield ctx.warn(w, f"selected by NetworkPolicy for {'Ingress' if has_in else 'Egress'} only; "
                              f"{missing} is not restricted", details={"ingress": has_in, "egress": has_out})
        elif not ctx.live and (w.namespace is None or w.namespace not in namespaces_with_policies):
            why = "the manifest omits the namespace" if w.namespace is None else "no NetworkPolicy for this namespace"
            yield ctx.warn(w, f"no NetworkPolicy in these manifests selects it ({why}); isolation cannot be proven",
                           details={"ingress": False, "egress": False})
        else:
            yield ctx.fail(w, "no NetworkPolicy in its namespace selects this workload",
                           details={"ingress": False, "egress": False})


def _is_empty_selector(selector: dict[str, Any]) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


@check("SEC-024")
def namespace_default_deny(ctx: CheckContext) -> Iterator[Result]:
    """Check each namespace that holds workloads for a policy selecting all pods for Ingress.

    Rule (docs/catalogue.md#sec-024): failing: a namespace containing workloads has no NetworkPolicy;
    warning: it has policies but none with an empty ``podSelector: {}`` whose effective policyTypes
    include Ingress; passing otherwise; skipped(not-applicable): namespaces without workloads.
    System namespaces are evaluated like any other; the exemption layer records them.
    Interpretation (docs/catalogue.md#conventions, manifest downgrade): in manifest mode "no NetworkPolicy in the
    run" is a warning, since the namespace's policies may live in other files.
    """
    snap = ctx.snapshot
    workload_count: dict[str | None, int] = defaultdict(int)
    for w in snap.workloads():
        workload_count[w.namespace] += 1
    policies: dict[str | None, list[K8sObject]] = defaultdict(list)
    for policy in snap.of_kind("NetworkPolicy"):
        policies[policy.namespace].append(policy)
    for ns in snap.namespaces():
        subject = _namespace_subject(snap, ns)
        if not workload_count.get(ns):
            yield ctx.skip(subject, SkipReason.NOT_APPLICABLE, "namespace holds no workloads")
            continue
        ns_policies = policies.get(ns, [])
        if not ns_policies:
            if ctx.live:
                yield ctx.fail(subject, "namespace has workloads but no NetworkPolicy")
            else:
                yield ctx.warn(subject, "no NetworkPolicy for this namespace in these manifests")
            continue
        deny = [p.name for p in ns_policies if _is_empty_selector(_pod_selector(p)) and "Ingress" in _policy_types(p)]
        if deny:
            yield ctx.ok(subject, f"namespace-wide ingress policy: {', '.join(deny)}")
        else:
            yield ctx.warn(
                subject,
                "NetworkPolicies exist but none selects every pod (podSelector: {}) for Ingress",
                details=[p.name for p in ns_policies],
            )


def _host_covered(host: str, tls_hosts: set[str]) -> bool:
    if host in tls_hosts:
        return True
    # A TLS wildcard covers exactly one DNS label, as certificates do.
    parts = host.split(".", 1)
    return len(parts) == 2 and f"*.{parts[1]}" in tls_hosts


@check("SEC-025")
def ingress_tls(ctx: CheckContext) -> Iterator[Result]:
    """Fail an Ingress without ``spec.tls``; warn when some rule host is not covered by a TLS entry.

    Rule (docs/catalogue.md#sec-025): failing: ``spec.tls`` empty; warning: a ``spec.rules[].host`` not listed
    in any ``tls[].hosts`` (a ``*.domain`` TLS host covers one label); passing otherwise. Rules without
    a host are not compared.
    """
    for ing in ctx.snapshot.of_kind("Ingress"):
        tls = [t for t in ing.spec.get("tls") or [] if isinstance(t, dict)]
        if not tls:
            yield ctx.fail(ing, "no spec.tls: served over plain HTTP")
            continue
        tls_hosts = {str(h).lower() for t in tls for h in t.get("hosts") or []}
        rules = [r for r in ing.spec.get("rules") or [] if isinstance(r, dict)]
        hosts = [str(r["host"]).lower() for r in rules if r.get("host")]
        uncovered = sorted({h for h in hosts if not _host_covered(h, tls_hosts)})
        if uncovered:
            yield ctx.warn(ing, f"host(s) not covered by spec.tls: {', '.join(uncovered)}", details=uncovered)
        else:
            yield ctx.ok(ing)


# Annotation -> values (lower-case) that make a cloud load balancer internal.
_INTERNAL_LB_ANNOTATIONS: dict[str, tuple[str, ...]] = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": ("true", "0.0.0.0/0"),
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ("internal",),
    "service.beta.kubernetes.io/azure-load-balancer-internal": ("true",),
    "networking.gke.io/load-balancer-type": ("internal",),
    "cloud.google.com/load-balancer-type": ("internal",),
    "service.beta.kubernetes.io/oci-load-balancer-internal": ("true",),
    "service.beta.kubernetes.io/openstack-internal-load-balancer": ("true",),
    "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": ("private",),
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": ("intranet",),
}


_SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def _internal_lb(svc: K8sObject) -> bool:
    ann = svc.annotations
    return any(str(ann.get(k, "")).strip().lower() in values for k, values in _INTERNAL_LB_ANNOTATIONS.items())


@check("SEC-026")
def service_exposure(ctx: CheckContext) -> Iterator[Result]:
    """Grade how far a Service exposes its pods.

    Rule (docs/catalogue.md#sec-026): failing: ``spec.externalIPs`` set; warning: NodePort; warning:
    LoadBalancer that is not internal (by the cloud providers' internal-LB annotations) and has no
    ``loadBalancerSourceRanges`` (field or annotation); passing: ClusterIP, headless, ExternalName,
    internal or source-restricted load balancers.
    """
    for svc in ctx.snapshot.of_kind("Service"):
        spec = svc.spec
        kind = spec.get("type") or "ClusterIP"
        if spec.get("externalIPs"):
            yield ctx.fail(svc, "spec.externalIPs is set (CVE-2020-8554 traffic interception)",
                           details=list(spec["externalIPs"]))
        elif kind == "NodePort":
            yield ctx.warn(svc, "NodePort Service is reachable on every node's address")
        elif kind == "LoadBalancer":
            restricted = spec.get("loadBalancerSourceRanges") or str(
                svc.annotations.get(_SOURCE_RANGES_ANNOTATION, "")
            ).strip()
            if _internal_lb(svc) or restricted:
                yield ctx.ok(svc)
            else:
                yield ctx.warn(svc, "internet-facing LoadBalancer without loadBalancerSourceRanges")
        else:
            yield ctx.ok(svc)
