"""CONTRIBUTING.md's "Add a check" recipe, followed on a temporary check in a temporary package.

The package is built the way the built-in pillar packages are (a topic module with ``@check(ID)``,
a ``checks.yaml`` beside it, ``bind_package(__name__)`` in ``__init__``), made known to kwa through
``$KWA_CHECK_MODULES``, given pass and fail fixtures, documented by the generator, and run.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks import registry
from checks.model import Mode, Pillar, Severity, Status
from checks.registry import REGISTRY, load_extra_modules
from checks.runner import evaluate
from tests.checks.test_fixtures import PREFIX_STATUS, load_fixture

ROOT = Path(__file__).resolve().parents[2]
CHECK_ID = "OPS-990"
PACKAGE = "kwa_recipe_checks"

TOPIC = '''
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check


@check("OPS-990")
def termination_grace_too_short(ctx: CheckContext) -> Iterator[Result]:
    """Pods whose terminationGracePeriodSeconds is below 10 s.

    Rule: failing below 10; passing otherwise (unset means 30 s).
    """
    for w in ctx.snapshot.workloads():
        grace = w.pod_spec.get("terminationGracePeriodSeconds", 30)
        if grace < 10:
            yield ctx.fail(w, f"terminationGracePeriodSeconds is {grace}, below 10")
        else:
            yield ctx.ok(w)
'''
METADATA = """
pillar: operational-excellence
checks:
  OPS-990:
    name: Termination grace period too short
    severity: low
    mode: manifest
    requires: [workloads]
    description: >-
      A pod given less time than it needs to drain is killed with requests in flight.
    remediation: >-
      Set terminationGracePeriodSeconds to at least the time the process needs to shut down.
    peers:
      kube-linter: [example-rule]
"""
POD = """
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: shop}}
spec:
  {grace}containers: [{{name: web, image: "web:1.0"}}]
"""


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # 1-3: the function in a topic module, its metadata beside it, the package binding them.
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from checks.registry import bind_package\n\nbind_package(__name__)\n")
    (pkg / "lifecycle.py").write_text(TOPIC)
    (pkg / "checks.yaml").write_text(textwrap.dedent(METADATA))
    # 5: fixtures named <expected>-<what it shows>.yaml.
    fixtures = tmp_path / "fixtures" / CHECK_ID
    fixtures.mkdir(parents=True)
    (fixtures / "pass-default-grace.yaml").write_text(POD.format(grace=""))
    (fixtures / "fail-grace-zero.yaml").write_text(POD.format(grace="terminationGracePeriodSeconds: 0\n  "))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("KWA_CHECK_MODULES", PACKAGE)
    try:
        yield fixtures
    finally:
        REGISTRY.unregister(CHECK_ID)
        registry._unbound.pop(CHECK_ID, None)
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            sys.modules.pop(name)


def test_the_add_a_check_recipe_registers_documents_and_runs_a_new_check(recipe: Path) -> None:
    assert load_extra_modules() == [PACKAGE]
    check = REGISTRY.by_id(CHECK_ID)
    assert (check.pillar, check.severity, check.mode) == (Pillar.OPERATIONAL_EXCELLENCE, Severity.LOW, Mode.MANIFEST)
    assert check.peers == {"kube-linter": ("example-rule",)}
    assert "Pod" in check.requires and check.docs_url == "docs/checks.md#ops-990"

    # 5: every fixture gives the status its name promises.
    for path in sorted(recipe.glob("*.yaml")):
        snap, config = load_fixture(path)
        results = evaluate(check, snap, config)
        expected = PREFIX_STATUS[path.stem.split("-", 1)[0]]
        assert [r.status for r in results] == [expected], path.name
        assert results[0].source and results[0].source.endswith(f"{path.name}#0")
        if expected is Status.FAILING:
            assert results[0].message == "terminationGracePeriodSeconds is 0, below 10"

    # 6: the reference generator documents it from its metadata and docstring.
    spec = importlib.util.spec_from_file_location("gen_check_docs", ROOT / "tools" / "gen_check_docs.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    page = gen.render([check])
    assert '<a id="ops-990"></a>' in page and "### OPS-990 — Termination grace period too short" in page
    assert "Rule: failing below 10" in page and "`example-rule`" in page
