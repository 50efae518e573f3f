"""docs/ci.md matches the files it documents: its examples parse and use only what they define."""

from __future__ import annotations

import importlib.util
import re
from typing import Any

import yaml

from tests.ci.support import ACTION, GITLAB, HOOKS, REPO, load

DOC = REPO / "docs" / "ci.md"


def _yaml_blocks() -> list[Any]:
    text = DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def _examples_script() -> Any:
    spec = importlib.util.spec_from_file_location("ci_examples", REPO / "scripts" / "ci_examples.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_example_has_its_block_and_no_block_is_orphaned() -> None:
    names = re.findall(r"<!-- ci-example:([a-z-]+) -->", DOC.read_text(encoding="utf-8"))
    assert sorted(names) == sorted(_examples_script().EXAMPLES)


def test_the_pre_commit_example_names_defined_hooks() -> None:
    hook_ids = {h["id"] for h in load(HOOKS)}
    configs = [b for b in _yaml_blocks() if isinstance(b, dict) and "repos" in b]
    used = {h["id"] for c in configs for r in c["repos"] if r["repo"] != "local" for h in r["hooks"]}
    assert used and used <= hook_ids


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *[d for v in node.values() for d in _walk(v)]]
    if isinstance(node, list):
        return [d for v in node for d in _walk(v)]
    return []


def test_the_workflow_example_passes_only_inputs_the_action_defines() -> None:
    inputs = set(load(ACTION)["inputs"])
    text = DOC.read_text(encoding="utf-8")
    steps = [s for b in _yaml_blocks() for s in _walk(b) if "/kwa@" in str(s.get("uses", ""))]
    assert steps, "no workflow step uses the action"
    for step in steps:
        assert set(step["with"]) <= inputs
    # the inputs shown commented out in the example: `# baseline: kwa-baseline.json`
    section = text.split("## GitHub Actions", 1)[1].split("## GitLab CI", 1)[0]
    commented = set(re.findall(r"^\s+#\s*([a-z-]+):", section, re.M))
    assert commented and commented <= inputs
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", text, re.M))
    assert inputs <= documented, f"inputs not in the table: {inputs - documented}"


def test_the_gitlab_example_sets_only_template_variables() -> None:
    variables = set(load(GITLAB)["variables"])
    configs = [b for b in _yaml_blocks() if isinstance(b, dict) and "include" in b]
    assert configs
    for config in configs:
        assert set(config["variables"]) <= variables
    documented = set(re.findall(r"^\| `(KWA_[A-Z_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert documented == variables
