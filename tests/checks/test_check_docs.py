"""docs/checks.md is generated from the registry: it must be current and hold every check's docs anchor."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from checks.registry import load_all

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "checks.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_check_docs", ROOT / "tools" / "gen_check_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_check_docs_are_up_to_date() -> None:
    gen = _generator()
    expected = gen.render(gen.built_in_checks())
    assert DOCS.read_text(encoding="utf-8") == expected, (
        "docs/checks.md is out of date with the check registry: run python tools/gen_check_docs.py"
    )


def test_every_docs_url_resolves_to_an_anchor() -> None:
    text = DOCS.read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', text))
    broken = []
    for check in load_all(include_plugins=False).all():
        if not check.func.__module__.startswith("checks."):
            continue
        path, _, fragment = check.docs_url.partition("#")
        if path != "docs/checks.md" or not fragment:
            broken.append(f"{check.id}: docs_url {check.docs_url!r} does not point into docs/checks.md")
        elif fragment not in anchors:
            broken.append(f"{check.id}: docs_url anchor #{fragment} is missing from docs/checks.md")
    assert not broken, "\n".join(broken)


def test_every_check_entry_states_its_rule_and_peers() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for check in load_all(include_plugins=False).all():
        if not check.func.__module__.startswith("checks."):
            continue
        start = text.index(f'<a id="{check.id.lower()}"></a>')
        end = text.find('<a id="', start + 1)
        entry = text[start:end if end != -1 else None]
        assert f"### {check.id} — {check.name}" in entry
        assert f"| Severity | {check.severity.value} |" in entry
        assert check.remediation in entry
        assert "(the check function has no docstring)" not in entry, f"{check.id} has no docstring"
        for ids in check.peers.values():
            for peer_id in ids:
                assert f"`{peer_id}`" in entry, f"{check.id}: peer id {peer_id} missing from its entry"
