"""CEL check files (checks.cel.files, checks.cel.spec): loading, refusals, results, config,
exemptions, the ConfigMap source and the snapshot hook of checks.dynamic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks import dynamic
from checks.cel.configmaps import LABEL, ConfigMapChecks
from checks.cel.files import load_paths
from checks.cel.spec import CheckFileError
from checks.config import Config, ConfigError
from checks.k8sobject import K8sObject
from checks.metadata import CheckRegistrationError
from checks.model import CheckDefinition, Mode, Pillar, Severity, Status
from checks.registry import REGISTRY, load_all
from checks.runner import evaluate
from checks.snapshot import Snapshot

MINIMAL = """\
apiVersion: kwa.io/v1
kind: Check
metadata: {name: CUS-001}
spec:
  pillar: operational-excellence
  name: Team label required
  severity: medium
  description: Every workload names its owning team.
  remediation: Add a team label.
  match: {kinds: [Deployment, StatefulSet]}
  validations:
    - expression: "has(object.metadata.labels) && 'team' in object.metadata.labels"
      message: "no team label"
"""


def check_yaml(check_id: str = "CUS-100", expression: str = "true", **spec: str) -> str:
    extra = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return (
        f"apiVersion: kwa.io/v1\nkind: Check\nmetadata: {{name: {check_id}}}\nspec:\n"
        "  pillar: reliability\n  name: A check\n  severity: low\n  description: d\n  remediation: r\n"
        f"{extra}"
        + ("" if "match" in spec else "  match: {kinds: [Deployment]}\n")
        + ("" if "validations" in spec else f"  validations:\n    - expression: {expression!r}\n      message: bad\n")
    )


def deployment(name: str, namespace: str = "shop", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        # Valid against the Kubernetes schema (selector and template as apps/v1 requires): an invalid
        # object is never passing for any check (OPS-012's rule), which is not what these tests judge.
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
            **spec,
        },
    }


def snapshot(*raws: dict[str, Any], mode: str = "manifest") -> Snapshot:
    return Snapshot([K8sObject(r, source="test.yaml", index=i) for i, r in enumerate(raws)], mode=mode).prepare()


@pytest.fixture
def registered(tmp_path: Path) -> Iterator[Any]:
    """Register check files into kwa's registry (as --checks-dir does) and remove them afterwards."""
    load_all()
    added: list[str] = []
    folders = iter(range(100))

    def register(text: str, name: str = "checks.yaml") -> list[CheckDefinition]:
        folder = tmp_path / f"dir{next(folders)}"
        folder.mkdir()
        (folder / name).write_text(text)
        definitions = load_paths([folder])
        added.extend(d.id for d in definitions)
        return definitions

    yield register
    for check_id in added:
        REGISTRY.unregister(check_id)


def test_the_minimal_file_of_the_issue_loads_and_judges(registered: Any) -> None:
    (check,) = registered(MINIMAL)
    assert (check.id, check.pillar, check.severity, check.requires) == (
        "CUS-001", Pillar.OPERATIONAL_EXCELLENCE, Severity.MEDIUM, ("Deployment", "StatefulSet"),
    )  # fmt: skip
    assert check.origin.startswith("cel:") and REGISTRY.by_id("cus-001") is check
    results = evaluate(check, snapshot(deployment("a", labels={"team": "x"}), deployment("b")))
    assert [(r.name, r.status, r.message) for r in results] == [
        ("a", Status.PASSING, ""),
        ("b", Status.FAILING, "no team label"),
    ]
    assert [r.source for r in results] == ["test.yaml#0", "test.yaml#1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (check_yaml("SEC-900"), "prefix SEC is reserved for kwa's built-in checks"),
        (check_yaml("VAP-mine"), "id prefix VAP is reserved for vap"),
        (check_yaml("cus"), "metadata.name must be a prefix"),
        (check_yaml(severity="urgent"), "spec.severity: 'urgent' is not one of critical"),
        (check_yaml(pillar="speed"), "spec.pillar: 'speed' is not one of"),
        (check_yaml(match="{namespaces: [a]}"), "spec.match.kinds: expected a list of strings"),
        (check_yaml(match="{kinds: [Pod], selector: {}}"), "spec.match: unknown key(s) selector"),
        (check_yaml(validations="[]"), "spec.validations: a non-empty list"),
        (check_yaml(validations="[{expression: 'true'}]"), "give a message or a messageExpression"),
        (check_yaml(frobnicate="1"), "spec: unknown key(s) frobnicate"),
        ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n", "not a check (apiVersion 'v1', kind 'ConfigMap')"),
        ("a: [", "not valid YAML"),
    ],
)
def test_a_bad_file_is_refused_naming_file_check_and_field(registered: Any, text: str, expected: str) -> None:
    with pytest.raises(CheckRegistrationError) as info:
        registered(text)
    message = str(info.value)
    assert expected in message and "checks.yaml" in message, message


