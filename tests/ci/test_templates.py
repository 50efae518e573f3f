"""The CI files parse, reference only what they define, and their scripts behave as documented.

No GitHub or GitLab runner here: the action's and the template's shell scripts are run with bash
and sh against real manifests, with a ``kwa`` on PATH running this checkout (tests/ci/support.py).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ci.support import (
    ACTION,
    BAD,
    GITLAB,
    GOOD,
    HOOKS,
    NOT_KUBERNETES,
    kwa_on_path,
    load,
    needs_annotations,
    needs_lint,
    write_manifests,
)

EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
INPUT_REF = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")
STEP_OUTPUT_REF = re.compile(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


# ---- pre-commit ------------------------------------------------------------------------------


def test_hook_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(HOOKS))}
    assert set(hooks) == {"kwa-lint", "kwa-lint-all"}
    lint = hooks["kwa-lint"]
    assert lint["language"] == "python" and lint["pass_filenames"] is True
    assert "kwa lint" in lint["entry"]
    assert lint["args"][:2] == ["--fail-on", "high"]
    assert hooks["kwa-lint-all"]["entry"] == "kwa lint" and hooks["kwa-lint-all"]["pass_filenames"] is False


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        ("chart/templates/deployment.yaml", True),
        ("templates/service.yaml", True),
        ("deploy/api.yaml", False),
        ("chart/values.yaml", False),
        ("my-templates/x.yaml", False),
    ],
)
def test_helm_templates_are_excluded(path: str, excluded: bool) -> None:
    hook = next(h for h in load(HOOKS) if h["id"] == "kwa-lint")
    assert bool(re.search(hook["exclude"], path)) is excluded


def _run_hook(hook_id: str, files: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The hook's command as pre-commit builds it: entry, then args, then the file names."""
    hook = next(h for h in load(HOOKS) if h["id"] == hook_id)
    command = [*shlex.split(hook["entry"]), *hook.get("args", []), *files]
    return subprocess.run(command, cwd=cwd, env=kwa_on_path(cwd), capture_output=True, text=True, timeout=120)


