"""The config file: default location, validation errors that name the key, every setting checks read."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.config import SETTINGS, SETTINGS_LIST, TOP_LEVEL_SETTINGS, Config, ConfigError
from checks.model import Severity, Status
from checks.registry import BUILTIN_PACKAGES, load_all
from checks.runner import evaluate
from checks.snapshot import K8sObject, Snapshot
from checks.sources.manifests import load_manifests

REPO = Path(__file__).resolve().parents[2]


def error_of(data: Any) -> str:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data, "kwa.yaml")
    return str(info.value)


# ---- default location ---------------------------------------------------------------------------

def test_default_path_prefers_kwa_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = tmp_path / "explicit.yaml"
    explicit.write_text("thresholds: {min_replicas: 3}\n")
    xdg = tmp_path / "xdg"
    (xdg / "kwa").mkdir(parents=True)
    (xdg / "kwa" / "config.yaml").write_text("thresholds: {min_replicas: 4}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("KWA_CONFIG", str(explicit))
    assert Config.default_path() == explicit
    assert Config.load(None).thresholds["min_replicas"] == 3
    monkeypatch.delenv("KWA_CONFIG")
    assert Config.default_path() == xdg / "kwa" / "config.yaml"
    cfg = Config.load(None)
    assert cfg.thresholds["min_replicas"] == 4 and cfg.path == str(xdg / "kwa" / "config.yaml")


def test_default_path_falls_back_to_home_config_then_builtins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KWA_CONFIG", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Config.default_path() is None
    assert Config.load(None) == Config()
    (tmp_path / ".config" / "kwa").mkdir(parents=True)
    (tmp_path / ".config" / "kwa" / "config.yaml").write_text("disabled: [SEC-001]\n")
    assert Config.load(None).disabled == {"SEC-001"}


def test_missing_explicit_kwa_config_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KWA_CONFIG", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match=r"cannot read config .*nope.yaml"):
        Config.load(None)


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("thresholds: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Config.load(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n")
    assert Config.load(empty).thresholds == Config().thresholds


def test_example_config_at_repo_root_is_valid() -> None:
    cfg = Config.load(REPO / "kwa.example.yaml")
    assert cfg.thresholds["min_replicas"] == 2
    assert cfg.exemption_rules, "the example documents exemption rules"


# ---- validation names the key -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"thresholds": {"min_replicas": "two"}}, "kwa.yaml: thresholds.min_replicas: expected an integer, got 'two'"),
        ({"thresholds": {"min_replicas": True}}, "thresholds.min_replicas: expected an integer, got True"),
        ({"thresholds": {"min_replicas": 0}}, "thresholds.min_replicas: must be at least 1, got 0"),
        ({"thresholds": {"memory_limit_request_ratio": "x"}},
         "thresholds.memory_limit_request_ratio: expected a number"),
        ({"thresholds": {"overprovision_cpu_ratio": 20}}, "thresholds.overprovision_cpu_ratio: must be at most 1"),
        ({"thresholds": {"cpu_limit_policy": "loud"}}, "thresholds.cpu_limit_policy: expected one of off, warning"),
        ({"thresholds": {"require_digest": "yes"}}, "thresholds.require_digest: expected true or false"),
        ({"thresholds": {"required_labels": [1]}}, "thresholds.required_labels[0]: expected a non-empty string, got 1"),
        ({"thresholds": {"kubernetes_version": 1.30}}, "thresholds.kubernetes_version: write the version as a quoted"),
        ({"thresholds": {"kubernetes_version": "latest"}},
         "thresholds.kubernetes_version: expected a Kubernetes version"),
        ({"thresholds": {"nonprod_namespace_selectors": [{"matchExpressions": [{"key": "env", "operator": "Is"}]}]}},
         "thresholds.nonprod_namespace_selectors[0].matchExpressions[0].operator: expected one of In, NotIn"),
        ({"thresholds": {"min_replica": 2}}, "thresholds.min_replica: unknown setting; known settings: "),
        ({"thresholds": [1]}, "thresholds: expected a mapping"),
        ({"treshold": {}},
         "treshold: unknown key; known keys: allow_annotation_exemptions, checks, checks_dirs, default_exemptions"),
        ({"min_replicas": 3}, "min_replicas: unknown key (it is a setting: put it under thresholds.min_replicas)"),
        ({"registry_allow_list": ["r"], "thresholds": {"registry_allow_list": ["s"]}},
         "registry_allow_list: set both at the top level and as thresholds.registry_allow_list"),
        ({"checks": {"SEC-999": {}}}, "checks.SEC-999: unknown check id 'SEC-999'; valid SEC ids: SEC-001..SEC-031"),
        ({"checks": {"PERF-004": {"cpu_limit_policy": "sometimes"}}}, "checks.PERF-004.cpu_limit_policy: expected one"),
        ({"checks": {"PERF-004": {"min_replicas": 3}}},
         "checks.PERF-004.min_replicas: PERF-004 does not read min_replicas (it is read by REL-005, REL-016)"),
        ({"checks": {"REL-005": {"colour": "red"}}},
         "checks.REL-005.colour: unknown setting; REL-005 reads: timeout, min_"),
        ({"checks": {"REL-005": {"timeout": -1}}}, "checks.REL-005.timeout: expected a positive number of seconds"),
        ({"checks": {"REL-005": 3}}, "checks.REL-005: expected a mapping of setting to value, got 3"),
        ({"enabled": ["SEC-0050"]}, "enabled[0]: 'SEC-0050' is neither a check id"),
        ({"enabled": ["SEC-099"]}, "enabled[0]: unknown check id 'SEC-099'"),
        ({"disabled": ["SEC-001", "REL-100"]},
         "disabled[1]: unknown check id 'REL-100'; valid REL ids: REL-001..REL-023"),
        ({"disabled": {"SEC-001": True}}, "disabled: expected a list of check ids or pillar names"),
        ({"enabled": ["SEC-005"], "disabled": ["security"]}, "enabled/disabled: SEC-005 is both enabled and disabled"),
        ({"severity": {"SEC-001": "urgent"}}, "severity.SEC-001: expected one of critical, high, medium, low, info"),
        ({"severity": {"XYZ-001": "high"}}, "severity.XYZ-001: unknown check id 'XYZ-001'; valid ids: "),
        ({"allow_annotation_exemptions": "no"}, "allow_annotation_exemptions: expected true or false, got 'no'"),
        ({"default_exemptions": "off"}, "default_exemptions: expected true, false or {disable"),
        ({"default_exemptions": {"disable": ["kube-proxy-typo"]}},
         "default_exemptions.disable[0]: no shipped exemption named 'kube-proxy-typo'; shipped: "),
        ({"default_exemptions": {"drop": []}}, "default_exemptions.drop: unknown key (known: disable, except)"),
        ({"exemptions": {"namespace": "x"}}, "exemptions: expected a list of rules"),
        ({"exemptions": [{"namespaces": ["x"]}]}, "exemptions[0].checks: required"),
        ({"exemptions": [{"checks": ["SEC-001"], "namespace": "x"}]}, "exemptions[0].namespace: unknown key (known: "),
        ({"exemptions": [{"checks": ["SEC-042"]}]}, "exemptions[0].checks[0]: unknown check id 'SEC-042'"),
        ({"exemptions": [{"checks": ["securiti"]}]}, "exemptions[0].checks[0]: 'securiti' is neither a check id"),
        ({"exemptions": [{"checks": "all", "except": ["all"]}]}, "exemptions[0].except[0]: 'all' is neither"),
        ({"exemptions": [{"checks": "all", "until": "next week"}]},
         "exemptions[0].until: expected an ISO date like 2026-03-31, got 'next week'"),
        ({"exemptions": [{"checks": "all", "namespaces": [""]}]}, "exemptions[0].namespaces[0]: expected a non-empty"),
        ({"exemptions": [{"checks": "all", "selector": {"matchLabel": {}}}]},
         "exemptions[0].selector.matchLabel: unknown key (known: matchExpressions, matchLabels)"),
        ({"exemptions": [{"checks": "all", "selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}]},
         "exemptions[0].selector.matchExpressions[0].values: operator In needs a non-empty list"),
        ({"exemptions": [{"checks": "all", "name": "a"}, {"checks": "all", "name": "a"}]},
         "exemptions[1].name: duplicate name 'a'"),
        ({"exemptions": [{"checks": "all", "source": "default"}]}, "exemptions[0].source: unknown key"),
        ([1, 2], "kwa.yaml: top level: expected a mapping of keys"),
    ],
)
def test_invalid_config_names_the_key(data: Any, expected: str) -> None:
    assert expected in error_of(data)


def test_load_error_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "kwa.yaml"
    path.write_text("thresholds:\n  min_replicas: two\n")
    with pytest.raises(ConfigError) as info:
        Config.load(path)
    assert str(info.value) == f"{path}: thresholds.min_replicas: expected an integer, got 'two'"


# ---- what a valid config means ------------------------------------------------------------------

def test_full_config_round_trip() -> None:
    cfg = Config.from_dict(
        {
            "thresholds": {"min_replicas": 3, "cpu_limit_policy": "Failing", "required_labels": "team"},
            "registry_allow_list": ["registry.example.com"],
            "kubernetes_version": "v1.32",
            "checks": {"perf-004": {"cpu_limit_policy": "off", "timeout": 60}, "SEC-001": None},
            "enabled": ["SEC-005", "performance"],
            "disabled": ["sustainability"],
            "severity": {"sec-001": "HIGH"},
            "allow_annotation_exemptions": False,
        }
    )
    assert cfg.thresholds["min_replicas"] == 3
    assert cfg.thresholds["cpu_limit_policy"] == "failing"
    assert cfg.thresholds["required_labels"] == ["team"]
    assert cfg.thresholds["registry_allow_list"] == ["registry.example.com"]
    assert cfg.thresholds["kubernetes_version"] == "v1.32"
    assert cfg.checks == {"PERF-004": {"cpu_limit_policy": "off", "timeout": 60.0}, "SEC-001": {}}
    assert cfg.setting("PERF-004", "cpu_limit_policy") == "off"
    assert cfg.setting("PERF-001", "cpu_limit_policy") == "failing"
    assert "SEC-005" in cfg.enabled and "PERF-006" in cfg.enabled
    assert {"SUS-001", "SUS-008"} <= cfg.disabled and not any(c.startswith("SEC") for c in cfg.disabled)
    registry = load_all()
    assert cfg.severity_for(registry.by_id("SEC-001")) is Severity.HIGH
    assert cfg.severity_for(registry.by_id("SEC-002")) is Severity.HIGH  # its own
    assert cfg.severity_for(registry.by_id("OPS-003")) is Severity.INFO
    assert cfg.allow_annotation_exemptions is False and cfg.exemptions.allow_annotations is False


def test_yaml_off_is_read_as_the_off_policy() -> None:
    # YAML 1.1 turns a bare `off` into false; the user meant the policy.
    cfg = Config.from_dict(yaml.safe_load("thresholds:\n  cpu_limit_policy: off\n"))
    assert cfg.thresholds["cpu_limit_policy"] == "off"


def test_disabled_and_opt_in_checks_are_skipped_with_a_reason() -> None:
    registry = load_all()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "shop"},
        "spec": {"containers": [{"name": "app", "image": "app:1", "securityContext": {"privileged": True}}]},
    }
    snap = Snapshot(objects=[K8sObject(pod, "inline.yaml", 0)])
    (r,) = evaluate(registry.by_id("SEC-001"), snap, Config.from_dict({"disabled": ["SEC-001"]}))
    assert (r.status, r.reason) == (Status.SKIPPED, "disabled") and "disabled in the config" in r.message
    (r,) = evaluate(registry.by_id("SEC-005"), snap, Config())
    assert r.status is Status.SKIPPED and "add SEC-005 to 'enabled'" in r.message
    enabled = evaluate(registry.by_id("SEC-005"), snap, Config.from_dict({"enabled": ["SEC-005"]}))
    assert all(x.reason != "disabled" for x in enabled)


def test_threshold_changes_the_verdict() -> None:
    registry = load_all()
    snap = load_manifests([str(REPO / "tests/checks/fixtures/PERF-004")])
    policy = {r.status for r in evaluate(registry.by_id("PERF-004"), snap, Config()) if r.kind}
    assert Status.WARNING in policy
    strict = Config.from_dict({"checks": {"PERF-004": {"cpu_limit_policy": "failing"}}})
    assert Status.FAILING in {r.status for r in evaluate(registry.by_id("PERF-004"), snap, strict)}


# ---- every key the checks read is a documented, valid setting -----------------------------------

def _setting_calls() -> list[tuple[str, str | None, str, Any]]:
    """(module, check id or None for a helper, key, evaluated default) for every ``ctx.setting`` call."""
    calls = []
    topic_modules = [
        f"{package}.{info.name}"
        for package in BUILTIN_PACKAGES
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__)
    ]
    assert len(topic_modules) > 20
    for module_name in topic_modules:
        module = importlib.import_module(module_name)
        tree = ast.parse(Path(module.__file__ or "").read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            check_id = None
            for d in fn.decorator_list:  # @check("SEC-001")
                if isinstance(d, ast.Call) and d.args and isinstance(d.args[0], ast.Constant):
                    check_id = d.args[0].value
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setting":
                    where = f"{module_name}.{fn.name}"
                    assert isinstance(node.args[0], ast.Constant), f"{where}: setting key must be a literal"
                    default = (
                        eval(compile(ast.Expression(node.args[1]), "<default>", "eval"), vars(module))
                        if len(node.args) > 1
                        else None
                    )
                    calls.append((module_name, check_id, node.args[0].value, default))
    return calls


def test_every_setting_read_by_a_check_is_declared_with_the_same_default() -> None:
    calls = _setting_calls()
    assert len(calls) > 40
    for module_name, check_id, key, default in calls:
        assert key in SETTINGS, f"{module_name} reads setting {key!r} that checks/settings.py does not declare"
        setting = SETTINGS[key]
        if check_id is not None:
            assert check_id in setting.used_by, f"{check_id} reads {key}; list it under settings: in its checks.yaml"
        # system_namespaces: SEC-031's own fallback is [] but the config always supplies the list.
        if key != "system_namespaces":
            expected = list(default) if isinstance(default, tuple) else default
            assert setting.default == expected, f"{key}: config default {setting.default!r} ≠ check default {default!r}"


def test_every_declared_setting_is_read_and_accepted_globally_and_per_check() -> None:
    read = {key for _, _, key, _ in _setting_calls()}
    registry = load_all()
    for s in SETTINGS_LIST:
        assert s.key in read, f"setting {s.key} is declared but no check reads it"
        value = s.default if s.default is not None else ("1.31" if s.type == "version" else "shop")
        assert Config.from_dict({"thresholds": {s.key: value}}).thresholds[s.key] == value
        for check_id in s.used_by:
            assert check_id in registry
            assert Config.from_dict({"checks": {check_id: {s.key: value}}}).setting(check_id, s.key) == value


def test_defaults_reach_the_checks() -> None:
    cfg = Config()
    for s in SETTINGS_LIST:
        assert cfg.setting(s.used_by[0], s.key, "sentinel") == (s.default if s.default is not None else "sentinel")
    for key in TOP_LEVEL_SETTINGS:
        assert key in SETTINGS


def test_docs_document_every_setting_with_its_default() -> None:
    doc = (REPO / "docs" / "configuration.md").read_text()
    for s in SETTINGS_LIST:
        assert f"`{s.key}`" in doc, f"docs/configuration.md does not document {s.key}"
