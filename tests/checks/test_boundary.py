"""The typed input boundary (checks/objects.py, checks/schema.py) and the per-check safety net
(checks/safety.py), one promise per test."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.config import Config
from checks.context import CheckContext
from checks.fieldwalk import MAX_PROBLEMS
from checks.model import CheckDefinition, ErrorReason, Mode, Pillar, Result, Severity, Status
from checks.objects import screen
from checks.registry import load_all
from checks.runner import evaluate, preflight
from checks.safety import MAX_CULPRITS, MAX_EVALUATIONS
from checks.schema import SchemaLibrary, TypeSchema, library
from checks.snapshot import K8sObject, Snapshot, register_index
from flows.states import CheckOutcome, outcome_of_results

ROOT = Path(__file__).resolve().parents[2]


def deployment(name: str = "web", **spec: Any) -> dict[str, Any]:
    pod = {"containers": [{"name": name, "image": "nginx:1.27"}]}
    body = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
    }
    body.update(spec)
    meta = {"name": name, "namespace": "shop"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": body}


def snap(*docs: dict[str, Any], **kw: Any) -> Snapshot:
    return Snapshot(objects=[K8sObject(d, "app.yaml", i) for i, d in enumerate(docs)], **kw)


# ---- K8sObject -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"kind": ["Pod"], "metadata": "x"},
        {"kind": "Pod", "metadata": {"name": {"a": 1}, "namespace": 7, "uid": 3}},
        {"apiVersion": None, "kind": None, "metadata": None},
        [1, 2, 3],
        "a string",
        None,
    ],
)
def test_k8s_object_construction_never_raises(raw: Any) -> None:
    obj = K8sObject(raw, "x.yaml", 0)
    assert isinstance(obj.kind, str) and isinstance(obj.name, str) and isinstance(obj.ref, str)
    assert obj.where == "x.yaml#0"


def test_identity_of_a_broken_object_is_best_effort() -> None:
    obj = K8sObject({"kind": "Namespace", "metadata": {"name": 123}}, "ns.yaml", 2)
    assert obj.ref == "Namespace/123"


def test_a_non_mapping_object_is_quarantined_not_raised() -> None:
    s = Snapshot(objects=[K8sObject([1, 2], "x.yaml", 0), K8sObject(deployment(), "x.yaml", 1)])
    assert [o.name for o in s.objects] == ["web"]
    assert str(s.malformed[0].problems[0]) == "the object must be a mapping, got a list"


# ---- what is validated, against what -------------------------------------------------------------


def test_the_newest_bundle_that_has_the_exact_gvk_is_used() -> None:
    lib = SchemaLibrary()
    newest = lib.bundles[0].label
    assert lib.for_object("apps/v1", "Deployment").name == f"{newest} apps/v1 Deployment"
    # flowcontrol v1beta3 was removed in 1.32: an older bundle knows it.
    old = lib.for_object("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema").name
    assert old.startswith("Kubernetes 1.31 "), old
    assert lib.for_object("example.com/v1", "Widget").name.startswith("metadata only")
    assert "shape" in lib.for_object("autoscaling.k8s.io/v1", "VerticalPodAutoscaler").name


def test_a_damaged_schema_package_degrades_to_the_object_shape(tmp_path: Path) -> None:
    broken = tmp_path / "v1.99.0-local"
    broken.mkdir()
    (broken / "_definitions.json").write_text("{not json")
    lib = SchemaLibrary(tmp_path)
    schema = lib.for_object("apps/v1", "Deployment")
    assert "unreadable" in schema.name
    assert schema.is_valid(deployment()) and not schema.is_valid({"metadata": "x"})
    assert SchemaLibrary(tmp_path / "missing").for_object("v1", "Pod").name.startswith("metadata only")


def test_reduced_schemas_are_cached_per_bundle_and_rebuilt_when_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    # Without the reductions kwa ships (tests/checks/test_schema_shipped.py): the user's cache alone.
    monkeypatch.setattr("checks.schema_bundles.SHIPPED_DIR", tmp_path / "none-shipped")
    first = SchemaLibrary().for_object("apps/v1", "Deployment")
    (cached,) = (tmp_path / "kwa" / "schema").glob("v1.*-local-*.json")
    stale = cached.with_name(cached.name.rsplit("-", 3)[0] + "-1-2-oldsource.json")
    stale.write_text("{}")
    again = SchemaLibrary().for_object("apps/v1", "Deployment")  # from the cache
    assert again.defs == first.defs and again.root == first.root
    cached.write_text("{damaged")
    rebuilt = SchemaLibrary().for_object("apps/v1", "Deployment")  # unreadable: rebuilt and rewritten
    assert rebuilt.defs == first.defs
    assert sorted(p.name for p in (tmp_path / "kwa" / "schema").iterdir()) == [cached.name]


def test_every_bundled_schema_reduces_to_an_acyclic_graph() -> None:
    """Validation depth is bounded only if no reduced definition reaches itself (jsonschema-rs
    recurses natively): self-references are cut; this guards against a longer cycle appearing in
    a future kubernetes-validate."""
    for bundle in SchemaLibrary().bundles:
        bundle._load()
        deps, state = bundle._deps, {}
        for root in deps:
            stack = [(root, iter(deps.get(root, ())))]
            state[root] = "open"
            while stack:
                name, children = stack[-1]
                child = next(children, None)
                if child is None:
                    state[name] = "done"
                    stack.pop()
                elif state.get(child) == "open":
                    pytest.fail(f"{bundle.label}: {child} reaches itself")
                elif child not in state:
                    state[child] = "open"
                    stack.append((child, iter(deps.get(child, ()))))


def test_a_validator_that_cannot_be_built_leaves_the_judgement_to_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    def cannot(self: TypeSchema) -> Any:
        raise RuntimeError("compile failed")

    lib = SchemaLibrary()
    monkeypatch.setattr("checks.objects.library", lambda: lib)
    monkeypatch.setattr(TypeSchema, "validator", cannot)
    bad = deployment("b")
    bad["spec"]["replicas"] = "x"
    admitted, malformed = screen([K8sObject(deployment("a"), "x", 0), K8sObject(bad, "x", 1)])
    assert [o.name for o in admitted] == ["a"]
    assert "spec.replicas must be an integer, got a string" in str(malformed[0])


def test_a_crd_is_checked_for_metadata_only() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "labels": "x"}}
    free = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "v"}, "spec": [1, "anything"]}
    s = snap(widget, free)
    assert [o.name for o in s.objects] == ["v"]
    assert "metadata.labels must be a mapping, got a string" in str(s.malformed[0])


@pytest.mark.parametrize(
    ("kind", "spec", "field"),
    [
        ("VerticalPodAutoscaler", {"targetRef": "web"}, "spec.targetRef must be a mapping"),
        ("VerticalPodAutoscaler", {"updatePolicy": {"updateMode": ["Auto"]}}, "spec.updatePolicy.updateMode must be"),
        ("ScaledObject", {"scaleTargetRef": {"name": 1}}, "spec.scaleTargetRef.name must be a string"),
        ("NodePool", "big", "spec must be a mapping"),
    ],
)
def test_custom_resources_the_checks_read_have_a_shape(kind: str, spec: Any, field: str) -> None:
    s = snap({"apiVersion": "x.io/v1", "kind": kind, "metadata": {"name": "a", "namespace": "shop"}, "spec": spec})
    assert s.objects == [] and field in str(s.malformed[0])


CONTAINER = ("template", "spec", "containers", 0)


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        (("replicas",), 2**31, "spec.replicas must be an int32 (-2147483648 to 2147483647), "
         "got an integer (2147483648)"),
        (("replicas",), 10**400, "got an integer of about 401 digits"),
        (("replicas",), float("inf"), "spec.replicas must be an integer, got a non-finite number (inf)"),
        (("replicas",), True, "spec.replicas must be an integer, got a boolean"),
        (("replicas",), "2", "spec.replicas must be an integer, got a string"),
        (("template", "spec", "terminationGracePeriodSeconds"), 2**63, "must be an int64"),
        ((*CONTAINER, "resources"), {"limits": {"cpu": 10**400}}, "within the range of a double"),
        ((*CONTAINER, "resources"), {"limits": {"cpu": float("nan")}}, "got a non-finite number (nan)"),
        ((*CONTAINER, "resources"), {"limits": {"cpu": [1]}}, "must be a string or a number"),
        ((*CONTAINER, "ports"), [{"containerPort": 80, "hostPort": "x"}], "hostPort must be an integer"),
    ],
)
def test_wrong_types_ranges_and_non_finite_numbers_are_quarantined(path: tuple[Any, ...], value: Any, says: str):
    doc = deployment()
    target = doc["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    s = snap(doc)
    assert s.objects == []
    assert says in str(s.malformed[0]), str(s.malformed[0])


def test_int_or_string_and_quantity_accept_both_forms() -> None:
    doc = deployment(strategy={"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}})
    doc["spec"]["template"]["spec"]["containers"][0]["resources"] = {"requests": {"cpu": 0.5, "memory": "1Gi"}}
    assert len(snap(doc).objects) == 1


# ---- null ----------------------------------------------------------------------------------------


def test_null_is_unset_where_typed_and_kept_in_timestamps() -> None:
    doc = deployment(strategy=None, revisionHistoryLimit=None)
    doc["spec"]["template"]["metadata"]["creationTimestamp"] = None
    doc["spec"]["template"]["spec"]["nodeSelector"] = None
    doc["spec"]["template"]["spec"]["containers"][0].update(resources=None, env=None)
    s = snap(doc)
    assert s.malformed == []
    spec = s.objects[0].spec
    assert "strategy" not in spec and "revisionHistoryLimit" not in spec
    assert "nodeSelector" not in spec["template"]["spec"]
    assert set(spec["template"]["spec"]["containers"][0]) == {"name", "image"}
    assert spec["template"]["metadata"]["creationTimestamp"] is None  # the API's own "unset"


def test_a_null_list_item_is_a_wrong_type() -> None:
    doc = deployment()
    doc["spec"]["template"]["spec"]["containers"].append(None)
    s = snap(doc)
    assert "spec.template.spec.containers[1] must be a mapping, got null" in str(s.malformed[0])


def test_null_in_an_untyped_field_is_left_alone() -> None:
    doc = deployment()
    doc["spec"]["template"]["spec"]["containers"][0]["image"] = None  # typed: removed
    doc["spec"]["x-unknown"] = {"a": None}  # not a Kubernetes field: untouched
    s = snap(doc)
    assert s.objects and s.objects[0].spec["x-unknown"] == {"a": None}
    assert "image" not in s.objects[0].spec["template"]["spec"]["containers"][0]


# ---- values only YAML produces -------------------------------------------------------------------


def test_yaml_only_values_become_what_the_api_server_receives() -> None:
    doc = yaml.safe_load(
        """
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
  namespace: shop
  labels: {1: one, false: not-really}
  annotations: {kwa.io/exempt-until: 2026-03-31, seen: 2026-03-31T10:00:00Z}
