"""The reduced schemas shipped in checks/data/schema-reduced/ are current, are what a new home
reads instead of reducing, and are ignored unless bundle, content and reducing code all match."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from checks import schema_bundles, schema_strict
from checks.schema import SchemaLibrary
from checks.schema_strict import StrictBundle, StrictLibrary

ROOT = Path(__file__).resolve().parents[2]


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_schema_cache", ROOT / "tools" / "gen_schema_cache.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fresh_strict() -> StrictBundle:
    newest, _ = StrictLibrary().choose(None)
    assert newest is not None
    return StrictBundle(newest.path, newest.version)


def test_the_shipped_reductions_are_current() -> None:
    tool = _tool()
    assert tool.stale(tool.reductions(), schema_bundles.SHIPPED_DIR) == [], "run python tools/gen_schema_cache.py"


def test_a_new_home_reads_the_shipped_reductions_and_reduces_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("reduced although a shipped reduction matches")

    monkeypatch.setattr(schema_bundles, "_reduce", refuse)
    monkeypatch.setattr(schema_strict, "_reduce", refuse)
    boundary = SchemaLibrary().bundles[0]
    assert boundary.root_for("apps", "v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    strict = _fresh_strict()
    assert strict.root_for("apps/v1", "Deployment") == "io.k8s.api.apps.v1.Deployment"
    assert strict.validator("apps/v1", "Deployment") is not None
    assert not any(tmp_path.rglob("*.json"))  # nothing needed caching


def test_a_shipped_reduction_of_other_code_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another tag (the reducing module or the curated enums changed): reduce, as without it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    shipped = _fresh_strict()._load()
    monkeypatch.setattr(schema_strict, "_SOURCE_TAG", "00000000")
    calls = []
    original = schema_strict._reduce
    monkeypatch.setattr(schema_strict, "_reduce", lambda *a: calls.append(1) or original(*a))
    again = _fresh_strict()._load()
    assert calls and again == shipped
    assert list(tmp_path.rglob("*-00000000.json"))  # and the user's cache keeps the new reduction