@needs_lint
@needs_annotations
def test_hook_command_fails_on_a_finding_and_passes_otherwise(tmp_path: Path) -> None:
    write_manifests(tmp_path)
    bad = _run_hook("kwa-lint", ["deploy/api.yaml", "deploy/settings.yaml"], tmp_path)
    assert bad.returncode == 6, bad.stderr
    assert re.search(r"^deploy/api\.yaml:\d+: CRITICAL SEC-001 Deployment/shop/api", bad.stdout, re.M), bad.stdout
    good = _run_hook("kwa-lint", ["deploy/settings.yaml"], tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr


@needs_lint
@needs_annotations
def test_hook_passes_files_without_kubernetes_objects(tmp_path: Path) -> None:
    # kwa lint alone exits 9 ("nothing assessed") on such a file; the hook's entry maps that to 0.
    write_manifests(tmp_path)
    direct = subprocess.run(
        ["kwa", "lint", "-o", "text", "workflow.yaml"], cwd=tmp_path, env=kwa_on_path(tmp_path),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert direct.returncode == 9, direct.stderr
    hooked = _run_hook("kwa-lint", ["workflow.yaml"], tmp_path)
    assert hooked.returncode == 0, hooked.stderr


@needs_lint
@needs_annotations
def test_whole_directory_hook_keeps_nothing_assessed_as_a_failure(tmp_path: Path) -> None:
    (tmp_path / "workflow.yaml").write_text(NOT_KUBERNETES, encoding="utf-8")
    result = _run_hook("kwa-lint-all", [], tmp_path)
    assert result.returncode == 9, result.stderr


# ---- GitHub Actions --------------------------------------------------------------------------


def test_action_references_only_inputs_and_outputs_it_defines() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    defined = set(action["inputs"])
    steps = action["runs"]["steps"]
    used: set[str] = set()
    for step in steps:
        texts = _strings(step)
        if "if" in step:  # `if:` is an expression without the ${{ }} wrapper
            texts.append("${{ " + step["if"] + " }}")
        for text in texts:
            for expression in EXPRESSION.findall(text):
                used |= set(INPUT_REF.findall(expression))
        assert "run" not in step or step.get("shell"), f"a composite run step needs a shell: {step.get('name')}"
    assert used <= defined, f"undefined inputs: {used - defined}"
    assert defined <= used, f"inputs never used: {defined - used}"

    by_id = {s["id"]: s for s in steps if "id" in s}
    for name, output in action["outputs"].items():
        refs = STEP_OUTPUT_REF.findall(output["value"])
        assert refs, f"output {name} reads no step output"
        for step_id, key in refs:
            assert step_id in by_id, f"output {name}: no step {step_id}"
            assert f'echo "{key}=' in by_id[step_id]["run"], f"step {step_id} never sets {key}"


def _action_lint_step() -> dict[str, Any]:
    return next(s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "lint")


def _resolve(value: str, inputs: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: inputs[INPUT_REF.search(m.group(1)).group(1)], value)  # type: ignore[union-attr]


def _run_action_step(tmp_path: Path, **overrides: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """The lint step's script with its env: as the runner sets it from the inputs' defaults and overrides."""
    inputs = {k: v.get("default", "") for k, v in load(ACTION)["inputs"].items()} | overrides
    step = _action_lint_step()
    env = kwa_on_path(tmp_path)
    env |= {k: _resolve(v, inputs) for k, v in step["env"].items()}
    output_file = tmp_path / "github-output"
    output_file.write_text("", encoding="utf-8")
    env["GITHUB_OUTPUT"] = str(output_file)
    # As the runner starts a composite step's bash: bash --noprofile --norc -eo pipefail.
    bash = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]]
    result = subprocess.run(bash, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    outputs = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines())
    return result, outputs


@needs_lint
@needs_annotations
def test_action_annotates_fails_the_step_and_writes_sarif(tmp_path: Path) -> None:
    write_manifests(tmp_path)
    result, outputs = _run_action_step(tmp_path, paths="deploy")
    assert result.returncode == 6, result.stderr
    assert outputs == {"exit-code": "6", "sarif-file": "kwa.sarif"}
    assert re.search(r"^::error file=deploy/api\.yaml,line=\d+", result.stdout, re.M), result.stdout
    sarif = json.loads((tmp_path / "kwa.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    rule_ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "SEC-001" in rule_ids


@needs_lint
@needs_annotations
def test_action_passes_clean_manifests_and_takes_paths_on_lines(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "settings.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b" / "other.yaml").write_text(GOOD.replace("settings", "other"), encoding="utf-8")
    result, outputs = _run_action_step(tmp_path, paths="a\nb\n", **{"sarif-file": ""})
    assert result.returncode == 0, result.stderr
    assert outputs == {"exit-code": "0", "sarif-file": ""}
    assert not (tmp_path / "kwa.sarif").exists()
    assert "2 objects" in result.stderr


# ---- GitLab CI -------------------------------------------------------------------------------


def test_gitlab_template_variables_and_reports() -> None:
    template = load(GITLAB)
    variables = set(template["variables"])
    job = template[".kwa-lint"]
    assert template["kwa-lint"]["extends"] == ".kwa-lint"
    script = "\n".join(job["script"])
    used = set(re.findall(r"\$\{?(KWA_[A-Z_]+)", script))
    assert used == variables, f"undefined: {used - variables}, unused: {variables - used}"
    # The reports GitLab collects are the files the script writes.
    junit = job["artifacts"]["reports"]["junit"]
    assert f"> {junit}" in script
    for path in job["artifacts"]["paths"]:
        assert f"> {path}" in script
    assert job["artifacts"]["when"] == "always"  # a failing lint is when the report matters


def _run_gitlab_lint(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """The template's lint item (the second; the first installs kwa) under POSIX sh."""
    template = load(GITLAB)
    env = kwa_on_path(tmp_path) | {k: str(v) for k, v in template["variables"].items()} | variables
    return subprocess.run(
        ["sh", "-e", "-c", template[".kwa-lint"]["script"][1]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=360,
    )  # fmt: skip


@needs_lint
@needs_annotations
def test_gitlab_job_fails_on_a_finding_and_publishes_junit_and_sarif(tmp_path: Path) -> None:
    write_manifests(tmp_path)
    result = _run_gitlab_lint(tmp_path, KWA_PATHS="deploy")
    assert result.returncode == 6, result.stderr
    assert re.search(r"^deploy/api\.yaml:\d+: CRITICAL SEC-001", result.stdout, re.M), result.stdout
    assert "kwa lint exit code: 6" in result.stdout
    import xml.etree.ElementTree as ET

    suites = ET.parse(tmp_path / "kwa-junit.xml").getroot()
    assert int(suites.get("failures", "0")) >= 1
    assert any(s.get("name", "").startswith("SEC-001") for s in suites)
    sarif = json.loads((tmp_path / "kwa.sarif").read_text(encoding="utf-8"))
    assert "SEC-001" in {r["ruleId"] for r in sarif["runs"][0]["results"]}


@needs_lint
@needs_annotations
def test_gitlab_job_passes_with_the_gate_off(tmp_path: Path) -> None:
    (tmp_path / "api.yaml").write_text(BAD, encoding="utf-8")
    result = _run_gitlab_lint(tmp_path, KWA_PATHS="api.yaml", KWA_FAIL_ON="none")
    assert result.returncode == 0, result.stderr
    assert "kwa lint exit code: 0" in result.stdout