data: {blob: !!binary aGVsbG8=}
"""
    )
    assert isinstance(doc["metadata"]["annotations"]["kwa.io/exempt-until"], date)
    s = snap(doc)
    assert s.malformed == []
    meta = s.objects[0].meta
    assert meta["labels"] == {"1": "one", "false": "not-really"}
    assert meta["annotations"] == {"kwa.io/exempt-until": "2026-03-31", "seen": "2026-03-31T10:00:00Z"}
    assert s.objects[0].raw["data"] == {"blob": "hello"}


def test_a_key_that_cannot_be_a_string_is_named() -> None:
    doc = deployment()
    doc["metadata"]["labels"] = {None: "x"}
    assert "metadata.labels.None must be a string key, got null as a key" in str(snap(doc).malformed[0])
    doc["metadata"]["labels"] = {10**5000: "x"}  # no repr at all (Python's 4,300-digit limit)
    assert "must be a string key, got an integer of about 5001 digits as a key" in str(snap(doc).malformed[0])


def test_a_lone_surrogate_becomes_a_replacement_character() -> None:
    doc = deployment()
    doc["metadata"]["labels"] = {"team": "a\ud800b"}
    doc["metadata"]["annotations"] = {1: "x"}  # forces the slow path, which normalises strings
    s = snap(doc)
    assert s.objects[0].labels["team"].encode("utf-8")


# ---- bounded, whatever the input -----------------------------------------------------------------


def _deep(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def test_deep_values_cost_no_recursion() -> None:
    typed = deployment("a")
    typed["metadata"]["labels"] = _deep(100_000)  # wrong type at the top: stops there
    untyped = deployment("b")
    untyped["spec"]["template"]["spec"]["x-extra"] = _deep(100_000)  # not a Kubernetes field
    nested = deployment("c")
    nested["metadata"]["annotations"] = {1: _deep(5_000)}  # slow path, walked without recursion
    s = snap(typed, untyped, nested)
    assert [o.name for o in s.objects] == ["b"]
    assert [m.name for m in s.malformed] == ["a", "c"]
    assert "metadata.labels.x must be a string, got a mapping" in str(s.malformed[0])
    assert "metadata.annotations.1 must be a string, got a mapping" in str(s.malformed[1])


def test_a_deeply_nested_crd_schema_does_not_crash_the_validator() -> None:
    """JSONSchemaProps refers to itself; jsonschema-rs would recurse natively and overflow the
    C stack (a segfault, measured at 100k levels). The reduction cuts self-references."""
    script = (
        "from checks.objects import K8sObject, screen\n"
        "v = {'type': 'object'}\n"
        "for _ in range(100000): v = {'type': 'object', 'properties': {'x': v}}\n"
        "crd = {'apiVersion': 'apiextensions.k8s.io/v1', 'kind': 'CustomResourceDefinition',"
        " 'metadata': {'name': 'w.example.com'}, 'spec': {'group': 'example.com', 'names': {'kind': 'W',"
        " 'plural': 'ws'}, 'scope': 'Namespaced', 'versions': [{'name': 'v1', 'served': True, 'storage': True,"
        " 'schema': {'openAPIV3Schema': v}}]}}\n"
        "ok, bad = screen([K8sObject(crd, 'crd.yaml', 0)])\n"
        "print(len(ok), len(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "0"]


def test_problems_are_capped_and_never_quote_long_values() -> None:
    doc = deployment()
    doc["spec"]["template"]["spec"]["containers"] = [{"name": "c", "image": ["x" * 100_000]} for _ in range(50)]
    bad = snap(doc).malformed[0]
    assert bad.total == 50 and len(bad.problems) == MAX_PROBLEMS
    assert "(and 47 more)" in bad.message() and len(bad.message()) < 500
    assert "xxxx" not in bad.message()


def test_a_small_chart_is_screened_well_within_a_second_from_a_cold_start() -> None:
    """Startup matters for a future `kwa lint`: only the kinds present are loaded and compiled."""
    script = (
        "import time\n"
        "t = time.perf_counter()\n"
        "from checks.objects import K8sObject, screen\n"
        "docs = []\n"
        "for i in range(10):\n"
        "    docs += [{'apiVersion': 'apps/v1', 'kind': 'Deployment', 'metadata': {'name': f'd{i}', 'namespace': 'a'},"
        " 'spec': {'template': {'spec': {'containers': [{'name': 'c', 'image': 'i'}]}}}},"
        " {'apiVersion': 'v1', 'kind': 'Service', 'metadata': {'name': f's{i}', 'namespace': 'a'}, 'spec': {}},"
        " {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': f'c{i}', 'namespace': 'a'}},"
        " {'apiVersion': 'v1', 'kind': 'ServiceAccount', 'metadata': {'name': f'a{i}', 'namespace': 'a'}},"
        " {'apiVersion': 'autoscaling/v2', 'kind': 'HorizontalPodAutoscaler', 'metadata': {'name': f'h{i}',"
        " 'namespace': 'a'}, 'spec': {'maxReplicas': 3, 'scaleTargetRef': {'kind': 'Deployment', 'name': 'd'}}}]\n"
        "ok, bad = screen([K8sObject(d, 'chart.yaml', n) for n, d in enumerate(docs)])\n"
        "print(len(ok), len(bad), time.perf_counter() - t)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    admitted, malformed, seconds = done.stdout.split()
    assert (admitted, malformed) == ("50", "0")
    assert float(seconds) < 1.0  # measured ~0.1 s; the margin is for a loaded machine


# ---- quarantine rows -----------------------------------------------------------------------------


def test_every_check_that_would_evaluate_a_quarantined_object_reports_it_once() -> None:
    bad = deployment("web")
    bad["spec"]["template"]["metadata"]["labels"] = "app=web"
    s = snap(deployment("api"), bad).prepare()
    config = Config()
    for check in load_all().all():
        rows = [r for r in evaluate(check, s, config) if r.name == "web"]
        runs = preflight(check, s, config) is None
        would = runs and (not check.requires or "Deployment" in check.requires)
        if not would:
            assert rows == [], check.id
            continue
        assert len(rows) == 1, (check.id, rows)
        (row,) = rows
        if check.id == "OPS-012":  # the schema check judges it: failing, the field's type named
            assert row.status is Status.FAILING and row.source == "app.yaml#1"
            assert row.details["violations"] == [
                {"path": "spec.template.metadata.labels", "message": "must be a mapping, got a string"}
            ]
            continue
        assert row.status is Status.ERROR and row.reason == ErrorReason.MALFORMED
        assert row.source == "app.yaml#1"
        assert row.message == (
            "Deployment/shop/web (app.yaml#1): spec.template.metadata.labels must be a mapping, got a string"
        )
        assert row.details["problems"] == [
            {"path": "spec.template.metadata.labels", "expected": "a mapping", "got": "a string"}
        ]


def test_quarantine_rows_alone_do_not_make_a_check_errored() -> None:
    quarantine = Result(Status.ERROR, "x", kind="Deployment", name="web", reason=ErrorReason.MALFORMED)
    assert outcome_of_results([quarantine]) is CheckOutcome.EXECUTED
    crash = Result(Status.ERROR, "y", kind="Deployment", name="api", reason=ErrorReason.CHECK_ERROR)
    assert outcome_of_results([quarantine, crash]) is CheckOutcome.ERRORED
    assert outcome_of_results([Result(Status.ERROR, "resource not listed")]) is CheckOutcome.ERRORED


def test_the_snapshot_reports_quarantined_objects_as_input_problems() -> None:
    bad = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": 123}}
    s = snap(deployment(), bad)
    assert [str(p) for p in s.problems] == [
        "app.yaml (document 1): Namespace/123 is malformed and was not assessed: "
        "metadata.name must be a string, got an integer (123)"
    ]
    facts = s.malformed_facts()
    assert facts["count"] == 1 and facts["first"][0]["object"] == "Namespace/123"
    assert facts["first"][0]["source"] == "app.yaml#1"


# ---- the safety net ------------------------------------------------------------------------------


def _check(func: Any, requires: tuple[str, ...] = ("Deployment",), **kw: Any) -> CheckDefinition:
    return CheckDefinition(
        id="OPS-991", pillar=Pillar.OPERATIONAL_EXCELLENCE, name="t", severity=Severity.LOW, description="t",
        remediation="t", mode=Mode.MANIFEST, func=func, requires=requires, **kw,
    )


def _team(ctx: CheckContext) -> Iterator[Result]:
    for d in ctx.snapshot.of_kind("Deployment"):
        yield ctx.ok(d, d.labels["team"])


def _labelled(*names: str, unlabelled: tuple[str, ...] = ()) -> Snapshot:
    docs = []
    for name in names:
        doc = deployment(name)
        if name not in unlabelled:
            doc["metadata"]["labels"] = {"team": f"team-{name}"}
        docs.append(doc)
    return snap(*docs).prepare()


def test_a_check_that_fails_on_one_object_blames_it_and_judges_the_rest() -> None:
    s = _labelled(*(f"d{i}" for i in range(40)), unlabelled=("d17",))
    rows = evaluate(_check(_team), s, Config())
    errors = [r for r in rows if r.status is Status.ERROR]
    assert [(r.name, r.reason, r.source) for r in errors] == [("d17", ErrorReason.CHECK_ERROR, "app.yaml#17")]
    head = "Deployment/shop/d17 (app.yaml#17): OPS-991 failed on this object (KeyError: 'team'"
    assert errors[0].message.startswith(head)
    assert "at tests/" not in errors[0].message  # only frames inside checks/ are named
    assert sorted(r.message for r in rows if r.status is Status.PASSING) == sorted(
        f"team-d{i}" for i in range(40) if i != 17
    )


def test_several_culprits_are_found() -> None:
    s = _labelled(*(f"d{i}" for i in range(30)), unlabelled=("d3", "d4", "d29"))
    rows = evaluate(_check(_team), s, Config())
    assert sorted(r.name for r in rows if r.status is Status.ERROR) == ["d29", "d3", "d4"]
    assert len([r for r in rows if r.status is Status.PASSING]) == 27


def test_past_the_culprit_bound_the_check_errors_as_a_whole() -> None:
    names = [f"d{i}" for i in range(20)]
    s = _labelled(*names, unlabelled=tuple(names[: MAX_CULPRITS + 1]))
    with pytest.raises(KeyError):
        evaluate(_check(_team), s, Config())


def test_a_failure_no_object_explains_propagates_after_one_try() -> None:
    calls = []

    def broken(ctx: CheckContext) -> Iterator[Result]:
        calls.append(len(ctx.snapshot.objects))
        raise ValueError("the check's own bug")
        yield

    with pytest.raises(ValueError, match="own bug"):
        evaluate(_check(broken), _labelled("a", "b", "c"), Config())
    assert calls == [3, 0]  # the real run, then one without any candidate


def test_the_search_is_bounded_in_evaluations_and_time() -> None:
    calls = []

    def flaky(ctx: CheckContext) -> Iterator[Result]:
        calls.append(1)
        if len(ctx.snapshot.objects) > 1:
            raise RuntimeError("needs company")
        yield from ()

    s = _labelled(*(f"d{i}" for i in range(2000)))
    with pytest.raises(RuntimeError):
        evaluate(_check(flaky), s, Config())
    assert len(calls) <= MAX_EVALUATIONS + 1
    calls.clear()
    slow_started = time.monotonic()

    def slow(ctx: CheckContext) -> Iterator[Result]:
        time.sleep(0.05)
        raise RuntimeError("always")
        yield

    with pytest.raises(RuntimeError):
        evaluate(_check(slow, requires=()), s, Config(), deadline=time.monotonic() + 0.01)
    assert time.monotonic() - slow_started < 1.0


_built: list[int] = []


@register_index("test.boundary.deployment-count")
def _count_deployments(s: Snapshot) -> int:
    _built.append(1)
    return len(s.of_kind("Deployment"))


def test_snapshots_rebuilt_for_the_search_are_complete() -> None:
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "namespace": "shop"},
        "spec": {"maxReplicas": 4, "minReplicas": 3, "scaleTargetRef": {"kind": "Deployment", "name": "b"}},
    }
    s = snap(deployment("a"), deployment("b"), deployment("c"), hpa).prepare()
    without = s.without([s.get("Deployment", "shop", "a")])
    assert [o.name for o in without.of_kind("Deployment")] == ["b", "c"]
    assert without.get("Deployment", "shop", "a") is None
    assert [w.name for w in without.workloads()] == ["b", "c"]
    assert [w.name for w in without.select_workloads("shop", {"matchLabels": {"app": "a"}})] == []
    assert without.hpa_for(without.get("Deployment", "shop", "b")) is not None
    assert without.index("test.boundary.deployment-count") == 2 and s.index("test.boundary.deployment-count") == 3
    assert without.malformed == s.malformed and without.mode == s.mode


def test_exemptions_are_resolved_against_the_rebuilt_snapshot() -> None:
    s = _labelled("a", "b", "c", unlabelled=("c",))
    exempt = s.get("Deployment", "shop", "b")
    exempt.raw["metadata"]["annotations"] = {"kwa.io/exempt": "all", "kwa.io/exempt-reason": "test"}
    rows = {r.name: r for r in evaluate(_check(_team), s, Config())}
    assert rows["c"].status is Status.ERROR
    assert rows["b"].status is Status.SKIPPED and rows["b"].reason == "exempt:annotation"
    assert rows["a"].status is Status.PASSING


def test_validation_holds_no_state_between_snapshots() -> None:
    """The same library serves every snapshot of a process; a second snapshot is judged afresh."""
    first = screen([K8sObject(deployment("a"), "x", 0)])
    doc = deployment("a")
    doc["spec"]["replicas"] = "two"
    second = screen([K8sObject(doc, "x", 0)])
    assert len(first[0]) == 1 and len(second[1]) == 1
    assert library() is library()


def test_datetime_values_compare_as_the_api_writes_them() -> None:
    doc = deployment()
    doc["metadata"]["creationTimestamp"] = datetime(2026, 1, 2, 3, 4, 5)
    doc["metadata"]["labels"] = {2: "x"}  # slow path
    s = snap(doc)
    assert s.objects[0].meta["creationTimestamp"] == "2026-01-02T03:04:05"
