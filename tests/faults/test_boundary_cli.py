"""One malformed object costs only its own verdicts: the real ``kwa run`` on manifests.

Every case reproduces a document that used to end the whole run ``failed`` ("snapshot unreadable:
'str' object has no attribute 'items'", naming neither file nor object) or make 25 checks error for
every object. Each is put next to the same valid documents; the run must complete, store one
``error`` row per check that would have evaluated the bad object (naming object, file#document and
field), print it as skipped input, and give every other object exactly the rows a run without the
bad document gives.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from checks.registry import load_all
from tests.faults.harness import Kwa, Outcome, assert_no_traceback

VALID = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {team: payments}}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: "registry.example.com/api:1.4.2"
          ports: [{containerPort: 8080}]
          resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: api, namespace: shop}
spec: {minAvailable: 1, selector: {matchLabels: {app: api}}}
"""
NEIGHBOUR = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {mode: production}
"""
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""

# name -> (the bad document, its kind/namespace/name, what the error must say)
CASES: dict[str, tuple[str, tuple[str, str | None, str], str]] = {
    "labels-a-string": (
        WEB.replace("metadata: {labels: {app: web}}", 'metadata: {labels: "app=web"}'),
        ("Deployment", "shop", "web"),
        "spec.template.metadata.labels must be a mapping, got a string",
    ),
    "spec-a-list": (
        WEB.split("spec:")[0] + "spec: [1, 2, 3]\n",
        ("Deployment", "shop", "web"),
        "spec must be a mapping, got a list",
    ),
    "template-a-list": (
        WEB.split("  template:")[0] + "  template: [a, b]\n",
        ("Deployment", "shop", "web"),
        "spec.template must be a mapping, got a list",
    ),
    "containers-a-string": (
        WEB.replace('containers: [{name: web, image: "nginx:1.27"}]', 'containers: "x"'),
        ("Deployment", "shop", "web"),
        "spec.template.spec.containers must be a list, got a string",
    ),
    "hpa-target-a-string": (
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api, namespace: shop}\n"
        "spec: {scaleTargetRef: web, minReplicas: 2, maxReplicas: 5}\n",
        ("HorizontalPodAutoscaler", "shop", "api"),
        "spec.scaleTargetRef must be a mapping, got a string",
    ),
    "namespace-named-123": (
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: 123}\n",
        ("Namespace", None, "123"),
        "metadata.name must be a string, got an integer (123)",
    ),
    "port-out-of-int32": (
        WEB.replace('image: "nginx:1.27"}', 'image: "nginx:1.27", ports: [{containerPort: 99999999999}]}'),
        ("Deployment", "shop", "web"),
        "spec.template.spec.containers[0].ports[0].containerPort must be an int32 (-2147483648 to 2147483647), "
        "got an integer (99999999999)",
    ),
}

ROW = (
    "check_id", "status", "object_kind", "object_namespace", "object_name", "container", "reason", "source", "message"
)


def _write(kwa: Kwa, bad: str | None) -> None:
    k8s = kwa.tmp / "k8s"
    k8s.mkdir(parents=True, exist_ok=True)
    (k8s / "app.yaml").write_text(VALID)
    (k8s / "bad.yaml").write_text(NEIGHBOUR + ("---\n" + bad if bad else ""))


def _rows(got: Outcome) -> list[tuple[Any, ...]]:
    return sorted((tuple(r[k] for k in ROW) for r in got.results()), key=repr)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> list[tuple[Any, ...]]:
    """The rows of a run on the valid documents alone."""
    kwa = Kwa(tmp_path_factory.mktemp("reference"), prefect_api)
    _write(kwa, None)
    got = kwa("run", "--manifests", "k8s")
    assert got.code == 0, got.text
    assert got.run()["state"] == "completed"
    return _rows(got)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_malformed_object_costs_only_its_own_verdicts(kwa: Kwa, reference: list[tuple[Any, ...]], case: str) -> None:
    bad, (kind, namespace, name), says = CASES[case]
    _write(kwa, bad)
    got = kwa("run", "--manifests", "k8s")
    assert_no_traceback(got.out, got.err)
    assert "snapshot unreadable" not in got.text
    assert got.code == 0, got.text
    run = got.run()
    assert run["state"] == "completed", run
    where = "k8s/bad.yaml#1"

    # The user is told, once, which object is out and why.
    shown = " ".join(got.out.split())  # the console wraps long lines
    assert f"skipped input k8s/bad.yaml (document 1): {kind}/" in shown and says in shown, got.out
    summary = json.loads(run["summary"])
    assert any(says in p and "bad.yaml (document 1)" in p for p in summary["problems"]), summary["problems"]

    # One error row per check that would have evaluated it, naming object, source and field.
    mine = [r for r in got.results() if r["source"] == where]
    registry = load_all()
    in_run = [registry.by_id(i) for i in json.loads(run["check_ids"])]  # this process may know test checks too
    expected_checks = {  # runnable on manifests (not live-only, not opt-in), reading this kind
        c.id for c in in_run if c.mode.value == "manifest" and not c.opt_in and (not c.requires or kind in c.requires)
    }
    assert len(in_run) == 101
    assert {r["check_id"] for r in mine} == expected_checks
    for r in mine:
        assert (r["object_kind"], r["object_namespace"], r["object_name"]) == (kind, namespace, name)
        if r["check_id"] == "OPS-012":  # the schema check judges a malformed object: failing
            assert r["status"] == "failing" and "schema violation" in r["message"], r
            continue
        assert r["status"] == "error" and r["reason"] == "malformed", r
        assert (r["object_kind"], r["object_namespace"], r["object_name"]) == (kind, namespace, name)
        assert r["message"].startswith(f"{kind}/") and f"({where}): " in r["message"] and says in r["message"], r

    # Everything else is exactly what a run without the bad document gives.
    others = [row for row in _rows(got) if row[ROW.index("source")] != where]
    assert others == reference


def test_a_null_is_unset(kwa: Kwa, reference: list[tuple[Any, ...]]) -> None:
    """Explicit nulls (what many generators write for "unset") are assessed as absent fields."""
    nulls = WEB.replace("replicas: 2", "replicas: 2\n  strategy: null\n  revisionHistoryLimit: null").replace(
        'containers: [{name: web, image: "nginx:1.27"}]',
        'nodeSelector: null\n      containers: [{name: web, image: "nginx:1.27", resources: null, env: null}]',
    )
    _write(kwa, nulls)
    with_nulls = kwa("run", "--manifests", "k8s")
    assert with_nulls.code == 0, with_nulls.text
    assert_no_traceback(with_nulls.out, with_nulls.err)
    assert with_nulls.run()["state"] == "completed"
    assert not any(r["status"] == "error" for r in with_nulls.results())
    plain = Kwa(kwa.tmp / "plain", kwa.prefect_url)
    _write(plain, WEB)
    without = plain("run", "--manifests", "k8s")
    assert _rows(with_nulls) == _rows(without)


def test_a_check_that_fails_on_one_object_blames_it_and_judges_the_rest(kwa: Kwa) -> None:
    """OPS-990 has a bug (KeyError on a missing label): the safety net pins it on the object."""
    _write(kwa, WEB)
    modules = {"KWA_CHECK_MODULES": "tests.faults.boundary_checks"}
    got = kwa("run", "--manifests", "k8s", "--check", "OPS-990,REL-004", **modules)
    assert_no_traceback(got.out, got.err)
    assert got.code == 0, got.text
    assert got.run()["state"] == "completed"
    rows = {(r["check_id"], r["object_name"]): r for r in got.results()}
    blamed = rows[("OPS-990", "web")]
    assert blamed["status"] == "error" and blamed["reason"] == "check-error"
    assert blamed["source"] == "k8s/bad.yaml#1"
    assert "Deployment/shop/web (k8s/bad.yaml#1): OPS-990 failed on this object (KeyError: 'team'" in blamed["message"]
    assert rows[("OPS-990", "api")]["status"] == "passing"
    assert rows[("OPS-990", "api")]["message"] == "owned by payments"
    assert rows[("REL-004", "web")]["status"] != "error"
