"""Regenerate the example outputs in docs/ci.md by running the real CI files on a sample repository.

    python scripts/ci_examples.py            # print the blocks
    python scripts/ci_examples.py --write    # replace them in docs/ci.md

Each block sits between ``<!-- ci-example:NAME -->`` and ``<!-- /ci-example -->`` in docs/ci.md.
The pre-commit hook runs through ``pre-commit try-repo`` (kwa built from this checkout, the
dependencies borrowed from this interpreter as in tests/ci/test_precommit.py); the GitHub action's
lint step and the GitLab template's lint item run under bash and sh with a ``kwa`` on PATH that
runs this checkout. Run it from the repository root.
"""

from __future__ import annotations

import argparse
import os
import re
import site
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "ci.md"
BLOCK = re.compile(r"(<!-- ci-example:(?P<name>[a-z-]+) -->\n)(.*?)(<!-- /ci-example -->)", re.S)

# A Deployment with one real problem (a privileged container) and the ordinary gaps of a
# manifest that does not carry its namespace's policies with it.
API = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  labels: {app.kubernetes.io/name: api, app.kubernetes.io/instance: api-prod, team: payments}
spec:
  replicas: 3
  selector:
    matchLabels: {app.kubernetes.io/name: api}
  template:
    metadata:
      labels: {app.kubernetes.io/name: api, app.kubernetes.io/instance: api-prod, team: payments}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: api
          image: registry.example.com/shop/api:1.4.2
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /ready, port: 8080}}
          livenessProbe: {httpGet: {path: /live, port: 8080}}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {cpu: 500m, memory: 256Mi}
          securityContext:
            privileged: true
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
"""


def _env(tmp: Path) -> dict[str, str]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "kwa"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kwa "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    """stdout and stderr in one stream, the way a CI log shows them."""
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.stdout


def precommit(work: Path, env: dict[str, str]) -> str:
    hook_env = env | {
        "PRE_COMMIT_HOME": str(work / "pre-commit-home"),
        "PIP_CONSTRAINT": str(REPO / "requirements.lock"),
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "1",
        "PYTHONPATH": os.pathsep.join(site.getsitepackages()),
    }
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "k8s"], cwd=work, check=True)
    out = _run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "kwa-lint", "--files", "k8s/api.yaml"],
               work, hook_env)  # fmt: skip
    # try-repo first prints the configuration it generated (a temporary clone's path and commit);
    # `pre-commit run` in a configured repository prints only what follows.
    start = out.find("kwa lint.")
    return out[start:] if start >= 0 else out


def github(work: Path, env: dict[str, str]) -> str:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "lint")
    inputs = {k: v.get("default", "") for k, v in action["inputs"].items()} | {"paths": "k8s"}
    values = {k: re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], v)
              for k, v in step["env"].items()}  # fmt: skip
    step_env = env | values | {"GITHUB_OUTPUT": str(work / "github-output")}
    return _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], work, step_env)


def gitlab(work: Path, env: dict[str, str]) -> str:
    template = yaml.safe_load((REPO / "ci" / "gitlab" / "kwa-lint.gitlab-ci.yml").read_text(encoding="utf-8"))
    job_env = env | {k: str(v) for k, v in template["variables"].items()} | {"KWA_PATHS": "k8s"}
    return _run(["sh", "-e", "-c", template[".kwa-lint"]["script"][1]], work, job_env)


def junit(work: Path, env: dict[str, str]) -> str:
    """The first failing testcase of the report the GitLab item wrote (run after ``gitlab``)."""
    text = (work / "kwa-junit.xml").read_text(encoding="utf-8")
    match = re.search(r"  <testsuite .*?</testsuite>\n", text, re.S)
    return text[: text.index("\n") + 1] + text.splitlines()[1] + "\n" + (match.group(0) if match else "") + "  …\n"


EXAMPLES: dict[str, Callable[[Path, dict[str, str]], str]] = {
    "pre-commit": precommit,
    "github": github,
    "gitlab": gitlab,
    "junit": junit,
}


def generate() -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="kwa-ci-examples-") as tmp:
        work = Path(tmp) / "repo"
        (work / "k8s").mkdir(parents=True)
        (work / "k8s" / "api.yaml").write_text(API, encoding="utf-8")
        env = _env(Path(tmp))
        return {name: make(work, env) for name, make in EXAMPLES.items()}


def write(blocks: dict[str, str]) -> None:
    def replace(m: re.Match[str]) -> str:
        lang = "xml" if m.group("name") == "junit" else "text"
        return f"{m.group(1)}```{lang}\n{blocks[m.group('name')].rstrip()}\n```\n{m.group(4)}"

    DOC.write_text(BLOCK.sub(replace, DOC.read_text(encoding="utf-8")), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the example blocks in docs/ci.md")
    blocks = generate()
    if parser.parse_args().write:
        write(blocks)
    else:
        for name, text in blocks.items():
            print(f"--- {name}\n{text}")


if __name__ == "__main__":
    main()
