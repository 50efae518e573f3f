"""Drive kwa's deployment stack from tests: `prefect deploy`, a real process worker, flow-run waits.

Everything runs against the session's Prefect server (``prefect_api`` in tests/conftest.py), on
127.0.0.1, as subprocesses of the test process, and is stopped by the fixtures that start it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PREFECT_YAML = REPO / "prefect.yaml"
FLOW_NAME = "kwa-assessment"
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}


def prefect_yaml() -> dict[str, Any]:
    with PREFECT_YAML.open() as fh:
        return yaml.safe_load(fh)


def process_pool_name() -> str:
    return prefect_yaml()["definitions"]["work_pools"]["process"]["name"]


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # Prefect's console lines are what tests parse: keep them plain and unwrapped.
    env.update({"PREFECT_CLI_WRAP_LINES": "false", "PREFECT_CLI_COLORS": "false", "COLUMNS": "200"})
    env.update(extra)
    return env


def prefect(*args: str, cwd: Path = REPO, timeout: float = 120, **extra_env: str) -> subprocess.CompletedProcess:
    """Run the Prefect CLI of this venv; fail with its output when it fails."""
    proc = subprocess.run(
        [sys.executable, "-m", "prefect", *args],
        cwd=cwd,
        env=_env(**extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"prefect {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


def start_deploy_all() -> subprocess.Popen:
    """`prefect --no-prompt deploy --all` from the repository root, in the background.

    KWA_REPO_DIR is removed from its environment so the pull step keeps its placeholder (what
    scripts/stack-up.sh does); each worker then resolves it to its own clone.
    """
    env = _env()
    env.pop("KWA_REPO_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc: subprocess.Popen, what: str, timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{what} exited {proc.returncode}:\n{out}")
    return out


async def ensure_process_pool(name: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    async with get_client() as client:
        with contextlib.suppress(ObjectAlreadyExists):
            await client.create_work_pool(WorkPoolCreate(name=name, type="process"))


@dataclass
class Worker:
    """A `prefect worker start` subprocess (its own session, so it can be stopped as a group)."""

    proc: subprocess.Popen
    pool: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no worker log)"

    def wait_started(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited with {self.proc.returncode}:\n{self.log_tail()}")
            if re.search(r"Worker '.*' started!", self.log.read_text(errors="replace")):
                return
            time.sleep(0.2)
        raise AssertionError(f"worker not started within {timeout:.0f}s:\n{self.log_tail()}")

    def stop(self, grace: float = 2) -> None:
        """SIGTERM, then SIGKILL: Prefect 3.8.8's worker rarely finishes its own shutdown."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start_worker(pool: str, log: Path, *, name: str = "kwa-test-worker", cwd: Path | None = None) -> Worker:
    """A process worker polling every second, with KWA_REPO_DIR pointing at this checkout.

    It runs in ``cwd`` (default: the log's directory, not the repository), so a run only finds
    the code through the deployment's pull step. KWA_DATABASE_URL, KWA_HOME and PREFECT_API_URL
    come from the test process's environment and reach every flow run by inheritance.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process", "--name", name],
            cwd=cwd or log.parent,
            env=_env(KWA_REPO_DIR=str(REPO), PREFECT_WORKER_QUERY_SECONDS="1"),
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Worker(proc, pool, log)


def flow_run_id_from_cli(output: str) -> str:
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", output)
    if not match:
        raise AssertionError(f"no flow run id in `prefect deployment run` output:\n{output}")
    return match.group(1)


async def wait_for_flow_run(flow_run_id: str, worker: Worker, timeout: float = 90) -> Any:
    """The flow run once it is terminal; on timeout, fail showing its state and the worker's log."""
    import asyncio

    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    async with get_client() as client:
        while True:
            run = await client.read_flow_run(flow_run_id)
            if run.state is not None and run.state.type.value in TERMINAL:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"flow run {flow_run_id} still {run.state.name if run.state else '?'} after {timeout:.0f}s; "
                    f"worker log:\n{worker.log_tail()}"
                )
            await asyncio.sleep(0.5)
