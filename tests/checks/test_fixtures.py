"""Every check's fixtures: ``tests/checks/fixtures/<ID>/<expected>-<what>.yaml``.

``<expected>`` is one of pass, fail, warn, skip, error. The check must return at least one result
with that status, and every result must have the status expected for its object: the file's
prefix, unless the object carries the annotation ``kwa.test/expect: <status>`` (for fixtures with
several subjects). A fixture may pin the snapshot mode with a leading comment ``# kwa-mode: live``
and a config with ``# kwa-config: {...}`` (inline YAML).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from checks.config import Config
from checks.model import Status
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import Snapshot
from checks.sources.manifests import load_manifests

FIXTURES = Path(__file__).parent / "fixtures"
PREFIX_STATUS = {
    "pass": Status.PASSING,
    "fail": Status.FAILING,
    "warn": Status.WARNING,
    "skip": Status.SKIPPED,
    "error": Status.ERROR,
}
EXPECT_ANNOTATION = "kwa.test/expect"


def _fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*.yaml"))


def _directives(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# kwa-") and ":" in line:
            key, _, value = line[2:].partition(":")
            out[key.strip()] = value.strip()
    return out


def load_fixture(path: Path) -> tuple[Snapshot, Config]:
    snap = load_manifests([str(path)])
    assert not snap.problems, f"fixture {path} does not parse: {snap.problems}"
    directives = _directives(path)
    if directives.get("kwa-mode") == "live":
        snap = Snapshot(objects=snap.objects, mode="live", description=snap.description, metrics=None)
    if "kwa-metrics" in directives:
        snap.metrics = yaml.safe_load(directives["kwa-metrics"]) or {}
    config = Config.from_dict(yaml.safe_load(directives["kwa-config"])) if "kwa-config" in directives else Config()
    return snap, config


@pytest.mark.parametrize("path", _fixture_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(path: Path) -> None:
    registry = load_all()
    check = registry.by_id(path.parent.name)
    expected = PREFIX_STATUS[path.stem.split("-", 1)[0]]
    snap, config = load_fixture(path)
    results = evaluate(check, snap, config)
    assert results, f"{check.id} returned no result for {path.name}"
    per_object = {
        (o.kind, o.namespace, o.name): Status(o.annotations[EXPECT_ANNOTATION])
        for o in snap.objects
        if EXPECT_ANNOTATION in o.annotations
    }
    for r in results:
        want = per_object.get((r.kind, r.namespace, r.name), expected)
        assert r.status is want, (
            f"{check.id} {path.name}: {r.kind}/{r.namespace}/{r.name} [{r.container}] is {r.status.value} "
            f"({r.message!r}), expected {want.value}"
        )
    assert any(r.status is expected for r in results), f"{check.id} {path.name}: no {expected.value} result"


def test_every_check_has_pass_and_fail_fixtures() -> None:
    registry = load_all()
    missing = []
    for check in registry.all():
        stems = {p.stem.split("-", 1)[0] for p in (FIXTURES / check.id).glob("*.yaml")}
        # A warning-only rule (e.g. SEC-019) proves its negative case with warn- fixtures.
        ok = "pass" in stems and ("fail" in stems or "warn" in stems)
        if not ok:
            missing.append(f"{check.id}: has {sorted(stems)}")
    assert not missing, "checks without pass+fail fixtures:\n" + "\n".join(missing)
