"""The finer rules of REL-011, REL-015, REL-019, SEC-028 and SEC-029 that fixtures alone do not pin:
what the messages say, that the RBAC checks share one idea of a system object, and that a
snapshot never keeps a Secret's values while REL-015 reads its keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.config import Config
from checks.context import CheckContext
from checks.model import Result, Status
from checks.registry import load_all
from checks.security.common import (
    BOOTSTRAP_LABEL,
    is_bootstrapped,
    is_system_object,
    is_system_role_ref,
    is_system_subject_name,
)
from checks.snapshot import K8sObject, Snapshot
from checks.sources.manifests import load_manifests, parse_text

MARKER = "Zq77secretvalue"


def _run(check_id: str, snap: Snapshot) -> list[Result]:
    check = load_all(include_plugins=False).by_id(check_id)
    return list(check.func(CheckContext(snap, Config(), check)))


def _snap(text: str, mode: str = "manifest") -> Snapshot:
    objects: list[K8sObject] = []
    problems: list = []
    parse_text(text, "test.yaml", objects, problems)
    assert not problems, problems
    return Snapshot(objects=objects, mode=mode)


# ---- Secrets: key names kept, values never ---------------------------------------------------------

SECRETS = f"""\
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
data: {{password: {MARKER}AA==}}
stringData: {{username: "{MARKER}-user"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: typed, namespace: shop}}
stringData: {{port: 5432}}
---
apiVersion: v1
kind: Secret
metadata: {{name: broken, namespace: shop}}
data: "{MARKER} where a mapping belongs"
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: shop}}
data: {{mode: fast}}
"""


def test_a_snapshot_keeps_secret_key_names_and_no_value(tmp_path: Path) -> None:
    path = tmp_path / "secrets.yaml"
    path.write_text(SECRETS, encoding="utf-8")
    snap = load_manifests([str(path)])
    stored = json.dumps([o.raw for o in snap.objects] + [m.obj.raw for m in snap.malformed], default=str)
    assert MARKER not in stored
    assert MARKER not in " ".join(str(p) for p in snap.problems)
    db = snap.get("Secret", "shop", "db")
    assert db is not None
    assert db.raw["data"] == {"password": ""}
    assert db.raw["stringData"] == {"username": ""}
    # Each value keeps its JSON type and loses its content, so the boundary still names a wrong type.
    quarantined = {m.obj.name: m.obj.raw for m in snap.malformed}
    assert set(quarantined) == {"typed", "broken"}
    assert quarantined["typed"]["stringData"] == {"port": 0}
    assert quarantined["broken"]["data"] == ""
    # ConfigMap data is not a Secret's: SEC-021 reads it, and it stays.
    settings = snap.get("ConfigMap", "shop", "settings")
    assert settings is not None and settings.raw["data"] == {"mode": "fast"}


def test_secret_values_go_on_every_way_into_a_snapshot() -> None:
    raw = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"}, "data": {"t": MARKER}}
    snap = Snapshot(objects=[K8sObject(raw)], mode="live", screened=True)
    assert snap.objects[0].raw["data"] == {"t": ""}


def test_rel015_names_missing_keys_and_never_a_value() -> None:
    snap = _snap(
        SECRETS
        + """---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          env:
            - {name: A, valueFrom: {secretKeyRef: {name: db, key: password}}}
            - {name: B, valueFrom: {secretKeyRef: {name: db, key: host}}}
            - {name: C, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
            - {name: D, valueFrom: {configMapKeyRef: {name: settings, key: size}}}
"""
    )
    [result] = _run("REL-015", snap)
    assert result.status is Status.FAILING
    assert result.container == "web"
    assert result.details == [
        "Secret/db has no key 'host' (env B, container web)",
        "ConfigMap/settings has no key 'size' (env D, container web)",
    ]
    assert MARKER not in json.dumps([result.message, result.details])


# ---- RBAC: one predicate for system objects ---------------------------------------------------------

USER_SYSTEM_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:ops"}
rules:
  - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:ops"}
subjects:
  - {kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}
"""


@pytest.mark.parametrize("mode", ["manifest", "live"])
def test_a_user_role_named_system_is_judged_by_every_rbac_check(mode: str) -> None:
    snap = _snap(USER_SYSTEM_ROLE, mode)
    assert [r.status for r in _run("SEC-027", snap)] == [Status.FAILING]
    assert [r.status for r in _run("SEC-028", snap)] == [Status.FAILING]
    assert [r.status for r in _run("SEC-029", snap)] == [Status.FAILING]


@pytest.mark.parametrize(
    "metadata",
    [
        {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        {"annotations": {"rbac.authorization.kubernetes.io/autoupdate": "false"}},
    ],
)
def test_a_bootstrapped_role_is_a_system_role_for_sec027_and_sec029(metadata: dict) -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:controller:job-controller", **metadata},
            "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}  # fmt: skip
    subject = {"kind": "ServiceAccount", "name": "job-controller", "namespace": "kube-system"}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "jobs"},
               "roleRef": {"kind": "ClusterRole", "name": "system:controller:job-controller"},
               "subjects": [subject]}  # fmt: skip
    snap = Snapshot(objects=[K8sObject(role), K8sObject(binding)], mode="live")
    assert is_system_object(snap.objects[0])
    assert [r.status for r in _run("SEC-027", snap)] == [Status.SKIPPED]
    assert [r.reason for r in _run("SEC-029", snap)] == ["exempt:system-role"]


