"""scripts/stack-up.sh and scripts/stack-down.sh, run as a user would, on the session's server.

The session's kwa home already records the session's Prefect server, so `kwa server start` inside
stack-up.sh finds it and reuses it (the path a second stack-up takes on any machine). The server
itself is never stopped here (`--worker-only`): the rest of the session needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import stack

pytestmark = [pytest.mark.deploy, pytest.mark.prefect]

SCRIPTS = stack.REPO / "scripts"


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)  # as on a fresh shell: stack-up finds kwa's own server
    env.pop("KWA_REPO_DIR", None)
    env["KWA_PYTHON"] = sys.executable
    proc = subprocess.run(
        ["bash", str(SCRIPTS / script), *args], env=env, capture_output=True, text=True, timeout=300, cwd="/"
    )
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] != "Z"


async def _workers(pool: str) -> list[str]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        return [w.name for w in await client.read_workers_for_work_pool(pool)]


def test_stack_up_is_idempotent_and_stack_down_stops_the_worker(prefect_api: str) -> None:
    from flows.server import kwa_home

    worker_dir = kwa_home() / "worker"
    pid_file = worker_dir / "worker.pid"
    try:
        first = _run("stack-up.sh")
        pid = int(pid_file.read_text())
        assert _alive(pid)
        assert f"Prefect UI:    {prefect_api.removesuffix('/api')}" in first.stdout
        for name in ("full", "security", "custom"):
            assert f"    {name} " in first.stderr, f"deployment {name} not listed:\n{first.stderr}"
        log = (worker_dir / "worker.log").read_text()
        assert "started!" in log, log
        assert any(n.startswith("kwa-local-") for n in asyncio.run(_workers(stack.process_pool_name())))

        again = _run("stack-up.sh")
        assert f"worker already running (pid {pid})" in again.stderr
        assert int(pid_file.read_text()) == pid and _alive(pid)

        down = _run("stack-down.sh", "--worker-only")
        assert f"worker stopped (pid {pid})" in down.stdout
        assert not _alive(pid) and not pid_file.exists()
        assert "worker not running" in _run("stack-down.sh", "--worker-only").stdout
    finally:
        if pid_file.exists():  # a failed assertion must not leave a worker behind
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.killpg(int(pid_file.read_text()), signal.SIGKILL)
