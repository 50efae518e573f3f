"""The kwa-lint hook through ``pre-commit try-repo`` on a temporary repository.

try-repo clones this checkout (with uncommitted changes to tracked files; untracked files are
left out), builds a virtualenv and pip-installs the checkout into it, then runs the hook on the
files given. Installing kwa's dependencies from scratch (Prefect, pandas, the Kubernetes client
and schemas: about 760 MB) takes about 110 s per try-repo on an idle two-core machine, 3 to 4
minutes on a busy one: too slow for the suite. So by default the hook's virtualenv installs only
kwa itself, built from the checkout, and finds the dependencies in this interpreter's
site-packages (the same pinned versions, through PYTHONPATH): the two try-repo runs below take
about 23 s together (idle; about 60 s busy).
KWA_PRECOMMIT_FULL_INSTALL=1 installs everything, as a user's first run does (needs the package
index; pip constraints from requirements.lock).
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci.support import BAD, GOOD, REPO, needs_annotations, needs_lint

FULL_INSTALL = os.environ.get("KWA_PRECOMMIT_FULL_INSTALL") == "1"
# Messages pip prints when it cannot reach a package index: the test is skipped, not failed.
OFFLINE = re.compile(
    r"No matching distribution found|Could not find a version that satisfies|"
    r"NewConnectionError|Temporary failure in name resolution|Network is unreachable"
)

pytestmark = [
    needs_lint,
    needs_annotations,
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60)


def _hook_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PYTHONPATH")}
    env["PRE_COMMIT_HOME"] = str(home)  # pre-commit's own store and log, not the user's
    env["PIP_CONSTRAINT"] = str(REPO / "requirements.lock")
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    if not FULL_INSTALL:
        env["PIP_NO_DEPS"] = "1"
        # Build kwa with the setuptools already here: no package index needed at all.
        env["PIP_NO_BUILD_ISOLATION"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(site.getsitepackages())
    return env


def _try_repo(target: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "kwa-lint", "--verbose", "--files", *files]
    result = subprocess.run(
        command, cwd=target, env=env, capture_output=True, text=True, timeout=1500 if FULL_INSTALL else 300
    )
    if result.returncode != 0 and OFFLINE.search(result.stdout + result.stderr):
        pytest.skip("pip could not reach a package index to install the hook's environment")
    return result


@pytest.fixture
def target(tmp_path: Path) -> Path:
    repo = tmp_path / "manifests"
    (repo / "deploy").mkdir(parents=True)
    (repo / "deploy" / "api.yaml").write_text(BAD, encoding="utf-8")
    (repo / "deploy" / "settings.yaml").write_text(GOOD, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    return repo


def test_try_repo_fails_on_a_finding_and_passes_a_clean_manifest(target: Path, tmp_path: Path) -> None:
    env = _hook_env(tmp_path / "pre-commit-home")

    bad = _try_repo(target, env, "deploy/api.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr  # pre-commit's code for a failed hook
    assert re.search(r"^kwa lint\.+Failed$", bad.stdout, re.M), bad.stdout
    assert "- exit code: 6" in bad.stdout  # the --fail-on high gate
    assert re.search(r"^deploy/api\.yaml:\d+: CRITICAL SEC-001 Deployment/shop/api", bad.stdout, re.M), bad.stdout

    good = _try_repo(target, env, "deploy/settings.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"^kwa lint\.+Passed$", good.stdout, re.M), good.stdout
    # Its findings (a warning, a low one) are printed but stay under the gate.
    assert re.search(r"^deploy/settings\.yaml:\d+: ", good.stdout, re.M), good.stdout
    assert not re.search(r"^deploy/settings\.yaml:\d+: (CRITICAL|HIGH) ", good.stdout, re.M), good.stdout