def test_a_bootstrapped_user_facing_role_is_no_system_role() -> None:
    edit = K8sObject(
        {"kind": "ClusterRole", "metadata": {"name": "edit", "labels": {BOOTSTRAP_LABEL: "rbac-defaults"}}}
    )
    assert is_bootstrapped(edit)
    assert not is_system_object(edit)


def test_a_system_role_ref_the_run_lacks_is_presumed_bootstrapped_only_on_manifests() -> None:
    ref = {"kind": "ClusterRole", "name": "system:node-proxier"}
    assert is_system_role_ref(None, ref, live=False)
    assert not is_system_role_ref(None, ref, live=True)
    assert not is_system_role_ref(None, {"kind": "ClusterRole", "name": "node-proxier"}, live=False)
    named_only = K8sObject({"kind": "ClusterRole", "metadata": {"name": "system:node-proxier"}})
    assert not is_system_role_ref(named_only, ref, live=False)


@pytest.mark.parametrize(
    ("name", "system"),
    [
        ("system:masters", True),
        ("system:kube-controller-manager", True),
        ("system:node:ip-10-0-0-1", True),
        ("system:serviceaccount:ci:deployer", False),
        ("system:serviceaccounts", False),
        ("system:serviceaccounts:ci", False),
        ("system:authenticated", False),
        ("system:unauthenticated", False),
        ("system:anonymous", False),
        ("alice", False),
    ],
)
def test_system_subjects_are_components_not_workloads_or_everyone(name: str, system: bool) -> None:
    assert is_system_subject_name(name) is system


def test_sec028_says_what_a_core_group_wildcard_is_instead() -> None:
    snap = _snap(USER_SYSTEM_ROLE.replace('apiGroups: ["*"]', 'apiGroups: ["", "apps"]'))
    [result] = _run("SEC-028", snap)
    assert result.status is Status.WARNING
    assert "not cluster-admin" in result.message
    assert "'' (core), 'apps'" in result.message
    assert result.details == {"subjects": ["User alice"], "apiGroups": ["", "apps"]}


# ---- REL-011: anti-affinity namespaces ------------------------------------------------------------


def _spread_deployment(term: str, namespace: str = "namespace: shop") -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, {namespace}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - {{topologyKey: kubernetes.io/hostname, labelSelector: {{matchLabels: {{app: web}}}}, {term}}}
      containers: [{{name: web, image: "nginx:1.27"}}]