def test_a_compile_error_names_file_position_check_and_expression_position(tmp_path: Path) -> None:
    text = MINIMAL.replace("'team' in object.metadata.labels", "object.metadata.?labels")
    (tmp_path / "team.yaml").write_text(text)
    with pytest.raises(CheckFileError) as info:
        load_paths([tmp_path])
    message = str(info.value)
    # Line 12 of the file; the expression's text starts at column 20 (after the quote) and its
    # ".?" is at the expression's column 47, so the file's column 66.
    assert message.startswith(f"{tmp_path / 'team.yaml'}:12:66: check CUS-001 spec.validations[0].expression: ")
    assert message.endswith("expression line 1, column 47: unsupported syntax '.?'"), message
    assert "CUS-001" not in REGISTRY


def test_a_compile_error_in_a_block_scalar_points_into_the_file(tmp_path: Path) -> None:
    text = check_yaml(validations="\n    - message: m\n      expression: |-\n        true &&\n          nope(1)\n")
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(CheckFileError) as info:
        load_paths([tmp_path])
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "nope(1)" in t)
    assert f"c.yaml:{line}:" in str(info.value) and "undeclared function 'nope'" in str(info.value)


def test_ids_never_collide(registered: Any, tmp_path: Path) -> None:
    registered(check_yaml("CUS-200"))
    with pytest.raises(CheckRegistrationError, match="CUS-200: id already registered by cel:"):
        registered(check_yaml("cus-200"))
    with pytest.raises(CheckFileError, match="check CUS-300 is declared twice"):
        registered(check_yaml("CUS-300") + "---\n" + check_yaml("CUS-300"))
    assert "CUS-300" not in REGISTRY
    # Loading the same files again (the CLI, then the flow in the same process) is no collision.
    again = tmp_path / "dir0"
    assert [d.id for d in load_paths([again])] == ["CUS-200"]


def test_one_bad_check_in_a_file_registers_none_of_it(registered: Any) -> None:
    with pytest.raises(CheckRegistrationError):
        registered(check_yaml("CUS-401") + "---\n" + check_yaml("CUS-402", severity="nope"))
    assert "CUS-401" not in REGISTRY


def test_an_evaluation_error_is_an_error_result_never_passing(registered: Any) -> None:
    text = check_yaml(
        "CUS-500",
        validations=(
            "\n    - {expression: 'object.spec.replicas >= 2', message: too few}"
            "\n    - {expression: 'object.spec.replicas', message: not a bool}"
            "\n    - {expression: 'true', messageExpression: 'object.nope', message: fallback}"
            "\n    - expression: 'object.spec.replicas > 5'"
            "\n      messageExpression: \"'only %d'.format([object.spec.replicas])\""
        ),
    )
    (check,) = registered(text)
    results = evaluate(check, snapshot(deployment("no-replicas"), deployment("three", replicas=3)))
    got = [(r.name, r.status.value, r.message) for r in results]
    assert got == [
        ("no-replicas", "error", "validations[0]: no such key: replicas"),
        ("no-replicas", "error", "validations[1]: no such key: replicas"),
        ("no-replicas", "error", "validations[3]: no such key: replicas"),
        ("three", "error", "validations[1]: the expression returned int, not a bool"),
        ("three", "failing", "only 3"),
    ]


def test_a_variable_error_is_one_error_result(registered: Any) -> None:
    text = check_yaml(
        "CUS-501", variables="[{name: r, expression: 'object.spec.replicas'}]", expression="variables.r > 1"
    )
    (check,) = registered(text)
    results = evaluate(check, snapshot(deployment("a"), deployment("b", replicas=2)))
    assert [(r.name, r.status.value, r.message) for r in results] == [
        ("a", "error", "variables.r: no such key: replicas"),
        ("b", "passing", ""),
    ]


def test_nothing_matching_is_skipped_not_applicable(registered: Any) -> None:
    (check,) = registered(check_yaml("CUS-502", match="{kinds: [CronJob]}"))
    (result,) = evaluate(check, snapshot(deployment("a")))
    assert (result.status, result.reason, result.message) == (
        Status.SKIPPED,
        "not-applicable",
        "no object matches (CronJob)",
    )


