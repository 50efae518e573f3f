"""OPS-012 (checks/operations/schema.py, checks/schema_full.py) and the rule that an object invalid
against the schema is never ``passing`` for another check (checks/runner.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.config import Config
from checks.model import ErrorReason, Status
from checks.registry import load_all
from checks.runner import evaluate
from checks.schema_full import INDEX, SchemaFindings, path_text
from checks.schema_strict import StrictLibrary, library
from checks.snapshot import K8sObject, Snapshot
from checks.sources.manifests import load_manifests
from flows.states import CheckOutcome, outcome_of_results

FIXTURES = Path(__file__).parent / "fixtures" / "OPS-012"
CONTAINER = "spec.template.spec.containers[0]"


def _check(check_id: str) -> Any:
    return load_all().by_id(check_id)


def _snapshot(*docs: dict[str, Any], mode: str = "manifest", server: str | None = None) -> Snapshot:
    objects = [K8sObject(doc, "test.yaml", n) for n, doc in enumerate(docs)]
    return Snapshot(objects=objects, mode=mode, server_version=server)


def _deployment(**container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27", **container}]},
            },
        },
    }


def _schema_results(snapshot: Snapshot, config: Config | None = None) -> list[Any]:
    return evaluate(_check("OPS-012"), snapshot, config or Config())


# -- the examples, with their exact JSON paths -----------------------------------------

EXPECTED = {
    "fail-enum-procmount": [
        ("spec.containers[0].securityContext.procMount", "'Other' is not one of Default, Unmasked"),
    ],
    "fail-enum-imagepullpolicy": [
        (f"{CONTAINER}.imagePullPolicy", "'Sometimes' is not one of Always, IfNotPresent, Never"),
    ],
    "fail-unknown-field": [(f"{CONTAINER}.resource", "unknown field")],
    "fail-required-containerport-null": [(f"{CONTAINER}.ports[0].containerPort", "required field is missing")],
    "fail-ingress-v1beta1-fields": [
        (
            "spec.rules[0].http.paths[0].backend.serviceName",
            "unknown field (a networking.k8s.io/v1beta1 field; networking.k8s.io/v1 uses service.name)",
        ),
        (
            "spec.rules[0].http.paths[0].backend.servicePort",
            "unknown field (a networking.k8s.io/v1beta1 field; networking.k8s.io/v1 uses service.port.number or "
            "service.port.name)",
        ),
    ],
    "fail-field-newer-than-target": [("spec.containers[0].resizePolicy", "unknown field")],
}


def _fixture(name: str) -> tuple[Snapshot, Config]:
    path = FIXTURES / f"{name}.yaml"
    config_line = next((line for line in path.read_text().splitlines() if line.startswith("# kwa-config:")), None)
    config = Config.from_dict(yaml.safe_load(config_line.split(":", 1)[1])) if config_line else Config()
    return load_manifests([str(path)]), config


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_violation_is_reported_with_its_json_path(name: str) -> None:
    snapshot, config = _fixture(name)
    [result] = _schema_results(snapshot, config)
    assert result.status is Status.FAILING
    got = [(v["path"], v["message"]) for v in result.details["violations"]]
    assert got == EXPECTED[name]
    assert result.details["total"] == len(EXPECTED[name])
    assert result.field_path == EXPECTED[name][0][0]
    for path, message in EXPECTED[name]:
        assert f"{path}: {message}" in result.message


def test_the_first_violation_gives_the_field_line() -> None:
    snapshot, config = _fixture("fail-enum-imagepullpolicy")
    [result] = _schema_results(snapshot, config)
    lines = (FIXTURES / "fail-enum-imagepullpolicy.yaml").read_text().splitlines()
    assert lines[result.field_line - 1].strip() == "imagePullPolicy: Sometimes"


def test_every_violation_of_an_object_is_in_one_result() -> None:
    doc = _deployment(imagePullPolicy="Sometimes", securityContext={"procMount": "Other"}, resourcez={})
    doc["spec"]["template"]["spec"]["restartPolicy"] = "Sometimes"
    [result] = _schema_results(_snapshot(doc))
    assert [v["path"] for v in result.details["violations"]] == [
        f"{CONTAINER}.imagePullPolicy",
        f"{CONTAINER}.resourcez",
        f"{CONTAINER}.securityContext.procMount",
        "spec.template.spec.restartPolicy",
    ]
    assert result.message.startswith("4 schema violations against Kubernetes ")


def test_a_wrong_type_fails_here_and_is_an_input_error_elsewhere() -> None:
    doc = _deployment()
    doc["spec"]["replicas"] = "three"
    snapshot = _snapshot(doc)
    assert not snapshot.objects and len(snapshot.malformed) == 1  # the boundary quarantined it
    [result] = _schema_results(snapshot)
    assert result.status is Status.FAILING
    assert (result.kind, result.namespace, result.name) == ("Deployment", "shop", "web")
    assert result.details["violations"] == [{"path": "spec.replicas", "message": "must be an integer, got a string"}]
    [other] = evaluate(_check("OPS-004"), snapshot, Config())
    assert other.status is Status.ERROR and other.reason == ErrorReason.MALFORMED


def test_a_custom_resource_without_schema_is_skipped() -> None:
    snapshot, config = _fixture("skip-custom-resource")
    [result] = _schema_results(snapshot, config)
    assert result.status is Status.SKIPPED
    assert "monitoring.coreos.com/v1 ServiceMonitor has no schema in Kubernetes" in result.message


def test_status_is_not_the_authors_and_is_not_validated() -> None:
    doc = _deployment()
    doc["status"] = {"conditions": [{"type": "Available"}], "madeUp": 1}  # required status fields missing too
    [result] = _schema_results(_snapshot(doc))
    assert result.status is Status.PASSING


# -- target version ---------------------------------------------------------------------------


def test_the_live_server_version_is_the_target() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "x:1", "resizePolicy": []}]},
    }
    [old] = _schema_results(_snapshot(pod, mode="live", server="v1.26.3-eks-1"))
    assert old.status is Status.FAILING and "against Kubernetes 1.26:" in old.message
    [new] = _schema_results(_snapshot(pod, mode="live", server="v1.30.0"))
    assert new.status is Status.PASSING and new.message == "valid against Kubernetes 1.30"


def test_an_unbundled_version_uses_the_nearest_and_says_so() -> None:
    lib = library()
    oldest, newest = lib.bundles[-1], lib.bundles[0]
    bundle, note = lib.choose("1.2")
    assert bundle is oldest and note == "Kubernetes 1.2 is not bundled; the nearest bundled version is used"
    assert lib.choose("1.99")[0] is newest
    assert lib.choose(None) == (newest, "")
    [result] = _schema_results(_snapshot(_deployment()), Config.from_dict({"kubernetes_version": "1.2"}))
    assert result.message == f"valid against {oldest.label} ({note})"


def test_without_bundled_schemas_the_check_skips(tmp_path: Path) -> None:
    bundle, note = StrictLibrary(tmp_path).choose("1.30")
    assert bundle is None and note == "no bundled Kubernetes schema (kubernetes-validate is missing)"


def test_validators_are_compiled_once_per_api_version_and_kind() -> None:
    bundle = library().bundles[0]
    assert bundle.validator("apps/v1", "Deployment") is bundle.validator("apps/v1", "Deployment")
    assert bundle.validator("example.com/v1", "Widget") is None


def test_path_text_quotes_keys_positions_cannot_split() -> None:
    assert path_text(["metadata", "labels", "app.kubernetes.io/name"]) == 'metadata.labels["app.kubernetes.io/name"]'
    assert path_text(["spec", "containers", 0, "name"]) == "spec.containers[0].name"


# -- other checks: an invalid object is never passing -------------------------------------------


def test_another_checks_passing_verdict_on_an_invalid_object_becomes_an_error() -> None:
    invalid = _deployment(imagePullPolicy="Sometimes")
    valid = _deployment()
    valid["metadata"]["name"] = "api"
    snapshot = _snapshot(invalid, valid)
    results = {r.name: r for r in evaluate(_check("OPS-004"), snapshot, Config())}
    assert results["api"].status is Status.PASSING
    bad = results["web"]
    assert bad.status is Status.ERROR and bad.reason == ErrorReason.SCHEMA_INVALID
    assert bad.message == (
        "not judged: the object is invalid against Kubernetes "
        f"{library().bundles[0].label.split()[-1]} (OPS-012): "
        f"{CONTAINER}.imagePullPolicy: 'Sometimes' is not one of Always, IfNotPresent, Never"
    )
    assert bad.field_path == f"{CONTAINER}.imagePullPolicy"
    assert bad.details["verdict"] == "passing"
    # an input problem, not the check's: a check left with only such rows still executed
    assert outcome_of_results([bad]) is CheckOutcome.EXECUTED


def test_failing_verdicts_on_an_invalid_object_stand() -> None:
    doc = _deployment(imagePullPolicy="Sometimes", securityContext={"privileged": True})
    results = evaluate(_check("SEC-001"), _snapshot(doc), Config())
    assert results and all(r.status is Status.FAILING for r in results)


def test_disabling_the_schema_check_turns_the_rule_off() -> None:
    snapshot = _snapshot(_deployment(imagePullPolicy="Sometimes"))
    [result] = evaluate(_check("OPS-004"), snapshot, Config.from_dict({"disabled": ["OPS-012"]}))
    assert result.status is Status.PASSING


def test_the_rule_and_the_check_use_the_same_target_version() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "x:1", "resizePolicy": []}]},
    }
    snapshot = _snapshot(pod)
    assert evaluate(_check("OPS-004"), snapshot, Config())[0].status is Status.PASSING
    old = Config.from_dict({"kubernetes_version": "1.26"})
    assert evaluate(_check("OPS-004"), snapshot, old)[0].status is Status.ERROR
    assert _schema_results(snapshot, old)[0].status is Status.FAILING


def test_the_verdicts_are_an_index_computed_once_per_snapshot() -> None:
    snapshot = _snapshot(_deployment(imagePullPolicy="Sometimes")).prepare()
    findings = snapshot.index(INDEX)
    assert isinstance(findings, SchemaFindings)
    first = findings.verdicts()[1]
    evaluate(_check("OPS-004"), snapshot, Config())
    _schema_results(snapshot)
    assert findings.verdicts()[1] is first


def test_a_wrongly_typed_value_is_never_quoted() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"}}
    secret["stringData"] = {"password": 918273645}
    env = _deployment(env=[{"name": "TOKEN", "value": 564738291}])
    results = _schema_results(_snapshot(secret, env))
    assert [r.status for r in results] == [Status.FAILING, Status.FAILING]
    text = repr([(r.message, r.details) for r in results])
    assert "918273645" not in text and "564738291" not in text
    assert "stringData.password: must be a string, got an integer" in text
    assert f"{CONTAINER}.env[0].value: must be a string, got an integer" in text


# -- custom resources whose CustomResourceDefinition is in the input ----------------------------


def test_a_custom_resource_is_validated_against_its_crd() -> None:
    snapshot, config = _fixture("fail-custom-resource-against-its-crd")
    results = {(r.kind, r.name): r for r in _schema_results(snapshot, config)}
    crd = "CustomResourceDefinition backups.example.com"
    bad = results[("Backup", "nightly")]
    assert bad.status is Status.FAILING
    assert [(v["path"], v["message"]) for v in bad.details["violations"]] == [
        ("spec.mode", "'Sometimes' is not one of Full, Incremental"),
        ("spec.retention", "must be at least 1"),
        ("spec.schedule", "required field is missing"),
        ("spec.target", "unknown field"),  # spec.options keeps unknown fields: not reported
    ]
    assert bad.message.startswith(f"4 schema violations against {crd}: ")
    assert results[("Backup", "hourly")].status is Status.PASSING
    assert results[("Backup", "hourly")].message == f"valid against {crd}"
    assert results[("CustomResourceDefinition", "backups.example.com")].status is Status.PASSING
    [other] = [r for r in evaluate(_check("OPS-004"), snapshot, config) if r.name == "nightly"]
    assert other.status is Status.ERROR and other.message.startswith(f"not judged: the object is invalid against {crd}")


def test_a_crd_schema_that_cannot_compile_leaves_its_resources_unvalidated() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"pattern": "(unclosed"}}}},
                }
            ],
        },
    }
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "a"}}
    results = {r.kind: r for r in _schema_results(_snapshot(crd, widget))}
    assert results["Widget"].status is Status.SKIPPED
    assert (
        "the schema of CustomResourceDefinition widgets.example.com could not be compiled" in results["Widget"].message
    )


def test_a_required_list_the_api_server_writes_as_null_is_not_missing() -> None:
    # Kubernetes 1.29 marks EndpointSlice.endpoints required, yet serves an empty one as null
    empty = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "shop"},
        "addressType": "IPv4",
        "endpoints": None,
    }
    no_containers = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"}, "spec": {}}
    results = {
        r.kind: r
        for r in _schema_results(_snapshot(empty, no_containers), Config.from_dict({"kubernetes_version": "1.29"}))
    }
    assert results["EndpointSlice"].status is Status.PASSING
    # ... while a pod without containers is rejected by the API server: a list that must not be empty
    assert results["Pod"].details["violations"] == [{"path": "spec.containers", "message": "required field is missing"}]
