"""Pushing a run's metrics to a Pushgateway from the flow, for runs no ``kwa run`` process ends.

``kwa run`` pushes its cluster's metrics after its report (``--push-metrics``, ``$KWA_PUSHGATEWAY``).
A run a Prefect worker executes — a schedule, a deployment run started in the Prefect UI, a
``kwa serve`` request — has no such process: when the worker's environment names a Pushgateway,
the flow pushes the run's cluster itself once the run has ended. The exporter belongs to the
presentation layer, which the flows never import, so the push is ``python -m kwa metrics --push -
--cluster ID`` in a child process, given the URL on stdin (credentials in a URL never show in a
process list) and kwa's database in its environment. A push that fails is one warning in the
run's log; the run is recorded as it ended.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

PUSHGATEWAY_ENV = "KWA_PUSHGATEWAY"
# Runs a worker executes; ``manual`` and ``ci`` runs are ended by ``kwa run``, which pushes itself.
WORKER_TRIGGERS = frozenset({"schedule", "deployment", "api"})
TIMEOUT_S = 60.0


def child_env(db: Any) -> dict[str, str]:
    """The environment of a ``python -m kwa`` child of the flow: this one, with kwa's database set
    to the run's own (whatever chose it: a flag, the environment, the default)."""
    env = dict(os.environ)
    with_password = getattr(db.url, "render_as_string", None)
    if with_password is not None:
        env["KWA_DATABASE_URL"] = with_password(hide_password=False)
    return env


def push_after_run(db: Any, cluster_id: str, trigger: str, logger: logging.Logger | logging.LoggerAdapter) -> bool:
    """Push ``cluster_id``'s metrics when ``$KWA_PUSHGATEWAY`` is set and ``trigger`` is a worker's;
    True when pushed. Never raises."""
    url = os.environ.get(PUSHGATEWAY_ENV, "").strip()
    if not url or trigger not in WORKER_TRIGGERS:
        return False
    env = child_env(db)
    env.pop(PUSHGATEWAY_ENV, None)  # the URL goes on stdin only
    command = [sys.executable, "-m", "kwa", "metrics", "--push", "-", "--cluster", cluster_id]
    try:
        done = subprocess.run(
            command, input=url + "\n", capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.warning("metrics not pushed to the Pushgateway: %s", type(exc).__name__)
        return False
    said = [line for line in done.stderr.splitlines() if line.strip()]
    if done.returncode == 0:
        logger.info("metrics of cluster %s pushed (%s)", cluster_id, said[-1] if said else "kwa metrics --push")
        return True
    # kwa's own messages name the gateway by scheme, host, port and path only (kwa/metrics/export.py)
    logger.warning("metrics not pushed to the Pushgateway: %s", said[-1] if said else f"exit {done.returncode}")
    return False
