"""Check metadata is data: one checks.yaml per pillar package, bound by id, validated both ways at import."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from checks import registry
from checks.config import SETTINGS
from checks.metadata import DATA_FILE
from checks.model import Pillar
from checks.registry import BUILTIN_PACKAGES, REGISTRY, CheckRegistrationError, is_builtin, load_all

REPO = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400

ENTRY = """
  OPS-951:
    name: A test check
    severity: low
    description: Describes the rule.
    remediation: Says what to do.
"""
FUNCTION = """
from checks.registry import check

@check("OPS-951")
def a_test_check(ctx):
    yield ctx.ok(None, "ran")
"""


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Write a check package (``__init__`` that binds, one topic module, a data file) and import it."""
    names: list[str] = []

    def make(name: str, data: str, module: str) -> None:
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("from checks.registry import bind_package\n\nbind_package(__name__)\n")
        (pkg / "topic.py").write_text(textwrap.dedent(module))
        (pkg / DATA_FILE).write_text(data)
        names.append(name)

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in names:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            sys.modules.pop(mod)
    # Leave the process as it was: nothing of these packages registered, nothing left marked.
    REGISTRY.unregister("OPS-951")
    registry._unbound.pop("OPS-951", None)


def test_a_bound_package_registers_its_checks(make_package) -> None:  # type: ignore[no-untyped-def]
    make_package("kwa_meta_ok", "pillar: operational-excellence\nchecks:" + ENTRY, FUNCTION)
    importlib.import_module("kwa_meta_ok")
    definition = REGISTRY.by_id("OPS-951")
    assert (definition.name, definition.pillar, definition.docs_url) == (
        "A test check", Pillar.OPERATIONAL_EXCELLENCE, "docs/checks.md#ops-951"
    )


def test_a_function_without_metadata_fails_naming_the_id_and_the_file(make_package) -> None:  # type: ignore[no-untyped-def]
    make_package("kwa_meta_nofn", "pillar: operational-excellence\nchecks: {}\n", FUNCTION)
    with pytest.raises(CheckRegistrationError) as info:
        importlib.import_module("kwa_meta_nofn")
    message = str(info.value)
    assert "OPS-951" in message and "has no metadata" in message
    assert "kwa_meta_nofn/topic.py:4" in message and "kwa_meta_nofn/checks.yaml" in message


def test_metadata_without_a_function_fails_naming_the_id_and_the_file(make_package) -> None:  # type: ignore[no-untyped-def]
    make_package("kwa_meta_nodata", "pillar: operational-excellence\nchecks:" + ENTRY, "x = 1\n")
    with pytest.raises(CheckRegistrationError) as info:
        importlib.import_module("kwa_meta_nodata")
    message = str(info.value)
    assert "kwa_meta_nodata/checks.yaml: OPS-951 has metadata but no function" in message
    assert '@check("OPS-951")' in message


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (ENTRY.replace("    severity: low\n", ""), "OPS-951: missing severity"),
        (ENTRY + "    colour: red\n", "OPS-951: unknown field(s) colour"),
        (ENTRY + "    peers: [polaris]\n", "OPS-951: peers must map a tool"),
        (ENTRY + "    peers:\n      polaris: readiness\n", "OPS-951: peers.polaris must be a non-empty list"),
        (ENTRY + "    peers:\n      polaris: []\n", "OPS-951: peers.polaris must be a non-empty list"),
        (ENTRY + "    settings: min_replicas\n", "OPS-951: settings must be a list"),
        (ENTRY.replace("severity: low", "severity: urgent"), "'OPS-951': severity 'urgent' is not one of"),
    ],
)
def test_malformed_metadata_fails_naming_the_check(make_package, entry: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    make_package("kwa_meta_bad", "pillar: operational-excellence\nchecks:" + entry, FUNCTION)
    with pytest.raises(CheckRegistrationError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        importlib.import_module("kwa_meta_bad")


def test_an_id_marked_twice_fails_naming_both_places(make_package) -> None:  # type: ignore[no-untyped-def]
    twice = FUNCTION + '\n\n@check("OPS-951")\ndef again(ctx):\n    yield ctx.ok(None)\n'
    make_package("kwa_meta_twice", "pillar: operational-excellence\nchecks:" + ENTRY, twice)
    with pytest.raises(CheckRegistrationError, match=r"OPS-951: decorated twice, .*topic.py:4 and .*topic.py:\d+"):
        importlib.import_module("kwa_meta_twice")


def test_every_builtin_check_comes_from_its_pillar_package_and_data_file() -> None:
    loaded = load_all(include_plugins=False)
    seen = set()
    for package in BUILTIN_PACKAGES:
        module = importlib.import_module(package)
        data = yaml.safe_load((Path(module.__file__ or "").parent / DATA_FILE).read_text())
        pillar = Pillar(data["pillar"])
        for check_id in data["checks"]:
            definition = loaded.by_id(check_id)
            assert definition.pillar is pillar
            assert definition.func.__module__.startswith(package + "."), f"{check_id} is bound outside {package}"
            assert is_builtin(definition)
            seen.add(check_id)
    assert seen == {c.id for c in loaded.all() if is_builtin(c)}
    assert len(seen) == 101


def test_peers_and_settings_have_one_form() -> None:
    for c in load_all(include_plugins=False).all():
        assert all(isinstance(ids, tuple) and all(isinstance(i, str) for i in ids) for ids in c.peers.values()), c.id
        unknown = [key for key in c.settings if key not in SETTINGS]
        assert not unknown, f"{c.id}: settings {unknown} are not declared in checks/settings.py"


def test_check_functions_stay_short_and_modules_small() -> None:
    too_long = []
    for c in load_all(include_plugins=False).all():
        if is_builtin(c):
            lines = len(inspect.getsourcelines(c.func)[0])
            if lines > 80:
                too_long.append(f"{c.id} ({c.func.__name__}): {lines} lines")
    assert not too_long, "check functions over 80 lines:\n" + "\n".join(too_long)
    big = []
    for package in BUILTIN_PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            path = Path(module.__path__[0]) / f"{info.name}.py"
            count = len(path.read_text().splitlines())
            if count > MAX_MODULE_LINES:
                big.append(f"{path.relative_to(REPO)}: {count} lines")
    assert not big, f"check modules over {MAX_MODULE_LINES} lines (split by topic):\n" + "\n".join(big)
