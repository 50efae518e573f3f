"""Security pillar checks about identities, RBAC, networking and exposure (SEC-017 onwards).

Shared reading of the RBAC and NetworkPolicy objects lives in the private helpers at the top, so
every check resolves bindings, roles and policy types the same way and builds its indexes once.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from fnmatch import fnmatch
from typing import Any

from checks.context import CheckContext
from checks.k8s import parse_image
from checks.model import Result, SkipReason
from checks.registry import check
from checks.snapshot import WORKLOAD_KINDS, K8sObject, Snapshot, Workload

W = WORKLOAD_KINDS  # the catalogue's workload kinds (§2.1)
BINDINGS = ("RoleBinding", "ClusterRoleBinding")
ROLES = ("Role", "ClusterRole")


# ---- shared helpers ---------------------------------------------------------------------------

def _service_account_name(w: Workload) -> str:
    """``serviceAccountName``, else the deprecated ``serviceAccount``, else ``default``."""
    spec = w.pod_spec
    return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"


def _subjects(binding: K8sObject) -> list[dict[str, Any]]:
    return [s for s in binding.raw.get("subjects") or [] if isinstance(s, dict)]


def _role_ref(binding: K8sObject) -> dict[str, Any]:
    return binding.raw.get("roleRef") or {}


def _sa_subject_namespace(binding: K8sObject, subject: dict[str, Any]) -> str | None:
    # A RoleBinding may omit a ServiceAccount subject's namespace: it defaults to the binding's.
    return subject.get("namespace") or binding.namespace


def _sa_binding_index(snap: Snapshot) -> dict[tuple[str | None, str], list[K8sObject]]:
    """``(namespace, sa name) -> bindings`` that grant that ServiceAccount a role, built once.

    Direct ServiceAccount subjects always count. The groups ``system:serviceaccounts`` and
    ``system:serviceaccounts:<ns>`` also make every (namespace's) ServiceAccount a subject; they are
    indexed under the name ``*`` and only when the bound role is not a built-in ``system:`` role,
    because every cluster binds discovery roles to those groups and that grants nothing worth a token.
    """
    index: dict[tuple[str | None, str], list[K8sObject]] = defaultdict(list)
    for binding in snap.of_kind(*BINDINGS):
        system_role = str(_role_ref(binding).get("name") or "").startswith("system:")
        for s in _subjects(binding):
            kind, name = s.get("kind"), str(s.get("name") or "")
            if kind == "ServiceAccount" and name:
                index[(_sa_subject_namespace(binding, s), name)].append(binding)
            elif kind == "Group" and not system_role:
                if name == "system:serviceaccounts":
                    index[("*", "*")].append(binding)
                elif name.startswith("system:serviceaccounts:"):
                    index[(name.split(":", 2)[2], "*")].append(binding)
    return index


def _bindings_for_sa(
    index: dict[tuple[str | None, str], list[K8sObject]], namespace: str | None, name: str
) -> list[K8sObject]:
    return index.get((namespace, name), []) + index.get((namespace, "*"), []) + index.get(("*", "*"), [])


def _is_system_name(name: str) -> bool:
    return name.startswith("system:")


def _subject_label(binding: K8sObject, s: dict[str, Any]) -> str:
    kind = s.get("kind") or "?"
    ns = _sa_subject_namespace(binding, s) if kind == "ServiceAccount" else None
    return f"{kind} {ns}/{s.get('name') or '?'}" if ns else f"{kind} {s.get('name') or '?'}"


def _non_system_subjects(binding: K8sObject) -> list[str]:
    return [_subject_label(binding, s) for s in _subjects(binding) if not _is_system_name(str(s.get("name") or ""))]


def _resolve_role(snap: Snapshot, binding: K8sObject) -> K8sObject | None:
    ref = _role_ref(binding)
    kind, name = ref.get("kind") or "ClusterRole", ref.get("name") or ""
    if kind == "Role":
        return snap.get("Role", binding.namespace, name)
    return snap.get("ClusterRole", None, name)


def _rules(role: K8sObject) -> list[dict[str, Any]]:
    return [r for r in role.raw.get("rules") or [] if isinstance(r, dict)]


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


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


def _namespace_subject(snap: Snapshot, namespace: str) -> K8sObject:
    """The Namespace object, or a stand-in when manifests reference a namespace they never define."""
    obj = snap.get("Namespace", None, namespace)
    if obj is not None:
        return obj
    return K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


def _workload_key(w: Workload) -> tuple[str, str | None, str]:
    return (w.kind, w.namespace, w.name)


# ---- SEC-017 ----------------------------------------------------------------------------------

@check(
    id="SEC-017",
    pillar="security",
    name="ServiceAccount token automounted",
    severity="medium",
    description="A mounted ServiceAccount token lets anyone who compromises the container call the "
    "Kubernetes API with the ServiceAccount's permissions; most applications never need it.",
    remediation="Set automountServiceAccountToken: false on the pod spec (or on the ServiceAccount) "
    "unless the application talks to the Kubernetes API; then give it a dedicated, minimal role.",
    mode="manifest",
    requires=(*W, "ServiceAccount", *BINDINGS),
    peers={
        "polaris": ("automountServiceAccountToken",),
        "checkov": ("CKV_K8S_38",),
        "kubescape": ("C-0034", "C-0190", "C-0261"),
        "trivy": ("KSV-0036",),
        "popeye": ("POP-301", "POP-303"),
    },
)
def service_account_token_automount(ctx: CheckContext) -> Iterator[Result]:
    """Report workloads that mount a ServiceAccount token, failing when that token carries RBAC grants.

    Rule (catalogue SEC-017): effective automount = ``pod.automountServiceAccountToken`` ??
    ``ServiceAccount.automountServiceAccountToken`` ?? ``true`` (the pod field wins whenever it is
    set, in either direction). passing: effective false; failing: effective true and the SA is a
    subject of any (Cluster)RoleBinding; warning: effective true and no binding was found (in
    manifest mode the bindings may simply not be part of the run). The binding index is built once.
    """
    snap = ctx.snap
    bindings = _sa_binding_index(snap)
    for w in snap.workloads():
        sa_name = _service_account_name(w)
        pod_value = w.pod_spec.get("automountServiceAccountToken")
        sa = snap.get("ServiceAccount", w.namespace, sa_name)
        sa_value = sa.raw.get("automountServiceAccountToken") if sa is not None else None
        if pod_value is not None:
            effective, source = bool(pod_value), "pod spec"
        elif sa_value is not None:
            effective, source = bool(sa_value), f"ServiceAccount {sa_name}"
        else:
            effective, source = True, "Kubernetes default"
        if not effective:
            yield ctx.ok(w, f"token not mounted (automountServiceAccountToken: false on the {source})")
            continue
        granted = _bindings_for_sa(bindings, w.namespace, sa_name)
        if granted:
            names = sorted({b.ref for b in granted})
            yield ctx.fail(
                w,
                f"ServiceAccount {sa_name} token is mounted ({source}) and is bound by {', '.join(names)}",
                details={"serviceAccount": sa_name, "automountFrom": source, "bindings": names},
            )
        else:
            yield ctx.warn(
                w,
                f"ServiceAccount {sa_name} token is mounted ({source}); no RoleBinding or ClusterRoleBinding "
                "grants it a role" + ("" if ctx.live else " in these manifests"),
                details={"serviceAccount": sa_name, "automountFrom": source, "bindings": []},
            )


# ---- SEC-018 ----------------------------------------------------------------------------------

@check(
    id="SEC-018",
    pillar="security",
    name="Default ServiceAccount in use",
    severity="medium",
    description="Every pod that names no ServiceAccount runs as its namespace's `default` one, so "
    "permissions granted to `default` leak to every such workload and audit logs cannot tell them apart.",
    remediation="Create a dedicated ServiceAccount per workload, never bind roles to `default`, and set "
    "automountServiceAccountToken: false on each namespace's `default` ServiceAccount.",
    mode="manifest",
    requires=(*W, "ServiceAccount", *BINDINGS),
    peers={
        "checkov": ("CKV_K8S_41", "CKV_K8S_42"),
        "kube-linter": ("default-service-account",),
        "kubescape": ("C-0189",),
        "popeye": ("POP-300", "POP-308"),
    },
)
def default_service_account(ctx: CheckContext) -> Iterator[Result]:
    """Flag roles bound to `default` ServiceAccounts, workloads running as one, and `default` SAs that automount.

    Rule (catalogue SEC-018), one result per evaluated object:
    - (Cluster)RoleBinding: failing when a subject is a ServiceAccount named ``default``; passing otherwise;
    - workload: warning when it runs as ``default`` (``serviceAccountName`` unset counts); passing otherwise;
    - ServiceAccount ``default``: warning unless ``automountServiceAccountToken: false``; passing otherwise.
    """
    snap = ctx.snap
    for binding in snap.of_kind(*BINDINGS):
        defaults = [
            _subject_label(binding, s)
            for s in _subjects(binding)
            if s.get("kind") == "ServiceAccount" and s.get("name") == "default"
        ]
        if defaults:
            role = _role_ref(binding)
            yield ctx.fail(
                binding,
                f"grants {role.get('kind', 'role')} {role.get('name', '?')} to {', '.join(defaults)}",
                details=defaults,
            )
        else:
            yield ctx.ok(binding)
    for w in snap.workloads():
        if _service_account_name(w) == "default":
            yield ctx.warn(w, "runs as the namespace's default ServiceAccount (serviceAccountName unset or 'default')")
        else:
            yield ctx.ok(w)
    for sa in snap.of_kind("ServiceAccount"):
        if sa.name != "default":
            continue
        if sa.raw.get("automountServiceAccountToken") is False:
            yield ctx.ok(sa)
        else:
            yield ctx.warn(sa, "default ServiceAccount does not set automountServiceAccountToken: false")


# ---- SEC-019 ----------------------------------------------------------------------------------

@check(
    id="SEC-019",
    pillar="security",
    name="Secrets exposed as env vars",
    severity="low",
    description="Environment variables leak easily (crash dumps, child processes, `kubectl describe`, "
    "debug endpoints) and cannot be rotated without a restart; mounted secret files avoid both.",
    remediation="Mount the Secret as a volume (readOnly) and read the file, or use a CSI secrets driver.",
    mode="manifest",
    requires=W,
    peers={
        "checkov": ("CKV_K8S_35",),
        "kube-linter": ("read-secret-from-env-var",),
        "kubescape": ("C-0207",),
    },
)
def secrets_in_env(ctx: CheckContext) -> Iterator[Result]:
    """Warn on any container that takes a Secret through ``env[].valueFrom.secretKeyRef`` or ``envFrom[].secretRef``.

    Rule (catalogue SEC-019): warning if present in any container of C; passing otherwise. Only env
    var and Secret names are reported.
    """
    for w in ctx.snap.workloads():
        found: list[str] = []
        first: str | None = None
        for c in w.containers(include_ephemeral=ctx.live):
            cname = c.get("name", "?")
            hits = []
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    hits.append(f"{cname}: env {env.get('name', '?')} from Secret {ref.get('name', '?')}")
            for src in c.get("envFrom") or []:
                ref = src.get("secretRef")
                if ref:
                    hits.append(f"{cname}: envFrom Secret {ref.get('name', '?')}")
            if hits and first is None:
                first = cname
            found += hits
        if found:
            yield ctx.warn(w, f"Secret(s) exposed as environment variables: {'; '.join(found)}", container=first,
                           details=found)
        else:
            yield ctx.ok(w)


# ---- SEC-020 / SEC-021 ------------------------------------------------------------------------

_SENSITIVE_NAME = re.compile(
    r"(?i)(passw(or)?d|pwd|secret|token|api[_-]?key|private[_-]?key|credential|bearer|AWS_SECRET_ACCESS_KEY)"
)
# Labels, never matches, go into results: a secret value must not reach a report or the database.
_SENSITIVE_VALUES = (
    (re.compile(r"BEGIN .*PRIVATE KEY"), "private key"),
    (re.compile(r"AKIA[0-9A-Z]{16}"), "AWS access key id"),
    (re.compile(r"eyJhbGciO"), "JWT"),
    (re.compile(r"ghp_[0-9A-Za-z]{36}"), "GitHub token"),
)
_ENV_REFERENCE = re.compile(r"^\s*(\$\([A-Za-z_][A-Za-z0-9_.-]*\)\s*)+$")


def _value_findings(value: str) -> list[str]:
    return [label for pattern, label in _SENSITIVE_VALUES if pattern.search(value)]


def _credential_reasons(name: str, value: str) -> list[str]:
    """Why ``name=value`` looks like a hard-coded credential (labels only, never the value)."""
    reasons = _value_findings(value)
    # An empty value or a pure $(VAR) reference holds no credential, whatever the name says.
    if value.strip() and not _ENV_REFERENCE.match(value) and _SENSITIVE_NAME.search(name):
        reasons.insert(0, "sensitive name")
    return reasons


@check(
    id="SEC-020",
    pillar="security",
    name="Hard-coded credentials in env",
    severity="high",
    description="A credential written as a literal env value lives in Git, in every rendered manifest and in "
    "the API server's object store in clear text, readable by anyone who can read the workload.",
    remediation="Move the value into a Secret (or an external secret store) and reference it; rotate the "
    "exposed credential.",
    mode="manifest",
    requires=W,
    peers={
        "polaris": ("sensitiveContainerEnvVar",),
        "kube-linter": ("env-var-secret",),
        "kubescape": ("C-0012",),
    },
)
def hardcoded_env_credentials(ctx: CheckContext) -> Iterator[Result]:
    """Fail workloads with a literal env ``value`` that looks like a credential.

    Rule (catalogue SEC-020): ``C[].env[]`` with a literal ``value`` whose name matches the sensitive
    name pattern, or whose value matches a private key / AWS key id / JWT / GitHub token pattern.
    Interpretation: an empty value or a value made only of ``$(VAR)`` references is not a literal
    credential, so the name pattern alone does not fail it. Messages and details carry the env var
    NAME and the kind of match only, never the value.
    """
    for w in ctx.snap.workloads():
        found: list[dict[str, Any]] = []
        for c in w.containers(include_ephemeral=ctx.live):
            for env in c.get("env") or []:
                if "value" not in env or env.get("valueFrom"):
                    continue
                value = env.get("value")
                reasons = _credential_reasons(str(env.get("name") or ""), "" if value is None else str(value))
                if reasons:
                    found.append({"container": c.get("name", "?"), "env": env.get("name", "?"), "matched": reasons})
        if found:
            names = ", ".join(f"{f['container']}/{f['env']}" for f in found)
            yield ctx.fail(w, f"literal credential-like env var(s): {names}", container=found[0]["container"],
                           details=found)
        else:
            yield ctx.ok(w)


def _decoded(value: Any) -> str:
    try:
        return base64.b64decode(str(value), validate=False).decode("utf-8", errors="ignore")
    except (binascii.Error, ValueError):
        return ""


@check(
    id="SEC-021",
    pillar="security",
    name="Sensitive data in ConfigMap",
    severity="high",
    description="ConfigMaps are not meant for secrets: they are readable by far more roles than Secrets, "
    "are never encrypted at rest, and show up in logs and dumps.",
    remediation="Move the sensitive keys into a Secret (or an external secret store) and rotate them.",
    mode="manifest",
    requires=("ConfigMap",),
    peers={
        "polaris": ("sensitiveConfigmapContent",),
        "kubescape": ("C-0012",),
        "trivy": ("KSV-0109", "KSV-01010"),
    },
)
def configmap_sensitive_data(ctx: CheckContext) -> Iterator[Result]:
    """Fail ConfigMaps whose keys or values look like credentials.

    Rule (catalogue SEC-021): ``data``/``binaryData`` keys matching the sensitive name pattern (with a
    non-empty value, as in SEC-020) or values matching the private key / AWS key id / JWT / GitHub
    token patterns (``binaryData`` is base64-decoded first). Only key names and match kinds are
    reported, never values.
    """
    for cm in ctx.snap.of_kind("ConfigMap"):
        found: list[dict[str, Any]] = []
        for section in ("data", "binaryData"):
            entries = cm.raw.get(section) or {}
            if not isinstance(entries, dict):
                continue
            for key, value in entries.items():
                text = "" if value is None else str(value)
                if section == "binaryData":
                    text = _decoded(text)
                reasons = _credential_reasons(str(key), text)
                if reasons:
                    found.append({"section": section, "key": str(key), "matched": reasons})
        if found:
            keys = ", ".join(f["key"] for f in found)
            yield ctx.fail(cm, f"credential-like key(s): {keys}", details=found)
        else:
            yield ctx.ok(cm)


# ---- SEC-022 ----------------------------------------------------------------------------------

_DEPRECATED_REGISTRIES = ("k8s.gcr.io",)
_DOCKER_HUB_ALIASES = ("docker.io", "index.docker.io", "registry-1.docker.io")


def _registry_allowed(registry: str, repository: str, allow: Iterable[str]) -> bool:
    """An entry matches the registry host (globs allowed) or a ``registry/path`` prefix."""
    host = "docker.io" if registry in _DOCKER_HUB_ALIASES else registry
    full = f"{host}/{repository}"
    for entry in allow:
        entry = str(entry).strip().rstrip("/")
        if not entry:
            continue
        if entry in _DOCKER_HUB_ALIASES:
            entry = "docker.io"
        if fnmatch(host, entry) or full == entry or full.startswith(entry + "/") or fnmatch(full, entry):
            return True
    return False


@check(
    id="SEC-022",
    pillar="security",
    name="Image provenance",
    severity="medium",
    description="Images from registries you do not control, or referenced by a movable tag, can change "
    "under you; k8s.gcr.io is frozen and no longer receives images or fixes.",
    remediation="Pull only from the approved registries (mirror what you need), pin images by digest, "
    "and move k8s.gcr.io images to registry.k8s.io.",
    mode="manifest",
    requires=W,
    peers={
        "checkov": ("CKV_K8S_43",),
        "kubescape": ("C-0001", "C-0078", "C-0253", "C-0306"),
        "trivy": ("KSV-0125",),
        "popeye": ("POP-113",),
    },
)
def image_provenance(ctx: CheckContext) -> Iterator[Result]:
    """Check every image of C against the registry allow-list, the digest option and deprecated registries.

    Rule (catalogue SEC-022): failing when a registry is not in ``registry_allow_list`` (entries are
    registry hosts, globs, or ``registry/path`` prefixes; only when the list is configured); warning
    for the deprecated ``k8s.gcr.io`` (always); warning for images not pinned by digest when
    ``require_digest`` is on; skipped(not-applicable) when no allow-list is configured and the digest
    option is off, unless the deprecated-registry warning applies; passing otherwise.
    """
    allow = [str(a) for a in ctx.setting("registry_allow_list", []) or []]
    require_digest = bool(ctx.setting("require_digest", False))
    for w in ctx.snap.workloads():
        failures: list[str] = []
        warnings: list[str] = []
        first_fail: str | None = None
        first_warn: str | None = None
        for c in w.containers(include_ephemeral=ctx.live):
            image = c.get("image")
            if not image:
                continue
            cname = c.get("name", "?")
            ref = parse_image(str(image))
            if allow and not _registry_allowed(ref.registry, ref.repository, allow):
                failures.append(f"{cname}: {image} (registry {ref.registry} not allowed)")
                first_fail = first_fail or cname
            if ref.registry in _DEPRECATED_REGISTRIES:
                warnings.append(f"{cname}: {image} (deprecated registry {ref.registry}; use registry.k8s.io)")
                first_warn = first_warn or cname
            if require_digest and ref.digest is None:
                warnings.append(f"{cname}: {image} (not pinned by digest)")
                first_warn = first_warn or cname
        if failures:
            yield ctx.fail(w, "; ".join(failures + warnings), container=first_fail, details=failures + warnings)
        elif warnings:
            yield ctx.warn(w, "; ".join(warnings), container=first_warn, details=warnings)
        elif not allow and not require_digest:
            yield ctx.skip(w, SkipReason.NOT_APPLICABLE, "no registry allow-list configured and require_digest is off")
        else:
            yield ctx.ok(w)


# ---- SEC-023 ----------------------------------------------------------------------------------

@check(
    id="SEC-023",
    pillar="security",
    name="Workload not isolated by NetworkPolicy",
    severity="medium",
    description="Pods no NetworkPolicy selects accept traffic from, and send traffic to, anything in the "
    "cluster: one compromised pod can reach every other.",
    remediation="Add NetworkPolicies that select the workload's pods for both Ingress and Egress (a "
    "namespace default-deny plus explicit allows).",
    mode="manifest",
    requires=(*W, "NetworkPolicy"),
    peers={
        "polaris": ("missingNetworkPolicy",),
        "kube-score": ("pod-networkpolicy",),
        "checkov": ("CKV2_K8S_6",),
        "kube-linter": ("non-isolated-pod",),
        "kubescape": ("C-0260", "C-0030"),
        "popeye": ("POP-1204", "POP-1205"),
    },
)
def workload_network_isolation(ctx: CheckContext) -> Iterator[Result]:
    """Check that NetworkPolicies in the workload's own namespace select it for ingress and egress.

    Rule (catalogue SEC-023): a policy selects a workload when its full ``podSelector`` matches the
    pod-template labels in the same namespace (policies elsewhere never cover). Ingress coverage:
    effective ``policyTypes`` contains Ingress; egress likewise (see ``_policy_types`` for defaulting;
    empty rule lists are deny-all and count). passing: both covered; warning: only one; failing: none;
    skipped(not-applicable): hostNetwork pods, which policies do not apply to.
    Interpretation (catalogue §2.1 manifest downgrade): in manifest mode a namespace with no
    NetworkPolicy at all in the run may simply have its policies elsewhere, so "none" is a warning
    there, as it is for workloads whose manifest omits the namespace (the namespace is unknown); it
    stays failing when the run holds policies for that named namespace and none selects the pods.
    """
    snap = ctx.snap
    ingress: set[tuple[str, str | None, str]] = set()
    egress: set[tuple[str, str | None, str]] = set()
    namespaces_with_policies: set[str | None] = set()
    for policy in snap.of_kind("NetworkPolicy"):
        namespaces_with_policies.add(policy.namespace)
        types = _policy_types(policy)
        for w in snap.select_workloads(policy.namespace, _pod_selector(policy)):
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


# ---- SEC-024 ----------------------------------------------------------------------------------

def _is_empty_selector(selector: dict[str, Any]) -> bool:
    return not selector.get("matchLabels") and not selector.get("matchExpressions")


@check(
    id="SEC-024",
    pillar="security",
    name="Namespace without default-deny NetworkPolicy",
    severity="medium",
    description="Without a namespace-wide default-deny policy every new workload starts fully reachable "
    "until someone remembers to write its policy.",
    remediation="Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules in "
    "each application namespace, then allow the flows each workload needs.",
    mode="manifest",
    requires=("Namespace", "NetworkPolicy", *W),
    peers={"kubescape": ("C-0206", "C-0054", "C-0049")},
)
def namespace_default_deny(ctx: CheckContext) -> Iterator[Result]:
    """Check each namespace that holds workloads for a policy selecting all pods for Ingress.

    Rule (catalogue SEC-024): failing: a namespace containing workloads has no NetworkPolicy;
    warning: it has policies but none with an empty ``podSelector: {}`` whose effective policyTypes
    include Ingress; passing otherwise; skipped(not-applicable): namespaces without workloads.
    System namespaces are evaluated like any other; the exemption layer records them.
    Interpretation (catalogue §2.1 manifest downgrade): in manifest mode "no NetworkPolicy in the
    run" is a warning, since the namespace's policies may live in other files.
    """
    snap = ctx.snap
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


# ---- SEC-025 ----------------------------------------------------------------------------------

def _host_covered(host: str, tls_hosts: set[str]) -> bool:
    if host in tls_hosts:
        return True
    # A TLS wildcard covers exactly one DNS label, as certificates do.
    parts = host.split(".", 1)
    return len(parts) == 2 and f"*.{parts[1]}" in tls_hosts


@check(
    id="SEC-025",
    pillar="security",
    name="Ingress without TLS",
    severity="medium",
    description="An Ingress without TLS serves its hosts over plain HTTP: credentials and session cookies "
    "cross the network readable and modifiable.",
    remediation="Add spec.tls entries (with a certificate Secret, e.g. from cert-manager) covering every "
    "host in spec.rules.",
    mode="manifest",
    requires=("Ingress",),
    peers={"polaris": ("tlsSettingsMissing",), "kubescape": ("C-0263",)},
)
def ingress_tls(ctx: CheckContext) -> Iterator[Result]:
    """Fail an Ingress without ``spec.tls``; warn when some rule host is not covered by a TLS entry.

    Rule (catalogue SEC-025): failing: ``spec.tls`` empty; warning: a ``spec.rules[].host`` not listed
    in any ``tls[].hosts`` (a ``*.domain`` TLS host covers one label); passing otherwise. Rules without
    a host are not compared.
    """
    for ing in ctx.snap.of_kind("Ingress"):
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


# ---- SEC-026 ----------------------------------------------------------------------------------

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


@check(
    id="SEC-026",
    pillar="security",
    name="Risky Service exposure",
    severity="medium",
    description="externalIPs let a Service capture traffic for arbitrary IPs (CVE-2020-8554); NodePorts and "
    "unrestricted internet-facing load balancers expose workloads beyond the cluster.",
    remediation="Remove spec.externalIPs (and block them with an admission policy); prefer ClusterIP behind "
    "an Ingress; make load balancers internal or restrict loadBalancerSourceRanges.",
    mode="manifest",
    requires=("Service",),
    peers={
        "kube-score": ("service-type",),
        "kube-linter": ("exposed-services",),
        "kubescape": ("C-0256",),
        "trivy": ("KSV-0108",),
        "popeye": ("POP-1103", "POP-1104"),
    },
)
def service_exposure(ctx: CheckContext) -> Iterator[Result]:
    """Grade how far a Service exposes its pods.

    Rule (catalogue SEC-026): failing: ``spec.externalIPs`` set; warning: NodePort; warning:
    LoadBalancer that is not internal (by the cloud providers' internal-LB annotations) and has no
    ``loadBalancerSourceRanges`` (field or annotation); passing: ClusterIP, headless, ExternalName,
    internal or source-restricted load balancers.
    """
    for svc in ctx.snap.of_kind("Service"):
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


# ---- SEC-027 ----------------------------------------------------------------------------------

_BUILTIN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit"})


def _builtin_role(role: K8sObject) -> bool:
    if _is_system_name(role.name):
        return True
    if role.kind != "ClusterRole":
        return False
    return role.name in _BUILTIN_CLUSTER_ROLES or bool(role.raw.get("aggregationRule"))


@check(
    id="SEC-027",
    pillar="security",
    name="Wildcard RBAC rules",
    severity="high",
    description="A `*` in verbs or resources grants every current and future permission in its scope, "
    "including ones added by CRDs later, which defeats least privilege.",
    remediation="List the exact verbs, resources and API groups the role needs.",
    mode="manifest",
    requires=ROLES,
    peers={
        "checkov": ("CKV_K8S_49",),
        "kube-linter": ("wildcard-in-rules",),
        "kubescape": ("C-0187",),
        "trivy": ("KSV-0044", "KSV-0045", "KSV-0046", "KSV-0112"),
    },
)
def wildcard_rbac(ctx: CheckContext) -> Iterator[Result]:
    """Inspect every rule of every Role/ClusterRole for ``*``.

    Rule (catalogue SEC-027): failing when any rule has ``*`` in verbs or resources; a rule with both
    is the critical case, noted in the message and ``details[].critical`` (severity is per check);
    warning when ``*`` appears only in apiGroups; skipped(exempt:built-in-role) for ``cluster-admin``,
    ``admin``, ``edit``, any ``system:*`` role and aggregated ClusterRoles. All rules are inspected,
    unlike Checkov's rules[0].
    """
    for role in ctx.snap.of_kind(*ROLES):
        if _builtin_role(role):
            yield ctx.skip(role, SkipReason.EXEMPT_PREFIX + "built-in-role", "built-in or aggregated role")
            continue
        bad: list[dict[str, Any]] = []
        group_only: list[dict[str, Any]] = []
        for i, rule in enumerate(_rules(role)):
            verbs, resources = _as_list(rule.get("verbs")), _as_list(rule.get("resources"))
            groups = _as_list(rule.get("apiGroups"))
            entry = {"rule": i, "apiGroups": groups, "resources": resources, "verbs": verbs}
            if "*" in verbs or "*" in resources:
                entry["critical"] = "*" in verbs and "*" in resources
                bad.append(entry)
            elif "*" in groups:
                group_only.append(entry)
        if bad:
            critical = [e["rule"] for e in bad if e["critical"]]
            msg = f"wildcard in verbs or resources in rule(s) {', '.join(str(e['rule']) for e in bad)}"
            if critical:
                msg += f"; critical: rule(s) {', '.join(map(str, critical))} grant * verbs on * resources"
            yield ctx.fail(role, msg, details=bad + group_only)
        elif group_only:
            yield ctx.warn(role, f"wildcard apiGroups in rule(s) {', '.join(str(e['rule']) for e in group_only)}",
                           details=group_only)
        else:
            yield ctx.ok(role)


# ---- SEC-028 ----------------------------------------------------------------------------------

def _full_wildcard(role: K8sObject) -> bool:
    return any("*" in _as_list(r.get("verbs")) and "*" in _as_list(r.get("resources")) for r in _rules(role))


@check(
    id="SEC-028",
    pillar="security",
    name="cluster-admin granted to non-system subjects",
    severity="high",
    description="cluster-admin (or any role with * verbs on * resources) is full control of the cluster; "
    "every extra holder is a path to total compromise.",
    remediation="Bind a narrowly scoped role instead; keep cluster-admin for break-glass access through "
    "system:masters credentials that are stored offline.",
    mode="manifest",
    requires=(*BINDINGS, *ROLES),
    peers={
        "polaris": (
            "clusterrolebindingClusterAdmin",
            "rolebindingClusterAdminClusterRole",
            "rolebindingClusterAdminRole",
        ),
        "kube-linter": ("cluster-admin-role-binding",),
        "kubescape": ("C-0035", "C-0185", "C-0272"),
        "trivy": ("KSV-0111",),
    },
)
def cluster_admin_binding(ctx: CheckContext) -> Iterator[Result]:
    """Fail bindings that hand cluster-admin-equivalent roles to subjects outside ``system:``.

    Rule (catalogue SEC-028): a (Cluster)RoleBinding whose roleRef is ``cluster-admin`` or resolves to
    a (Cluster)Role with a rule that has ``*`` verbs on ``*`` resources fails for any subject whose
    name does not start with ``system:`` (so kubeadm's cluster-admin → Group system:masters binding
    passes); every other binding passes. ServiceAccount subjects are named by their own name, so they
    are never ``system:``.
    """
    snap = ctx.snap
    for binding in snap.of_kind(*BINDINGS):
        ref = _role_ref(binding)
        role = _resolve_role(snap, binding)
        admin = (ref.get("kind", "ClusterRole") == "ClusterRole" and ref.get("name") == "cluster-admin") or (
            role is not None and _full_wildcard(role)
        )
        if not admin:
            yield ctx.ok(binding)
            continue
        offenders = _non_system_subjects(binding)
        if offenders:
            yield ctx.fail(binding, f"grants {ref.get('kind', 'ClusterRole')} {ref.get('name', '?')} (cluster-admin "
                                    f"equivalent) to {', '.join(offenders)}", details=offenders)
        else:
            yield ctx.ok(binding, "cluster-admin held by system subjects only")


# ---- SEC-029 ----------------------------------------------------------------------------------

_WRITE = frozenset({"create", "update", "patch", "delete", "deletecollection"})
_WORKLOAD_RESOURCES = (
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("extensions", "deployments"),
    ("extensions", "daemonsets"),
    ("extensions", "replicasets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
)
# (label, [(apiGroup, resource)], verbs or None for any verb)
_HIGH_RISK: tuple[tuple[str, tuple[tuple[str, str], ...], frozenset[str] | None], ...] = (
    ("pods/exec", (("", "pods/exec"),), frozenset({"create", "get"})),
    ("pods/attach", (("", "pods/attach"),), frozenset({"create", "get"})),
    ("pods/portforward", (("", "pods/portforward"),), frozenset({"create", "get"})),
    ("create pods or workloads", _WORKLOAD_RESOURCES, frozenset({"create"})),
    ("bind/escalate roles", (("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "clusterroles")),
     frozenset({"bind", "escalate"})),
    ("impersonate", (("", "users"), ("", "groups"), ("", "serviceaccounts"), ("authentication.k8s.io", "userextras"),
                     ("authentication.k8s.io", "uids")), frozenset({"impersonate"})),
    ("nodes/proxy", (("", "nodes/proxy"),), None),
    ("serviceaccounts/token create", (("", "serviceaccounts/token"),), frozenset({"create"})),
    ("admission webhook write", (("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
                                 ("admissionregistration.k8s.io", "mutatingwebhookconfigurations")), _WRITE),
    ("certificatesigningrequests/approval update", (("certificates.k8s.io", "certificatesigningrequests/approval"),),
     frozenset({"update", "patch"})),
    ("persistentvolumes create", (("", "persistentvolumes"),), frozenset({"create"})),
)
_SECRET_READ = frozenset({"get", "list", "watch"})


def _resource_matches(rule_resource: str, wanted: str) -> bool:
    if rule_resource in ("*", wanted):
        return True
    # RBAC supports "*/subresource" for one subresource of every resource.
    if rule_resource.startswith("*/") and "/" in wanted:
        return wanted.split("/", 1)[1] == rule_resource[2:]
    return False


def _rule_grants(rule: dict[str, Any], targets: Iterable[tuple[str, str]], verbs: frozenset[str] | None) -> bool:
    rule_verbs = set(_as_list(rule.get("verbs")))
    rule_groups = set(_as_list(rule.get("apiGroups")))
    rule_resources = _as_list(rule.get("resources"))
    if not rule_verbs:
        return False
    if verbs is not None and "*" not in rule_verbs and not (rule_verbs & verbs):
        return False
    # A resourceNames restriction never authorises create (the name is not known yet).
    if rule.get("resourceNames") and verbs is not None and "*" not in rule_verbs and rule_verbs & verbs <= {"create"}:
        return False
    for group, resource in targets:
        if ("*" in rule_groups or group in rule_groups) and any(_resource_matches(r, resource) for r in rule_resources):
            return True
    return False


def _high_risk_grants(role: K8sObject) -> tuple[list[str], bool]:
    """(high-risk permission labels, whether the role reads secrets) for a role's rules."""
    found: list[str] = []
    reads_secrets = False
    for rule in _rules(role):
        for label, targets, verbs in _HIGH_RISK:
            if label not in found and _rule_grants(rule, targets, verbs):
                found.append(label)
        if _rule_grants(rule, (("", "secrets"),), _SECRET_READ):
            reads_secrets = True
    return found, reads_secrets


@check(
    id="SEC-029",
    pillar="security",
    name="High-risk RBAC permissions",
    severity="high",
    description="Some permissions are privilege escalation in disguise: reading secrets, exec into pods, "
    "creating pods, binding or impersonating roles, node proxy, minting tokens, rewriting admission "
    "webhooks or approving certificates each lead to broader access.",
    remediation="Remove the listed permissions from roles bound to people and workloads, or narrow them "
    "with resourceNames and namespace-scoped RoleBindings.",
    mode="manifest",
    requires=(*BINDINGS, *ROLES),
    peers={
        "polaris": ("clusterrolePodExecAttach", "rolePodExecAttach", "clusterrolebindingPodExecAttach"),
        "checkov": ("CKV_K8S_155", "CKV_K8S_156", "CKV_K8S_157", "CKV_K8S_158", "CKV2_K8S_1", "CKV2_K8S_2",
                    "CKV2_K8S_3", "CKV2_K8S_5"),
        "kube-linter": ("access-to-secrets", "access-to-create-pods"),
        "kubescape": ("C-0002", "C-0015", "C-0063", "C-0065", "C-0186", "C-0188", "C-0191", "C-0278", "C-0279",
                      "C-0280", "C-0281", "C-0282"),
        "trivy": ("KSV-0041", "KSV-0043", "KSV-0047", "KSV-0048", "KSV-0050", "KSV-0053", "KSV-0054", "KSV-0113",
                  "KSV-0114"),
    },
)
def high_risk_rbac(ctx: CheckContext) -> Iterator[Result]:
    """Report each binding (a grant) that gives non-system subjects a high-risk permission.

    Rule (catalogue SEC-029), one result per (Cluster)RoleBinding:
    - skipped(exempt:system-role) when the bound role is a ``system:`` role;
    - failing when the resolved role grants any of: secrets get/list/watch cluster-wide (through a
      ClusterRoleBinding), pods/exec|attach|portforward (create/get), create pods or workload kinds,
      bind/escalate roles, impersonate, nodes/proxy, serviceaccounts/token create, admission webhook
      configuration writes, certificatesigningrequests/approval update, persistentvolumes create —
      and at least one subject's name does not start with ``system:`` (ServiceAccounts count as
      non-system);
    - warning when the only finding is secrets read through a RoleBinding (namespace-scoped);
    - passing otherwise (including grants held only by system subjects).
    Interpretation: a binding whose role is not in the run cannot be resolved; that is a warning in
    manifest mode (the role may live elsewhere) and passing live (a dangling binding grants nothing).
    """
    snap = ctx.snap
    cache: dict[tuple[str, str | None, str], tuple[list[str], bool]] = {}
    for binding in snap.of_kind(*BINDINGS):
        ref = _role_ref(binding)
        role_name = str(ref.get("name") or "")
        if _is_system_name(role_name):
            yield ctx.skip(binding, SkipReason.EXEMPT_PREFIX + "system-role", f"binds system role {role_name}")
            continue
        subjects = _non_system_subjects(binding)
        if not subjects:
            yield ctx.ok(binding, "bound to system subjects only")
            continue
        role = _resolve_role(snap, binding)
        if role is None:
            if ctx.live:
                yield ctx.ok(binding, f"{ref.get('kind', 'role')} {role_name} does not exist")
            else:
                yield ctx.warn(binding, f"{ref.get('kind', 'role')} {role_name} is not in these manifests; "
                                        "permissions cannot be evaluated")
            continue
        key = (role.kind, role.namespace, role.name)
        if key not in cache:
            cache[key] = _high_risk_grants(role)
        risky, reads_secrets = cache[key]
        risky = list(risky)
        cluster_wide = binding.kind == "ClusterRoleBinding"
        if reads_secrets and cluster_wide:
            risky.insert(0, "secrets read cluster-wide")
        details = {"role": f"{role.kind}/{role.name}", "subjects": subjects, "permissions": risky}
        if risky:
            yield ctx.fail(binding, f"{role.kind} {role.name} grants {', '.join(risky)} to {', '.join(subjects)}",
                           details=details)
        elif reads_secrets:
            details["permissions"] = ["secrets read (namespace-scoped)"]
            yield ctx.warn(binding, f"{role.kind} {role.name} grants secrets read in the binding's namespace "
                                    f"to {', '.join(subjects)}", details=details)
        else:
            yield ctx.ok(binding)


# ---- SEC-030 ----------------------------------------------------------------------------------

_BROAD_SUBJECTS = {
    ("User", "system:anonymous"),
    ("Group", "system:unauthenticated"),
    ("Group", "system:authenticated"),
    ("Group", "system:masters"),
}
_HARMLESS_ROLES = frozenset({"system:basic-user", "system:discovery", "system:public-info-viewer"})


@check(
    id="SEC-030",
    pillar="security",
    name="Anonymous / broad-group bindings",
    severity="critical",
    description="Bindings to system:anonymous, system:unauthenticated or system:authenticated give a role "
    "to anyone who can reach the API server (or holds any identity at all); system:masters bypasses RBAC.",
    remediation="Delete the binding, or bind the role to specific users, groups or ServiceAccounts.",
    mode="manifest",
    requires=BINDINGS,
    peers={
        "kubescape": ("C-0262", "C-0265", "C-0246"),
        "trivy": ("KSV-0122", "KSV-0123", "KSV-01011"),
    },
)
def broad_group_bindings(ctx: CheckContext) -> Iterator[Result]:
    """Fail bindings that grant roles to anonymous users or cluster-wide groups.

    Rule (catalogue SEC-030): failing when a subject is User ``system:anonymous``, Group
    ``system:unauthenticated``, Group ``system:authenticated`` or Group ``system:masters`` and the role
    is not one of system:basic-user, system:discovery, system:public-info-viewer.
    Interpretation: the harmless-role list applies to every listed subject (Kubernetes itself binds
    system:public-info-viewer to system:unauthenticated), and kubeadm's built-in cluster-admin →
    system:masters binding is not a finding (same exemption as SEC-028); passing otherwise.
    """
    for binding in ctx.snap.of_kind(*BINDINGS):
        ref = _role_ref(binding)
        role_name = str(ref.get("name") or "")
        if role_name in _HARMLESS_ROLES:
            yield ctx.ok(binding)
            continue
        offenders = []
        for s in _subjects(binding):
            key = (s.get("kind"), s.get("name"))
            if key not in _BROAD_SUBJECTS:
                continue
            if key == ("Group", "system:masters") and role_name == "cluster-admin" and binding.kind == BINDINGS[1]:
                continue  # kubeadm's own binding; system:masters bypasses RBAC anyway
            offenders.append(f"{key[0]} {key[1]}")
        if offenders:
            yield ctx.fail(binding, f"grants {ref.get('kind', 'role')} {role_name} to {', '.join(offenders)}",
                           details=offenders)
        else:
            yield ctx.ok(binding)


# ---- SEC-031 ----------------------------------------------------------------------------------

_PSA = "pod-security.kubernetes.io/"
_ENFORCING_LEVELS = ("baseline", "restricted")
_POLICY_ENGINES = ("gatekeeper", "kyverno", "kubewarden")


def _policy_webhooks(snap: Snapshot) -> list[str]:
    found = []
    for hook in snap.of_kind("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        names = [hook.name] + [str(h.get("name") or "") for h in hook.raw.get("webhooks") or [] if isinstance(h, dict)]
        if any(engine in n.lower() for n in names for engine in _POLICY_ENGINES):
            found.append(hook.ref)
    return found


@check(
    id="SEC-031",
    pillar="security",
    name="Pod Security Admission not enforced",
    severity="medium",
    description="Without Pod Security Admission enforcement (or a policy engine) nothing stops a new "
    "privileged or host-namespace pod from being admitted into the namespace.",
    remediation="Label the namespace pod-security.kubernetes.io/enforce: restricted (or baseline), with "
    "audit and warn at restricted, or enforce equivalent policies with Gatekeeper or Kyverno.",
    mode="manifest",
    requires=("Namespace", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"),
    peers={"kubescape": ("C-0192", "C-0193", "C-0194", "C-0195", "C-0196", "C-0197", "C-0198", "C-0199",
                         "C-0200", "C-0201", "C-0202", "C-0203", "C-0204")},
)
def pod_security_admission(ctx: CheckContext) -> Iterator[Result]:
    """Grade each namespace's Pod Security Admission labels.

    Rule (catalogue SEC-031): passing: ``enforce`` is baseline or restricted; warning: only audit/warn
    labels, or enforce=privileged on a non-system namespace (``system_namespaces`` setting), or no PSA
    label but a policy-engine webhook (Gatekeeper, Kyverno, Kubewarden) is present; failing: no PSA
    label and no policy webhook. Interpretations: enforce=privileged on a system namespace passes
    (that is the expected setting there); an unrecognised enforce value is a warning; in manifest
    mode a namespace the run never defines has unknown labels, which is a warning.
    """
    snap = ctx.snap
    system = set(ctx.setting("system_namespaces", []) or [])
    webhooks = _policy_webhooks(snap)
    for ns in snap.namespaces():
        obj = snap.get("Namespace", None, ns)
        if obj is None and not ctx.live:
            yield ctx.warn(_namespace_subject(snap, ns), "Namespace object not in these manifests; PSA labels unknown")
            continue
        subject = obj or _namespace_subject(snap, ns)
        labels = subject.labels
        enforce = labels.get(_PSA + "enforce")
        others = sorted(k[len(_PSA):] for k in labels if k.startswith(_PSA) and k[len(_PSA):] in ("audit", "warn"))
        if enforce in _ENFORCING_LEVELS:
            yield ctx.ok(subject, f"enforce={enforce}")
        elif enforce == "privileged":
            if ns in system:
                yield ctx.ok(subject, "enforce=privileged on a system namespace")
            else:
                yield ctx.warn(subject, "enforce=privileged: Pod Security Admission admits everything")
        elif enforce is not None:
            yield ctx.warn(subject, f"unrecognised enforce level {enforce!r}")
        elif others:
            yield ctx.warn(subject, f"only {'/'.join(others)} labels; nothing is enforced")
        elif webhooks:
            yield ctx.warn(subject, "no PSA labels; relies on policy webhook(s) " + ", ".join(webhooks),
                           details=webhooks)
        else:
            yield ctx.fail(subject, "no Pod Security Admission labels and no policy engine webhook")
