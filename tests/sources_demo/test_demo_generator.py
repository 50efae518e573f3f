"""The demo generator's own shape (tools/demo_cluster): small modules, an index that names real files,
and no state carried from one run to the next. test_demo.py checks what it writes."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
PACKAGE = TOOLS / "demo_cluster"
MAX_LINES = 400


@pytest.fixture(scope="module")
def demo_cluster() -> ModuleType:
    # tools/ is not an installed package; the documented script puts it on sys.path the same way.
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    import demo_cluster

    return demo_cluster


def test_every_module_is_small() -> None:
    sizes = {p.relative_to(TOOLS).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert len(sizes) > 10
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
    script = TOOLS / "make_demo_cluster.py"
    assert len(script.read_text().splitlines()) < 50, "the script stays a thin entry point"


def test_the_index_names_modules_that_exist(demo_cluster: ModuleType) -> None:
    """The package docstring says which module makes what; a renamed module must not leave it stale."""
    named = set(re.findall(r"``([\w/*-]+\.(?:py|yaml))``", demo_cluster.__doc__ or ""))
    assert {"legacy.py", "cluster_rbac.py", "data/webhooks.yaml"} <= named
    places = (PACKAGE, PACKAGE / "scenes", ROOT, ROOT / "checks" / "data")
    assert [name for name in named if not any(list(place.glob(name)) for place in places)] == []


def test_a_second_run_in_the_same_process_is_identical(demo_cluster: ModuleType) -> None:
    """Scenes share module-level label and security-context dicts; nothing may mutate them."""
    assert demo_cluster.generate() == demo_cluster.generate()
