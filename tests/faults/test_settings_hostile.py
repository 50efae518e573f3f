"""Settings files are input too: kwa's config, a kubeconfig, a fleet's contexts file and a
framework file, nested past what PyYAML's recursion survives or holding an alias bomb, are refused
by name and place (checks.sources.guards.load_settings), never with a RecursionError."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

DEEP = "[" * 5000 + "]" * 5000
BOMB = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
BOMB += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 8)]


def config(path: Path) -> None:
    from checks.config import Config

    Config.load(path)


def kubeconfig(path: Path) -> None:
    from checks.sources.live.kubeconfig import configure

    configure(str(path), None)


def contexts(path: Path) -> None:
    from flows.fleet import read_targets

    read_targets(None, str(path))


def framework(path: Path) -> None:
    from kwa.frameworks.model import load_file

    load_file(path)


LOADERS: dict[str, tuple[Callable[[Path], None], str]] = {
    "config": (config, "checks.config.ConfigError"),
    "kubeconfig": (kubeconfig, "checks.sources.live.resources.ClusterConfigError"),
    "contexts": (contexts, "flows.fleet.FleetError"),
    "framework": (framework, "kwa.frameworks.model.FrameworkError"),
}


def error_class(dotted: str) -> type[Exception]:
    import importlib

    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


@pytest.mark.parametrize("which", sorted(LOADERS))
def test_a_settings_file_nested_too_deep_is_refused_by_name_and_place(tmp_path: Path, which: str) -> None:
    load, error = LOADERS[which]
    path = tmp_path / f"{which}.yaml"
    path.write_text("apiVersion: v1\nkey: " + DEEP + "\n")
    with pytest.raises(error_class(error), match=r"nested deeper than limits\.depth \(100\) \(line 2, column \d+\)"):
        load(path)


@pytest.mark.parametrize("which", sorted(LOADERS))
def test_a_settings_file_with_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path, which: str) -> None:
    load, error = LOADERS[which]
    path = tmp_path / f"{which}.yaml"
    path.write_text("\n".join(BOMB) + "\n")
    with pytest.raises(error_class(error), match=r"expands to more than limits\.alias_nodes"):
        load(path)