"""


@pytest.mark.parametrize(
    ("term", "extra", "status", "said"),
    [
        ("namespaces: [shop]", "", Status.PASSING, ""),
        ("namespaces: [other]", "", Status.WARNING, "only repels pods in namespaces other, not in namespace shop"),
        ("namespaceSelector: {}", "", Status.PASSING, ""),
        ("namespaceSelector: {matchLabels: {env: prod}}", "", Status.WARNING, "is unknown"),
        ("namespaceSelector: {matchLabels: {env: prod}}",
         "---\n{apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {env: prod}}}\n", Status.PASSING, ""),
        ("namespaceSelector: {matchLabels: {env: prod}}",
         "---\n{apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {env: dev}}}\n", Status.WARNING,
         'only repels pods in namespaceSelector {"matchLabels": {"env": "prod"}}'),
        ("namespaces: [other], namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}", "",
         Status.PASSING, ""),
        ("matchLabelKeys: [app]", "", Status.PASSING, ""),
        ("mismatchLabelKeys: [app]", "", Status.WARNING, "mismatchLabelKeys app excludes"),
    ],
)  # fmt: skip
def test_rel011_counts_a_term_only_in_the_workloads_own_namespace(
    term: str, extra: str, status: Status, said: str
) -> None:
    [result] = _run("REL-011", _snap(_spread_deployment(term) + extra))
    assert result.status is status, result.message
    assert said in (result.message or "")


def test_rel011_a_manifest_without_namespace_cannot_place_a_named_namespace() -> None:
    [result] = _run("REL-011", _snap(_spread_deployment("namespaces: [shop]", namespace="labels: {a: b}")))
    assert result.status is Status.WARNING
    assert "the namespace it is applied to" in (result.message or "")


# ---- REL-019: the governing Service selects the pods ------------------------------------------------


def test_rel019_names_every_problem_of_the_service() -> None:
    snap = _snap("""\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16.4"}]}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {selector: {app: cache}, ports: [{port: 5432}]}
""")
    [result] = _run("REL-019", snap)
    assert result.status is Status.FAILING
    assert result.details == [
        "Service db is not headless (clusterIP: None)",
        "Service db selects app=cache, which does not match the StatefulSet's pod labels",
    ]


# ---- credential patterns: linear in a hostile value ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "verdict"),
    [
        ("BEGIN " * 262_000, Status.PASSING),  # every "BEGIN " a start, nothing after it ever matches
        (("BEGIN " + "x" * 70) * 20_000, Status.PASSING),  # a start every 76 characters, past the bound
        ("$(A)" * 390_000 + "!", Status.PASSING),  # a run of $(VAR) references that is not one after all
        ("AKIA" * 390_000, Status.FAILING),  # twenty characters of it look like an access key id
    ],
    ids=["begin-run", "begin-far", "env-references", "akia-run"],
)
def test_credential_patterns_judge_a_hostile_value_in_linear_time(value: str, verdict: Status) -> None:
    """SEC-020 and SEC-021 search every env value and ConfigMap value: a value within the input
    limits (1.5 MiB) shaped to make a pattern rescan from every position must not stall them."""
    import time

    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {
                            "containers": [{"name": "app", "image": "a:1", "env": [{"name": "X", "value": value}]}]
                        },
                    },
                },
            },
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "shop"},
             "data": {"k": value}},
        ],
    }
    snap = _snap(json.dumps(manifest))
    started = time.perf_counter()
    verdicts = {check_id: _run(check_id, snap) for check_id in ("SEC-020", "SEC-021")}
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"{elapsed:.1f}s for two checks over one {len(value):,}-character value"
    assert [r.status for r in verdicts["SEC-020"]] == [verdict]
    assert [r.status for r in verdicts["SEC-021"]] == [verdict]


@pytest.mark.parametrize(
    "header",
    ["-----BEGIN RSA PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----",
     "-----BEGIN ENCRYPTED PRIVATE KEY-----", "-----BEGIN PGP PRIVATE KEY BLOCK-----"],
)
def test_every_pem_private_key_header_is_still_found(header: str) -> None:
    text = f"""\
apiVersion: v1
kind: ConfigMap
metadata: {{name: tls, namespace: shop}}
data: {{server.pem: "{header}\\nMIIEow\\n"}}
"""
    (result,) = _run("SEC-021", _snap(text))
    assert result.status is Status.FAILING and result.details[0]["matched"] == ["private key"]
