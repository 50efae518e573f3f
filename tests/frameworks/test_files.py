"""Every shipped framework file loads, maps only real checks, and cites its source; the loader
refuses malformed files with a message naming the file, the control and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

import kwa.frameworks as frameworks
from checks.registry import load_all
from kwa.frameworks import FrameworkError, load_file, parse

NAMES = frameworks.names()


def test_the_required_frameworks_ship() -> None:
    assert {"nsa", "cis"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_framework_file_loads_and_every_check_id_is_a_builtin_check(name: str) -> None:
    registry = {c.id for c in load_all(include_plugins=False).all() if not c.origin}
    framework = frameworks.load(name)
    assert framework.name == name
    assert framework.controls
    for control in framework.controls:
        assert control.reference.strip(), control.id
        assert set(control.checks) <= registry, control.id
        if control.assessed:
            assert control.checks, control.id
            if control.mapping == "partial" or len(control.checks) > 1:
                assert control.note, control.id
        else:
            assert control.reason and not control.checks, control.id


@pytest.mark.parametrize("name", NAMES)
def test_framework_file_is_valid_yaml_in_the_documented_shape(name: str) -> None:
    doc = yaml.safe_load((frameworks.DATA_DIR / f"{name}.yaml").read_text())
    assert doc["apiVersion"] == "kwa.io/v1" and doc["kind"] == "Framework"
    assert doc["metadata"]["name"] == name
    assert doc["spec"]["source"].startswith("https://")


def test_cis_lists_every_section_5_recommendation_it_names() -> None:
    cis = frameworks.load("cis")
    ids = [c.id for c in cis.controls]
    sections = {i.rsplit(".", 1)[0] for i in ids}
    assert sections == {"5.1", "5.2", "5.3", "5.4", "5.5", "5.6"}
    for section in sections:  # numbered without gaps from .1
        numbers = sorted(int(i.rsplit(".", 1)[1]) for i in ids if i.rsplit(".", 1)[0] == section)
        assert numbers == list(range(1, len(numbers) + 1)), section
    assert len([i for i in ids if i.startswith("5.1.")]) == 13


def test_nsa_lists_unassessable_controls_as_not_assessed() -> None:
    nsa = frameworks.load("nsa")
    unassessed = {c.id for c in nsa.controls if not c.assessed}
    # control-plane flags, encryption at rest and audit logging are beyond what kwa reads
    assert {"NSA-NET-4", "NSA-NET-5", "NSA-LOG-1", "NSA-AUTH-3"} <= unassessed


def test_unknown_framework_names_the_valid_ones() -> None:
    with pytest.raises(frameworks.UnknownFrameworkError) as exc:
        frameworks.load("nist")
    assert "valid names: " in str(exc.value) and "nsa" in str(exc.value) and "cis" in str(exc.value)


def doc(*controls: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kwa.io/v1",
        "kind": "Framework",
        "metadata": {"name": "demo"},
        "spec": {"title": "Demo", "version": "1", "source": "https://example.org", **spec, "controls": list(controls)},
    }


GOOD = {"id": "D-1", "title": "t", "reference": "§1", "checks": ["SEC-001"], "mapping": "exact"}
KNOWN = {"SEC-001", "SEC-002"}


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (doc({**GOOD, "severity": "high"}), "demo.yaml: control D-1: unknown field 'severity'"),
        (doc(GOOD, GOOD), "demo.yaml: control D-1: duplicate control id"),
        (doc({**GOOD, "checks": ["SEC-999"]}), "demo.yaml: control D-1: field 'checks': unknown check id 'SEC-999'"),
        (doc({**GOOD, "mapping": "partial"}), "control D-1: field 'note' is required (mapping is partial)"),
        (
            doc({**GOOD, "checks": ["SEC-001", "SEC-002"]}),
            "control D-1: field 'note' is required (more than one check is mapped)",
        ),
        (
            doc({"id": "D-1", "title": "t", "reference": "§1", "assessed": False}),
            "control D-1: field 'reason' is required when assessed is false",
        ),
        (
            doc(
                {"id": "D-1", "title": "t", "reference": "§1", "assessed": False, "reason": "r", "checks": ["SEC-001"]}
            ),
            "control D-1: field 'checks' is not allowed on a control with assessed: false",
        ),
        (doc({**GOOD, "reference": ""}), "control D-1: field 'reference' must be a non-empty string"),
        (doc({k: v for k, v in GOOD.items() if k != "reference"}), "control D-1: field 'reference' is required"),
        (doc({**GOOD, "mapping": "approximate"}), "control D-1: field 'mapping' must be one of exact, partial"),
        (doc({**GOOD, "checks": []}), "control D-1: field 'checks' must be a non-empty list"),
        (doc(GOOD, url="x"), "demo.yaml: spec: unknown field 'url'"),
        ({**doc(GOOD), "apiVersion": "v1"}, "demo.yaml: field 'apiVersion' must be 'kwa.io/v1'"),
        ({**doc(GOOD), "metadata": {"name": "Demo"}}, "metadata: field 'name' must match [a-z0-9-]"),
        (doc(), "spec: field 'controls' must be a non-empty list"),
    ],
)
def test_loader_refuses_with_file_control_and_field(document: dict[str, Any], expected: str) -> None:
    with pytest.raises(FrameworkError) as exc:
        parse(document, "demo.yaml", KNOWN)
    assert expected in str(exc.value)


def test_a_valid_document_parses(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text(
        yaml.safe_dump(doc(GOOD, {"id": "D-2", "title": "t", "reference": "§2", "assessed": False, "reason": "r"}))
    )
    framework = load_file(path, KNOWN)
    assert [c.id for c in framework.controls] == ["D-1", "D-2"]
    assert framework.check_ids() == ["SEC-001"]
    assert framework.controls_by_check() == {"SEC-001": ["D-1"]}


def test_file_name_must_match_metadata_name(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(doc(GOOD)))
    with pytest.raises(FrameworkError, match=r"other\.yaml: metadata: field 'name' is 'demo'"):
        load_file(path, KNOWN)


def test_invalid_yaml_says_where(tmp_path: Path) -> None:
    path = tmp_path / "demo.yaml"
    path.write_text("apiVersion: kwa.io/v1\nspec: [unclosed\n")
    with pytest.raises(FrameworkError, match=r"demo.yaml: not valid YAML at line \d"):
        load_file(path, KNOWN)
