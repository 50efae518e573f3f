"""The admission-policy audit's rules that fixtures do not show well: the live source, API
versions, the activation, lazy variables, message fallbacks, kinds and resources, broken inputs."""

from __future__ import annotations

import copy
from typing import Any

from checks.config import Config
from checks.context import CheckContext
from checks.model import Result, Severity, Status
from checks.snapshot import K8sObject, Snapshot
from checks.sources.live.resources import OPTIONAL_KINDS, RESOURCES
from checks.vap.matching import NAME_LABEL
from checks.vap.resources import ResourceTable, plural
from checks.vap.source import checks_for, unbound

GROUP = "admissionregistration.k8s.io"


def policy(name: str, version: str = "v1", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "matchConstraints": {
            "resourceRules": [
                {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}
            ]
        },
        "validations": [{"expression": "object.spec.replicas <= 5"}],
    }
    base.update(spec)
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": base,
    }


def binding(name: str, policy_name: str, version: str = "v1", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"policyName": policy_name, "validationActions": ["Deny"], **spec}
    if spec.get("validationActions") is None and "validationActions" in spec:
        del body["validationActions"]
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": body,
    }


def deployment(name: str, replicas: int | None, namespace: str = "apps", **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "spec": spec,
    }


def run(*raws: dict[str, Any], mode: str = "manifest") -> dict[str, list[Result]]:
    snap = Snapshot([K8sObject(copy.deepcopy(r), "test.yaml", i) for i, r in enumerate(raws)], mode=mode)
    out = {}
    for d in checks_for(snap):
        out[d.id] = list(d.func(CheckContext(snap, Config(), d)))
    return out


def statuses(results: list[Result]) -> dict[str, str]:
    return {f"{r.kind}/{r.name}" if r.name else "-": r.status.value for r in results}


def test_live_source_lists_policies_and_bindings_as_optional_cluster_scoped_kinds() -> None:
    assert RESOURCES["ValidatingAdmissionPolicy"] == (GROUP, "v1", "validatingadmissionpolicies", False)
    assert RESOURCES["ValidatingAdmissionPolicyBinding"] == (GROUP, "v1", "validatingadmissionpolicybindings", False)
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} <= OPTIONAL_KINDS


def test_older_api_versions_are_read_and_a_v1alpha1_binding_without_actions_denies() -> None:
    results = run(
        policy("beta", "v1beta1"),
        binding("beta", "beta", "v1beta1"),
        policy("alpha", "v1alpha1"),
        binding("alpha", "alpha", "v1alpha1", validationActions=None),
        deployment("nine", 9),
    )
    assert statuses(results["VAP-beta"]) == {"Deployment/nine": "failing"}
    assert statuses(results["VAP-alpha"]) == {"Deployment/nine": "failing"}


def test_check_metadata_severity_follows_the_actions_and_unbound_policies_are_not_checks() -> None:
    snap = Snapshot(
        [
            K8sObject(policy("denied"), "t.yaml", 0),
            K8sObject(binding("denied", "denied"), "t.yaml", 1),
            K8sObject(policy("warned"), "t.yaml", 2),
            K8sObject(binding("warned", "warned", validationActions=["Warn", "Audit"]), "t.yaml", 3),
            K8sObject(policy("lonely"), "t.yaml", 4),
        ]
    )
    defs = {d.id: d for d in checks_for(snap)}
    assert set(defs) == {"VAP-denied", "VAP-warned"}
    assert defs["VAP-denied"].severity is Severity.HIGH and defs["VAP-warned"].severity is Severity.MEDIUM
    assert defs["VAP-denied"].pillar.value == "security"
    assert defs["VAP-denied"].docs_url == "docs/admission-policies.md"
    assert unbound(snap) == ["lonely"]