def test_match_selectors_and_request_and_namespace_object(registered: Any) -> None:
    text = check_yaml(
        "CUS-503",
        match=(
            "{kinds: ['*'], namespaces: [shop, dev], excludeNamespaces: [dev], "
            "namespaceSelector: {matchLabels: {tier: web}}, "
            "objectSelector: {matchExpressions: [{key: skip, operator: DoesNotExist}]}}"
        ),
        params="{want: shop}",
        expression=(
            "request.operation == 'AUDIT' && request.kind.kind == object.kind && request.kind.group == 'apps' "
            "&& namespaceObject.metadata.name == params.want && oldObject == null"
        ),
    )
    (check,) = registered(text)
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"tier": "web"}}}
    snap = snapshot(ns, deployment("in"), deployment("skipped", labels={"skip": "1"}), deployment("dev", "dev"))
    assert [(r.name, r.status.value) for r in evaluate(check, snap)] == [("in", "passing")]


def test_config_severity_disable_timeout_and_exemptions_apply(registered: Any, tmp_path: Path) -> None:
    (check,) = registered(check_yaml("CUS-600", expression="false"))
    config = Config.from_dict(
        {
            "severity": {"cus-600": "critical"},
            "checks": {"CUS-600": {"timeout": 7}},
            "exemptions": [{"checks": ["CUS-600"], "names": ["exempt-*"], "reason": "legacy"}],
        }
    )
    assert config.severity_for(check) is Severity.CRITICAL
    results = evaluate(check, snapshot(deployment("exempt-a"), deployment("b")), config)
    assert [(r.name, r.status.value) for r in results] == [("exempt-a", "skipped"), ("b", "failing")]
    assert results[0].reason.startswith("exempt:")
    # A pillar-wide exemption covers a CEL check of that pillar; an annotation names it by id.
    by_pillar = Config.from_dict({"exemptions": [{"checks": ["reliability"], "names": ["b"], "reason": "x"}]})
    annotated = deployment("c")
    annotated["metadata"]["annotations"] = {"kwa.io/exempt": "CUS-600", "kwa.io/exempt-reason": "known"}
    results = evaluate(check, snapshot(deployment("b"), annotated), by_pillar)
    assert [(r.name, r.status.value) for r in results] == [("b", "skipped"), ("c", "skipped")]
    disabled = evaluate(check, snapshot(deployment("b")), Config.from_dict({"disabled": ["CUS-600"]}))
    assert [(r.status.value, r.reason) for r in disabled] == [("skipped", "disabled")]


def test_config_file_loads_its_checks_dirs_relative_to_itself(tmp_path: Path) -> None:
    load_all()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yaml").write_text(check_yaml("CUS-700"))
    (tmp_path / "kwa.yaml").write_text("checks_dirs: [rules]\nseverity: {CUS-700: high}\n")
    try:
        config = Config.load(tmp_path / "kwa.yaml")
        assert config.checks_dirs == [str(tmp_path / "rules")]
        assert config.severity_for(REGISTRY.by_id("CUS-700")) is Severity.HIGH
    finally:
        REGISTRY.unregister("CUS-700")
    (tmp_path / "kwa.yaml").write_text("checks_dirs: [missing]\n")
    with pytest.raises(ConfigError, match=r"checks_dirs: .*missing: no such checks directory"):
        Config.load(tmp_path / "kwa.yaml")


def configmap(name: str, data: dict[str, str], labelled: bool = True) -> dict[str, Any]:
    labels = {LABEL: "true"} if labelled else {}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "kwa", "labels": labels},
        "data": data,
    }


def test_labelled_configmaps_become_checks_in_live_mode() -> None:
    load_all()
    source = ConfigMapChecks()
    good = configmap("team-checks", {"team.yaml": MINIMAL.replace("CUS-001", "CUS-801")})
    broken = configmap("broken", {"x.yaml": check_yaml("CUS-802", expression="nope(")})
    ignored = configmap("other", {"a.yaml": check_yaml("CUS-803")}, labelled=False)
    live = snapshot(good, broken, ignored, deployment("a"), mode="live")
    made = source.checks_for(live)
    assert [d.id for d in made] == ["CUS-801"] and made[0].origin == "cel:configmap/kwa/team-checks/team.yaml"
    assert len(source.problems) == 1 and source.problems[0].startswith("ConfigMap kwa/broken key x.yaml")
    assert source.checks_for(snapshot(good, mode="manifest")) == []


