"""Registration validates metadata loudly; plugins register through the kwa.checks entry points."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from checks.model import Pillar
from checks.registry import (
    REGISTRY,
    CheckRegistrationError,
    Registry,
    UnknownCheckError,
    UnknownPillarError,
    check,
    load_all,
    load_plugins,
)

GOOD = dict(
    id="SEC-950",
    pillar="security",
    name="A test check",
    severity="low",
    description="Describes the rule.",
    remediation="Says what to do.",
    mode="manifest",
)


def _register(**overrides):  # type: ignore[no-untyped-def]
    meta = {**GOOD, **overrides}
    return check(registry=Registry(), **meta)(lambda ctx: iter(()))


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"id": "SEC-1"}, "id must match"),
        ({"id": "XYZ-001"}, "id must match"),
        ({"id": "REL-950"}, "does not belong to pillar security"),
        ({"pillar": "speed"}, "pillar 'speed' is not one of"),
        ({"severity": "urgent"}, "severity 'urgent' is not one of"),
        ({"mode": "sometimes"}, "mode 'sometimes' is not one of"),
        ({"name": ""}, "name is required"),
        ({"description": "  "}, "description is required"),
        ({"remediation": None}, "remediation is required"),
    ],
)
def test_bad_metadata_fails_naming_the_check(overrides, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CheckRegistrationError, match=problem) as info:
        _register(**overrides)
    assert str(overrides.get("id", "SEC-950")) in str(info.value)


def test_duplicate_id_is_rejected() -> None:
    registry = Registry()
    check(registry=registry, **GOOD)(lambda ctx: iter(()))
    with pytest.raises(CheckRegistrationError, match="SEC-950: id already registered"):
        check(registry=registry, **GOOD)(lambda ctx: iter(()))


def test_a_check_given_an_empty_registry_goes_there_not_into_the_global_one() -> None:
    """An empty Registry is falsy (it has a length); the decorator must still use it."""
    registry = Registry()
    assert len(registry) == 0
    check(registry=registry, **GOOD)(lambda ctx: iter(()))
    assert "SEC-950" in registry and "SEC-950" not in REGISTRY


def test_lookup_by_id_and_pillar() -> None:
    registry = load_all()
    assert registry.by_id("sec-001").id == "SEC-001"
    assert {c.pillar for c in registry.by_pillar(Pillar.SECURITY)} == {Pillar.SECURITY}
    with pytest.raises(UnknownCheckError, match=r"valid ids: .*SEC-001"):
        registry.by_id("SEC-999")
    with pytest.raises(UnknownPillarError, match="valid pillars: security, reliability"):
        registry.select(["speed"], None)
    assert [c.id for c in registry.select(["sec"], ["REL-001", "SEC-001", "REL-001"])] == ["REL-001", "SEC-001"]


def test_catalogue_covers_every_pillar() -> None:
    registry = load_all()
    assert len(registry) >= 30
    for pillar in Pillar:
        assert len(registry.by_pillar(pillar)) >= 4, pillar


def test_third_party_checks_register_through_entry_points(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "kwa_plugin_demo.py").write_text(
        textwrap.dedent(
            """
            from checks.registry import check

            @check(id="OPS-950", pillar="operational-excellence", name="Plugin check", severity="info",
                   description="Registered by a third-party package.", remediation="None.")
            def plugin_check(ctx):
                yield ctx.ok(None, "plugin ran")
            """
        )
    )
    dist = tmp_path / "kwa_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kwa-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[kwa.checks]\ndemo = kwa_plugin_demo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "demo" in load_plugins()
        assert REGISTRY.by_id("OPS-950").name == "Plugin check"
    finally:
        REGISTRY.unregister("OPS-950")
        sys.modules.pop("kwa_plugin_demo", None)


def test_broken_plugin_fails_loudly(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "kwa_plugin_broken.py").write_text("raise RuntimeError('missing dependency')\n")
    dist = tmp_path / "kwa_plugin_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kwa-plugin-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[kwa.checks]\nbroken = kwa_plugin_broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CheckRegistrationError, match=r"'broken'.*missing dependency"):
        load_plugins()