def test_activation_request_namespace_object_and_null_old_object() -> None:
    checks = [
        "request.operation == 'CREATE'",
        "request.kind.kind == 'Deployment' && request.kind.group == 'apps' && request.kind.version == 'v1'",
        "request.resource.resource == 'deployments' && request.name == object.metadata.name",
        "request.namespace == 'apps' && namespaceObject.metadata.labels['team'] == 'a'",
        "oldObject == null && params == null",
    ]
    results = run(
        policy("activation", validations=[{"expression": e} for e in checks]),
        binding("activation", "activation"),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": {"team": "a"}}},
        deployment("web", 1),
    )
    assert statuses(results["VAP-activation"]) == {"Deployment/web": "passing"}


def test_update_only_rule_judges_the_object_as_an_update() -> None:
    rules = [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["deployments"]}]
    results = run(
        policy(
            "upd",
            matchConstraints={"resourceRules": rules},
            validations=[{"expression": "request.operation == 'UPDATE'"}],
        ),
        binding("upd", "upd"),
        deployment("web", 1),
    )
    assert statuses(results["VAP-upd"]) == {"Deployment/web": "passing"}
    rules[0]["operations"] = ["DELETE", "CONNECT"]
    results = run(policy("del", matchConstraints={"resourceRules": rules}), binding("del", "del"), deployment("web", 1))
    assert statuses(results["VAP-del"]) == {"-": "skipped"}


def test_a_failing_variable_matters_only_where_it_is_used() -> None:
    variables = [
        {"name": "broken", "expression": "object.spec.missing.field"},
        {"name": "n", "expression": "object.spec.replicas"},
    ]
    results = run(
        policy("lazy", variables=variables, validations=[{"expression": "variables.n <= 5"}]),
        binding("lazy", "lazy"),
        policy("used", variables=variables, validations=[{"expression": "variables.broken == 1"}]),
        binding("used", "used"),
        deployment("web", 1),
    )
    assert statuses(results["VAP-lazy"]) == {"Deployment/web": "passing"}
    (used,) = results["VAP-used"]
    assert used.status is Status.ERROR and "variable 'broken' has no value" in used.message


def test_message_expression_falls_back_to_message_then_to_the_expression() -> None:
    validations = [
        {"expression": "object.spec.replicas <= 5", "messageExpression": "object.nope", "message": "too many"},
        {"expression": "object.spec.replicas <= 6", "messageExpression": "''"},
    ]
    results = run(policy("msg", validations=validations), binding("msg", "msg"), deployment("web", 9))
    (r,) = results["VAP-msg"]
    assert r.status is Status.FAILING
    assert r.message == "ValidatingAdmissionPolicy 'msg' with binding 'msg' denied request: too many (and 1 more)"
    assert [f["message"] for f in r.details["failures"]] == ["too many", "failed expression: object.spec.replicas <= 6"]


def test_audit_annotations_are_reported_not_failed() -> None:
    audit = [{"key": "replicas", "valueExpression": "string(object.spec.replicas)"}]
    results = run(policy("aud", validations=[], auditAnnotations=audit), binding("aud", "aud"), deployment("web", 9))
    (r,) = results["VAP-aud"]
    assert r.status is Status.PASSING and r.details["auditAnnotations"] == {"aud/replicas": "9"}


def test_compile_error_names_policy_field_and_position() -> None:
    validations = [{"expression": "object.spec.replicas <= 5"}, {"expression": "object.spec.replicas <"}]
    results = run(
        policy("bad", failurePolicy="Ignore", validations=validations), binding("bad", "bad"), deployment("two", 2)
    )
    by_kind = {r.kind: r for r in results["VAP-bad"]}
    problem = by_kind["ValidatingAdmissionPolicy"]
    assert problem.status is Status.ERROR and problem.field_path == "spec.validations[1].expression"
    assert "policy 'bad': spec.validations[1].expression does not compile in kwa's CEL engine" in problem.message
    assert problem.details["line"] == 1 and problem.details["column"] is not None
    # The API server refuses such a policy, so kwa's engine is what cannot judge: an error even
    # under failurePolicy Ignore, naming the expression.
    deployment_result = by_kind["Deployment"]
    assert deployment_result.status is Status.ERROR and deployment_result.reason is None
    assert "spec.validations[1].expression does not compile in kwa's CEL engine" in deployment_result.message


