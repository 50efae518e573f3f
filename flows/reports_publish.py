"""Publishing a run's Policy Reports from the flow, for live runs no ``kwa run`` process ends.

``kwa run --publish-reports`` applies its run's reports to the cluster once the run is stored. A
run a Prefect worker executes — a schedule, a deployment run started in the Prefect UI, a ``kwa
serve`` request — has no such process: when the worker's environment sets
``$KWA_PUBLISH_REPORTS`` (``1``, ``true`` or ``yes``), the flow publishes a live run's reports
itself once the run has ended, with the credentials the run read the cluster with. The reports
are built by the presentation layer, which the flows never import, so this is ``python -m kwa
runs publish RUN_ID`` in a child process, given kwa's database in its environment. Whatever
happens is said in the run's log; the run is recorded as it ended.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

from checks.sources.resolve import SourceSpec
from flows.metrics_push import WORKER_TRIGGERS, child_env

PUBLISH_ENV = "KWA_PUBLISH_REPORTS"
TIMEOUT_S = 120.0


def wanted() -> bool:
    return os.environ.get(PUBLISH_ENV, "").strip().lower() in ("1", "true", "yes")


def command(run_id: str, spec: SourceSpec) -> list[str]:
    argv = [sys.executable, "-m", "kwa", "runs", "publish", run_id]
    if spec.kubeconfig:
        argv += ["--kubeconfig", spec.kubeconfig_here() or spec.kubeconfig]
    if spec.context:
        argv += ["--context", spec.context]
    return argv


def publish_after_run(
    db: Any, run_id: str, spec: SourceSpec, trigger: str, logger: logging.Logger | logging.LoggerAdapter
) -> bool:
    """Publish ``run_id``'s reports when asked to and the run was a worker's live run; True when
    every report was applied. Never raises."""
    if not wanted() or trigger not in WORKER_TRIGGERS or spec.kind != "live":
        return False
    try:
        done = subprocess.run(
            command(run_id, spec), capture_output=True, text=True, timeout=TIMEOUT_S, env=child_env(db), check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("policy reports not published: %s", type(exc).__name__)
        return False
    # kwa runs publish says what it did, or why not, one line each (kwa.publish_reports)
    for line in (line for line in done.stderr.splitlines() if line.strip()):
        (logger.info if done.returncode == 0 else logger.warning)("%s", line)
    return done.returncode == 0
