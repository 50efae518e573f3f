"""The architecture is enforced by import-linter's contracts (``[tool.importlinter]`` in pyproject.toml).

This module runs ``lint-imports`` so that the README's test command fails on a forbidden import,
and guards the contracts themselves: every product package is covered, and none of the contracts
the README promises can quietly disappear.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LINTER = PYPROJECT["tool"]["importlinter"]

# The contracts the README's "Layout" section describes, by id.
PROMISED = {
    "layers": "checks at the bottom, storage above, flows and presentation on top",
    "presentation-not-flows": "cli and the read-only views never import flows",
    "checks-pure": "checks import neither Prefect nor SQLAlchemy/SQLModel/Alembic",
    "storage-independent": "storage imports neither Prefect nor the checks",
    "cli-reads-storage": "cli imports neither the checks nor Prefect",
    "queries-render-nothing": "query and gate logic imports no pandas, matplotlib or rich",
}


def _lint_imports() -> str:
    """The ``lint-imports`` installed beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("lint-imports")
    found = str(beside) if beside.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]' (import-linter)")
    return found


def test_import_contracts_hold() -> None:
    # --no-cache: the test must not leave .import_linter_cache/ in the checkout.
    done = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, f"an import breaks the architecture contracts:\n{done.stdout}\n{done.stderr}"


def test_the_promised_contracts_exist() -> None:
    ids = {c.get("id") for c in LINTER["contracts"]}
    missing = {k: v for k, v in PROMISED.items() if k not in ids}
    assert not missing, f"contracts missing from pyproject.toml: {missing}"


def test_every_product_package_is_under_contract() -> None:
    """A new top-level package must take its place in the layers (or be named here on purpose)."""
    shipped = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert set(LINTER["root_packages"]) == shipped


def test_every_ignored_import_says_why() -> None:
    """An exception to a contract is a decision: each one carries a comment in pyproject.toml."""
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "[tool.importlinter]")
    unexplained = []
    for i, line in enumerate(lines[start:], start):
        if "->" not in line or not line.strip().startswith('"'):
            continue
        # a trailing comment, or a comment block right above the run of entries it belongs to
        j = i
        while j > start and lines[j - 1].strip().startswith('"'):
            j -= 1
        if "#" not in line and not lines[j - 1].strip().startswith("#"):
            unexplained.append(line.strip())
    assert not unexplained, f"ignored imports without a comment saying why: {unexplained}"