def test_snapshot_checks_registers_what_sources_make_and_keeps_the_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    load_all()

    class Source:
        prefix = "TST"

        def checks_for(self, snap: Snapshot) -> list[CheckDefinition]:
            return [
                CheckDefinition(
                    id=f"TST-{o.name}", pillar=Pillar.SECURITY, name="n", severity=Severity.LOW, description="d",
                    remediation="r", mode=Mode.MANIFEST,
                    func=lambda ctx: [], origin=f"tst:{o.name}",
                )
                for o in snap.of_kind("Deployment")
            ]  # fmt: skip

    monkeypatch.setattr(dynamic, "_SOURCES", [])
    monkeypatch.setattr(dynamic, "_RESERVED", {**dynamic._RESERVED})
    dynamic.add_check_source(Source(), owner="tst")
    snap = snapshot(deployment("one"), deployment("two"))
    try:
        added, problems = dynamic.snapshot_checks(snap)
        assert [d.id for d in added] == ["TST-one", "TST-two"] and problems == []
        assert REGISTRY.by_id("tst-one").origin == "tst:one"
        # The config may name them before they exist (their prefix is deferred to the snapshot).
        # In the lower-case spelling a source's check takes from a Kubernetes object's name, so that
        # the check's own id (TST-three) finds it.
        assert Config.from_dict({"severity": {"TST-THREE": "high"}}).severity["TST-three"] is Severity.HIGH
        added, _ = dynamic.snapshot_checks(snap, checks=["TST-two"])
        assert [d.id for d in added] == ["TST-two"]
        added, _ = dynamic.snapshot_checks(snap, pillars=["reliability"])
        assert added == []
        assert REGISTRY.select(ids=["TST-later"]) == []  # asked for before the snapshot: picked later
    finally:
        for check_id in ("TST-one", "TST-two"):
            REGISTRY.unregister(check_id)


def test_a_cross_object_check_pins_each_error_on_its_object(registered: Any) -> None:
    # Evaluated for every object at once (checks.cel.batch): an object that fails must not
    # take the others' verdicts with it.
    text = check_yaml(
        "CUS-900",
        variables=(
            "[{name: mine, expression: "
            "'objects.Deployment.filter(d, has(d.spec.replicas) && d.spec.replicas == object.spec.replicas)'}]"
        ),
        validations=(
            "\n    - expression: 'size(variables.mine) == 1'"
            "\n      messageExpression: \"'%d others with %d replicas'"
            '.format([size(variables.mine) - 1, object.spec.replicas])"'
        ),
    )
    (check,) = registered(text)
    snap = snapshot(
        deployment("a", replicas=1), deployment("b", replicas=2), deployment("c"), deployment("d", replicas=2)
    )
    results = evaluate(check, snap)
    assert [(r.name, r.status.value, r.message) for r in results] == [
        ("a", "passing", ""),
        ("b", "failing", "1 others with 2 replicas"),
        ("c", "error", "variables.mine: no such key: replicas"),
        ("d", "failing", "1 others with 2 replicas"),
    ]


def test_a_scope_forgets_the_checks_registered_inside_and_keeps_those_from_before(
    registered: Any, tmp_path: Path
) -> None:
    """One run's check files (and its snapshot's policies) leave the registry with the run; a check
    registered before the scope (the CLI's --checks-dir) stays, even when the run loads it again."""
    (kept,) = registered(check_yaml("CUS-610"))
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "c.yaml").write_text(check_yaml("CUS-611"))
    with dynamic.scoped():
        load_paths([inner, tmp_path / "dir0"])  # dir0: the kept check's folder, loaded again
        assert "CUS-611" in REGISTRY and "CUS-610" in REGISTRY
    assert "CUS-611" not in REGISTRY
    assert REGISTRY.by_id("CUS-610") is kept  # the earlier registration, not the run's copy of it
    with dynamic.scoped(), pytest.raises(RuntimeError):  # a run that fails leaves nothing behind either
        load_paths([inner])
        raise RuntimeError("the run failed")
    assert "CUS-611" not in REGISTRY


def test_a_check_file_is_held_to_the_manifests_limits_before_anything_is_built(registered: Any) -> None:
    """A check file may come from a cluster (a ConfigMap of checks): nesting that would exhaust the
    parser's recursion and an alias bomb are refused by name, never a RecursionError or a blow-up."""
    deep = check_yaml("CUS-920") + "  params: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(CheckFileError, match=r"nested deeper than limits\.depth \(100\) \(line \d+, column"):
        registered(deep)
    bomb = ["  params:", '    a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    bomb += [f"    a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]
    with pytest.raises(CheckFileError, match=r"expands to more than limits\.alias_nodes"):
        registered(check_yaml("CUS-921") + "\n".join(bomb) + "\n")
    assert "CUS-920" not in REGISTRY and "CUS-921" not in REGISTRY
