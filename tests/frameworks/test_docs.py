"""docs/frameworks.md's per-framework reference is generated from the framework files and current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from kwa.frameworks import load_all

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "frameworks.md"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_framework_docs", ROOT / "tools" / "gen_framework_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_framework_reference_is_current() -> None:
    current = PAGE.read_text(encoding="utf-8")
    assert _generator().render(current) == current, (
        "docs/frameworks.md is out of date with kwa/frameworks/data: run python tools/gen_framework_docs.py"
    )


def test_every_control_and_every_non_one_to_one_note_is_in_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for framework in load_all():
        assert f'<a id="framework-{framework.name}"></a>' in page
        for control in framework.controls:
            assert f"| {control.id} |" in page, (framework.name, control.id)
            explained = control.note or control.reason
            if not control.assessed or control.partial or len(control.checks) > 1:
                assert explained and " ".join(explained.split())[:60] in page, (framework.name, control.id)


def test_readme_links_the_page() -> None:
    assert "docs/frameworks.md" in (ROOT / "README.md").read_text(encoding="utf-8")
