"""Handing a requested run to Prefect, and linking a run to its Prefect flow run.

A run requested over HTTP is a row in kwa's database first (``queued``, trigger ``api``; dedup
and the ``rejected`` gate as for every run), then a deployment run of ``kwa-assessment/custom``
(``KWA_API_DEPLOYMENT`` names another) carrying the run's id, so whichever worker of the
deployment's pool picks it up executes exactly this run, under the per-cluster and global slots
(docs/lifecycle.md). The service never executes a run itself. Without a worker polling the pool
the flow run stays Scheduled and the kwa run ``queued``: the answer says so.

When the run cannot be handed over (no Prefect API, no such deployment), it is failed at once
with the reason: a queued run no worker will ever see would hold its dedup key forever.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from kwa.service.problems import Problem

DEPLOYMENT_ENV = "KWA_API_DEPLOYMENT"
DEFAULT_DEPLOYMENT = "kwa-assessment/custom"
logger = logging.getLogger("kwa.service")
_ui_lock = threading.Lock()


def deployment_name() -> str:
    return os.environ.get(DEPLOYMENT_ENV, "").strip() or DEFAULT_DEPLOYMENT


def hand_over(db: Any, run: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Create the deployment run for ``run``; the ``prefect`` part of the answer (flow run id,
    deployment, work pool, workers online). A 503 problem, the run failed, when it cannot be done."""
    from storage.phases import set_phase
    from storage.runs import fail_run

    name = deployment_name()
    flow_params = {
        "source": parameters.get("source"),
        "pillars": parameters.get("pillars"),
        "checks": parameters.get("checks"),
        "cluster_id": run["cluster_id"],
        "check_timeout": parameters.get("check_timeout"),
        "run_timeout": parameters.get("run_timeout"),
        "trigger": "api",
        "run_id": run["run_id"],
    }
    try:
        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment

        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(name)
            pool = deployment.work_pool_name
            workers = _workers_online(client, pool)
        flow_run = run_deployment(name=name, parameters=flow_params, timeout=0, tags=["kwa", "trigger:api"])
    except Exception as exc:  # every way Prefect can refuse: the run must not wait for nothing
        if type(exc).__name__ == "ObjectNotFound":  # prefect.exceptions: the deployment does not exist
            reason = (
                f"not handed to Prefect: its server has no deployment {name}; create the deployments of "
                "prefect.yaml (scripts/stack-up.sh does, or `prefect deploy --all`) or name another one "
                "in KWA_API_DEPLOYMENT"
            )
        else:
            reason = f"not handed to Prefect (deployment {name}): {type(exc).__name__}: {str(exc)[:300]}"
        logger.warning("run %s: %s", run["run_id"], reason)
        fail_run(db, run["run_id"], reason)
        raise Problem(503, "unavailable", f"run {run['run_id']} failed: {reason}", run_id=run["run_id"]) from None
    set_phase(db, run["run_id"], "queued", prefect_flow_run_id=str(flow_run.id))
    return {"flow_run_id": str(flow_run.id), "deployment": name, "work_pool": pool, "workers_online": workers}


def _workers_online(client: Any, pool: str | None) -> int | None:
    if not pool:
        return None
    try:
        workers = client.read_workers_for_work_pool(pool)
    except Exception:  # a pool we may not read: unknown, not zero
        return None
    return sum(1 for w in workers if str(getattr(w, "status", "")).upper().endswith("ONLINE"))


def waiting_note(prefect: dict[str, Any]) -> str | None:
    """Why the run will stay queued, when it will."""
    if prefect.get("workers_online") == 0:
        pool = prefect.get("work_pool")
        return (
            f"no worker is polling work pool {pool}: the run stays queued until one starts "
            f"(prefect worker start --pool {pool})"
        )
    return None


def prefect_link(app: Any, flow_run_id: str | None) -> dict[str, Any]:
    """The run's flow run and its page in the Prefect UI (the UI is probed once per service)."""
    base = ui_base(app)
    url = f"{base}/runs/flow-run/{flow_run_id}" if base and flow_run_id else None
    return {"flow_run_id": flow_run_id, "url": url}


def ui_base(app: Any) -> str | None:
    """The Prefect UI that shows this service's runs, or None (asked once, then remembered)."""
    with _ui_lock:
        if not hasattr(app.state, "prefect_ui"):
            app.state.prefect_ui = _find_ui()
        return app.state.prefect_ui  # type: ignore[no-any-return]


def _find_ui() -> str | None:
    try:
        from flows.prefect_link import api_url
        from flows.ui import check_ui, ui_base_url

        api = api_url()
        base = ui_base_url(api) if api else None
        if not base:
            return None
        verdict = check_ui(base, api)
        return base if verdict.serves_ui and not verdict.problem else None
    except Exception:  # Prefect's settings unreadable: no links, nothing else changes
        return None