def test_under_ignore_an_error_does_not_hide_what_kwa_could_not_see() -> None:
    validations = [
        {"expression": "object.spec.nope == 1"},
        {"expression": "authorizer.group('apps').resource('deployments').check('scale').allowed()"},
    ]
    results = run(policy("mixed", failurePolicy="Ignore", validations=validations), binding("mixed", "mixed"),
                  deployment("two", 2))  # fmt: skip
    (r,) = results["VAP-mixed"]
    assert r.status is Status.ERROR and r.message.startswith("kwa cannot evaluate it: spec.validations[1]")
    results = run(policy("mixed", failurePolicy="Fail", validations=validations), binding("mixed", "mixed"),
                  deployment("two", 2))  # fmt: skip
    (r,) = results["VAP-mixed"]
    assert r.status is Status.ERROR and r.message.startswith("failurePolicy Fail: the cluster rejects it")


def test_a_broken_policy_does_not_stop_the_others() -> None:
    results = run(
        policy("nothing", matchConstraints={}, validations=[]),
        binding("nothing", "nothing"),
        policy("fine"),
        binding("fine", "fine"),
        deployment("nine", 9),
    )
    (r,) = results["VAP-nothing"]
    assert r.status is Status.ERROR and "resourceRules is required" in r.message
    assert statuses(results["VAP-fine"]) == {"Deployment/nine": "failing"}


def test_malformed_policy_is_named_by_its_binding() -> None:
    bad = policy("typed")
    bad["spec"]["validations"] = "object.spec.replicas <= 5"  # a string where a list belongs
    results = run(bad, binding("typed", "typed"), deployment("nine", 9))
    (r,) = results["VAP-typed"]
    assert r.status is Status.ERROR and "malformed" in r.message and r.kind == "ValidatingAdmissionPolicyBinding"


def test_live_param_kind_kwa_does_not_list_is_unknown_not_missing() -> None:
    results = run(
        policy("limits", paramKind={"apiVersion": "rules.example.com/v1", "kind": "ReplicaLimit"}),
        binding(
            "limits", "limits", paramRef={"name": "max", "namespace": "default", "parameterNotFoundAction": "Deny"}
        ),
        deployment("nine", 9),
        mode="live",
    )
    (r,) = results["VAP-limits"]
    assert r.status is Status.ERROR and "kwa does not read ReplicaLimit" in r.message


def test_cluster_scoped_param_kind_and_namespaced_param_for_cluster_scoped_object() -> None:
    results = run(
        policy(
            "cluster-param",
            paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
            matchConstraints={
                "resourceRules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["namespaces"]}
                ]
            },
            validations=[{"expression": "params != null"}],
        ),
        binding("cluster-param", "cluster-param", paramRef={"selector": {}, "parameterNotFoundAction": "Deny"}),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}},
    )
    (r,) = results["VAP-cluster-param"]
    assert r.status is Status.ERROR and "cluster-scoped resources" in r.message


def test_resource_table_uses_crds_then_the_live_table_then_the_plural_rule() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "mice.zoo.example.com"},
        "spec": {
            "group": "zoo.example.com",
            "scope": "Cluster",
            "names": {"kind": "Mouse", "plural": "mice"},
            "versions": [{"name": "v1", "served": True, "storage": True}],
        },
    }
    objs = [K8sObject(crd), K8sObject({"apiVersion": "zoo.example.com/v1", "kind": "Mouse", "metadata": {"name": "m"}})]
    table = ResourceTable(Snapshot(objs))
    mouse = table.resource_of(objs[1])
    assert (mouse.group, mouse.version, mouse.resource, mouse.namespaced) == ("zoo.example.com", "v1", "mice", False)
    np = table.resource_of(K8sObject({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {}}))
    assert np.resource == "networkpolicies" and np.namespaced
    assert [plural(k) for k in ("Ingress", "Gateway", "Policy", "Mesh", "Box")] == [
        "ingresses",
        "gateways",
        "policies",
        "meshes",
        "boxes",
    ]


