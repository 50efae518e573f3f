"""Fixtures for the deployment side: prefect.yaml deployed on the session server, a live worker.

Select these tests with ``-m deploy`` (or deselect with ``-m 'not deploy'``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.deploy import stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "deploy: prefect.yaml, workers and deployment runs, Kubernetes manifests")


@dataclass
class Stack:
    api_url: str
    pool: str
    worker: stack.Worker
    deploy_output: str


@pytest.fixture(scope="session")
def deployed_stack(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """prefect.yaml deployed verbatim and a process worker on its pool, on the session's server.

    The pool keeps prefect.yaml's own name (kwa-process): the server is private to the session,
    so nothing outside the tests sees it. Deploying and starting the worker overlap (both are
    mostly Python start-up).
    """
    pool = stack.process_pool_name()
    asyncio.run(stack.ensure_process_pool(pool))
    deploying = stack.start_deploy_all()
    worker = stack.start_worker(pool, tmp_path_factory.mktemp("worker") / "worker.log")
    try:
        output = stack.finish(deploying, "prefect --no-prompt deploy --all")
        worker.wait_started()
        yield Stack(prefect_api, pool, worker, output)
    finally:
        if deploying.poll() is None:
            deploying.kill()
        worker.stop()
