"""What the CI tests share: the repository's CI files, sample manifests and a ``kwa`` on PATH.

The hook, the action and the template call a ``kwa`` executable. Here it is a small script that
runs this checkout's code with the test's interpreter, so the scripts run unchanged against the
code under test without installing anything.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HOOKS = REPO / ".pre-commit-hooks.yaml"
ACTION = REPO / "action.yml"
GITLAB = REPO / "ci" / "gitlab" / "kwa-lint.gitlab-ci.yml"

# A privileged container: SEC-001 (critical) fails on it, so `--fail-on high` rejects it.
BAD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: registry.example.com/shop/api:1.4.2
          securityContext:
            privileged: true
"""
# Nothing in it fails at high or above (two warnings at most).
GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: production
"""
# YAML that is not a Kubernetes object: kwa lint assesses nothing in it (exit 9).
NOT_KUBERNETES = "name: ci\non: push\njobs: {}\n"

needs_lint = pytest.mark.skipif(
    importlib.util.find_spec("kwa.commands.lint") is None, reason="kwa lint is not in this checkout"
)
needs_annotations = pytest.mark.skipif(
    importlib.util.find_spec("cli.formatters.annotations") is None,
    reason="the text and github formats (cli/formatters/annotations.py) are not in this checkout",
)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def kwa_on_path(tmp: Path) -> dict[str, str]:
    """An environment whose PATH starts with a ``kwa`` that runs this checkout with this interpreter."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "kwa"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kwa "$@"\n', encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def write_manifests(root: Path) -> None:
    (root / "deploy").mkdir(parents=True, exist_ok=True)
    (root / "deploy" / "api.yaml").write_text(BAD, encoding="utf-8")
    (root / "deploy" / "settings.yaml").write_text(GOOD, encoding="utf-8")
    (root / "workflow.yaml").write_text(NOT_KUBERNETES, encoding="utf-8")