def test_namespace_selector_sees_the_name_label_the_api_server_sets() -> None:
    selector = {"matchLabels": {NAME_LABEL: "apps"}}
    results = run(
        policy("by-name"),
        binding("by-name", "by-name", matchResources={"namespaceSelector": selector}),
        deployment("nine", 9),
        deployment("other", 9, namespace="elsewhere"),
    )
    assert statuses(results["VAP-by-name"]) == {"Deployment/nine": "failing"}


def test_config_and_exemptions_apply_to_a_policy_check() -> None:
    from checks.runner import evaluate

    objs = [
        policy("limit"),
        binding("limit", "limit"),
        deployment("nine", 9, annotations={"kwa.io/exempt": "VAP-limit", "kwa.io/exempt-reason": "known"}),
        deployment("eight", 8),
    ]
    snap = Snapshot([K8sObject(copy.deepcopy(r), "t.yaml", i) for i, r in enumerate(objs)])
    (definition,) = checks_for(snap)
    # Named before the check exists (the config is read before the snapshot), in any case.
    config = Config.from_dict({"severity": {"vap-LIMIT": "low"}})
    assert config.severity_for(definition) is Severity.LOW
    by_name = {r.name: r for r in evaluate(definition, snap, config)}
    assert by_name["nine"].status is Status.SKIPPED and by_name["nine"].reason.startswith("exempt:")
    assert by_name["eight"].status is Status.FAILING
    (off,) = evaluate(definition, snap, Config.from_dict({"disabled": ["VAP-limit"]}))
    assert off.status is Status.SKIPPED and off.reason == "disabled"


def test_namespace_object_is_synthesised_for_a_namespace_the_snapshot_lacks() -> None:
    check = (
        "namespaceObject.metadata.name == 'ghost' && "
        "namespaceObject.metadata.labels['kubernetes.io/metadata.name'] == 'ghost'"
    )
    results = run(
        policy("ns", validations=[{"expression": check}]), binding("ns", "ns"), deployment("web", 1, namespace="ghost")
    )
    assert statuses(results["VAP-ns"]) == {"Deployment/web": "passing"}


def test_a_policy_on_secrets_never_sees_their_values() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "namespace": "apps",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"data":{"password":"aHVudGVyMg=="}}'},
        },
        "type": "Opaque",
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"token": "hunter2"},
    }
    rules = [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["secrets"]}]
    validations = [
        {"expression": "!has(object.data) && !has(object.stringData) && object.type == 'Opaque'"},
        {"expression": "false", "messageExpression": "string(object.metadata.annotations)"},
    ]
    results = run(
        policy("secrets", matchConstraints={"resourceRules": rules}, validations=validations),
        binding("secrets", "secrets"),
        secret,
    )
    (r,) = results["VAP-secrets"]
    assert r.status is Status.FAILING and [f["validation"] for f in r.details["failures"]] == [1]
    assert "aHVudGVyMg" not in r.message and "hunter2" not in r.message


def test_the_check_source_registers_bound_policies_and_reports_unbound_ones() -> None:
    from checks import dynamic
    from checks.registry import REGISTRY, load_all
    from checks.vap.source import SOURCE

    load_all()
    assert SOURCE in dynamic.sources()
    objs = [policy("kept"), binding("kept", "kept"), policy("lonely"), deployment("nine", 9)]
    snap = Snapshot([K8sObject(copy.deepcopy(r), "t.yaml", i) for i, r in enumerate(objs)])
    try:
        added, problems = dynamic.snapshot_checks(snap, checks=["vap-KEPT"])
        assert [d.id for d in added] == ["VAP-kept"] and added[0].origin == "vap:kept"
        assert REGISTRY.by_id("VAP-KEPT").id == "VAP-kept"
        assert problems == [
            "ValidatingAdmissionPolicy 'lonely' is not audited: no ValidatingAdmissionPolicyBinding names it, "
            "so it enforces nothing"
        ]
        added, _ = dynamic.snapshot_checks(snap, pillars=["reliability"])
        assert added == []
    finally:
        REGISTRY.unregister("VAP-kept")
