"""The admission-policy audit against fixtures: every file in ``fixtures/`` is one scenario.

Each object that a VAP check should judge carries ``kwa.test/expect``: the statuses of all the
results about it, comma-separated (one per binding and check that matches it, in any order). An
object without the annotation must get no result at all. Results about no object (check-level
rows) are listed in a leading comment ``# kwa-vap-check-level: <status>, ...``; ``# kwa-vap-checks:``
lists the check ids the file must produce, exactly.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from checks.config import Config
from checks.runner import evaluate
from checks.sources.manifests import load_manifests
from checks.vap.source import checks_for

FIXTURES = Path(__file__).parent / "fixtures"
EXPECT = "kwa.test/expect"


def _directive(path: Path, key: str) -> list[str] | None:
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith(f"# {key}:"):
            return sorted(v.strip() for v in line.partition(":")[2].split(",") if v.strip())
    return None


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_fixture(path: Path) -> None:
    snapshot = load_manifests([str(path)])
    assert not snapshot.problems and not snapshot.malformed, snapshot.problems
    definitions = checks_for(snapshot)
    expected_ids = _directive(path, "kwa-vap-checks")
    if expected_ids is not None:
        assert sorted(d.id for d in definitions) == expected_ids
    got: dict[tuple[str, str | None, str], list[str]] = {}
    check_level: list[str] = []
    for definition in definitions:
        for r in evaluate(definition, snapshot, Config()):
            if r.name is None:
                check_level.append(r.status.value)
            else:
                got.setdefault((r.kind, r.namespace, r.name), []).append(r.status.value)
    want = {}
    for obj in snapshot.objects:
        text = obj.annotations.get(EXPECT)
        if text:
            want[(obj.kind, obj.namespace, obj.name)] = sorted(v.strip() for v in text.split(","))
    assert {k: sorted(v) for k, v in got.items()} == want
    assert sorted(check_level) == (_directive(path, "kwa-vap-check-level") or [])


def test_every_fixture_shows_something() -> None:
    """The scenarios together exercise every status the audit gives."""
    seen: Counter[str] = Counter()
    for path in FIXTURES.glob("*.yaml"):
        for obj in load_manifests([str(path)]).objects:
            for v in (obj.annotations.get(EXPECT) or "").split(","):
                if v.strip():
                    seen[v.strip()] += 1
    assert {"passing", "failing", "warning", "error", "skipped"} <= set(seen)
