"""Assess many clusters at once: each cluster is its own run, under the same concurrency rules.

With a deployment name, each cluster's assessment is a deployment run that any worker of its pool
can execute (several process workers, or the Kubernetes worker's one Job per run): this is how a
team outgrows one machine. Without one, the runs execute in this process, side by side. Either
way each run takes its cluster's slot and a global slot (at most ``KWA_MAX_CONCURRENT_RUNS``), so
a fleet of 20 clusters runs 3 at a time by default, and the fleet ends with one summary.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from prefect import flow, get_run_logger

from checks.sources.guards import Rejected, load_settings
from flows.slots import max_concurrent_runs
from redaction import install as install_redaction


class FleetError(ValueError):
    pass


def read_targets(contexts: list[str] | None, contexts_file: str | None) -> list[dict[str, Any]]:
    """Targets from a list of kubeconfig contexts and/or a file.

    The file is YAML: a list of context names, or of mappings ``{context, cluster_id, kubeconfig}``;
    a plain text file with one context per line (``#`` comments) works too.
    """
    targets = [{"context": c} for c in contexts or [] if c.strip()]
    if contexts_file:
        path = Path(contexts_file)
        try:
            text = path.read_text()
        except OSError as exc:
            raise FleetError(f"cannot read {contexts_file}: {exc.strerror}") from None
        try:
            data = load_settings(text)
        except Rejected as exc:
            raise FleetError(f"{contexts_file}: {exc.describe()}") from None
        except yaml.YAMLError:
            data = None
        if not isinstance(data, list):
            data = [line.split("#", 1)[0].strip() for line in text.splitlines()]
        for i, entry in enumerate(data):
            if isinstance(entry, str) and entry:
                targets.append({"context": entry})
            elif isinstance(entry, dict) and entry.get("context"):
                targets.append({k: entry[k] for k in ("context", "cluster_id", "kubeconfig") if entry.get(k)})
            elif entry:
                raise FleetError(f"{contexts_file}: entry {i} is neither a context name nor a mapping with 'context'")
    if not targets:
        raise FleetError("no clusters given: pass contexts or a file listing them")
    seen: set[str] = set()
    for t in targets:
        key = t.get("cluster_id") or t["context"]
        if key in seen:
            raise FleetError(f"cluster {key!r} is listed twice")
        seen.add(key)
    return targets


@flow(name="kwa-fleet", log_prints=False)
def fleet(
    contexts: list[str] | None = None,
    contexts_file: str | None = None,
    kubeconfig: str | None = None,
    pillars: list[str] | None = None,
    checks: list[str] | None = None,
    deployment: str | None = None,
    check_timeout: float = 30.0,
    run_timeout: float | None = 600.0,
    trigger: str = "manual",
) -> dict[str, Any]:
    """One assessment per cluster, then one summary across the fleet."""
    install_redaction(prefect=True)
    logger = get_run_logger()
    targets = read_targets(contexts, contexts_file)
    params = [
        {
            "source": {"kind": "live", "context": t["context"], "kubeconfig": t.get("kubeconfig") or kubeconfig},
            "cluster_id": t.get("cluster_id") or t["context"],
            "pillars": pillars,
            "checks": checks,
            "check_timeout": check_timeout,
            "run_timeout": run_timeout,
        }
        for t in targets
    ]
    logger.info("fleet of %d clusters (%s)", len(params), "deployment " + deployment if deployment else "in-process")
    if deployment:
        outcomes = _via_deployment(deployment, params)
    else:
        with ThreadPoolExecutor(max_workers=max(len(params), 1)) as pool:
            outcomes = list(pool.map(lambda p: _in_process(p, trigger), params))
    summary = _fleet_summary(outcomes)
    _publish(summary)
    return summary


def _in_process(p: dict[str, Any], trigger: str) -> dict[str, Any]:
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    state = assessment(**p, trigger=trigger, return_state=True)
    run = (summary_of_state(state) or {}).get("run") or {}
    # A failed or aborted run's state carries its summary too; without one (a crash) the run is
    # found by its flow run.
    return {
        "cluster_id": p["cluster_id"],
        "run_id": run.get("run_id"),
        "prefect_flow_run_id": str(state.state_details.flow_run_id or "") or None,
        "prefect_state": state.name,
    }


def _via_deployment(name: str, params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Start one deployment run per cluster and wait for all of them (workers execute them)."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    started = [(p, run_deployment(name=name, parameters=p, timeout=0)) for p in params]
    pending = {str(fr.id) for _, fr in started}
    states: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        while pending:
            for flow_run_id in list(pending):
                state = client.read_flow_run(flow_run_id).state
                if state is not None and state.is_final():
                    states[flow_run_id] = state.name
                    pending.discard(flow_run_id)
            if pending:
                time.sleep(2)
    return [
        {"cluster_id": p["cluster_id"], "prefect_flow_run_id": str(fr.id), "prefect_state": states[str(fr.id)]}
        for p, fr in started
    ]


def _fleet_summary(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    from storage.db import Database
    from storage.queue import run_for_flow_run
    from storage.runs import get_history, get_run

    db = Database()
    rows = []
    for o in outcomes:
        run_id = o.get("run_id")
        if not run_id and o.get("prefect_flow_run_id"):
            run_id = run_for_flow_run(db, o["prefect_flow_run_id"])
        run = get_run(db, run_id) if run_id else None
        history = get_history(db, run_id) if run_id else None
        overall = ((history or {}).get("scores") or {}).get("overall") or {}
        rows.append(
            {
                "cluster_id": o["cluster_id"],
                "run_id": run_id or "",
                "state": (run or {}).get("state") or f"no run recorded (Prefect: {o.get('prefect_state')})",
                "score": overall.get("score"),
                "grade": overall.get("grade"),
                "grade_capped": bool(overall.get("grade_capped")),
                "incomplete": bool(overall.get("incomplete")),
                "failing": (history or {}).get("failing_count", 0),
                "error": (run or {}).get("error") or "",
            }
        )
    states = [r["state"] for r in rows]
    return {
        "clusters": rows,
        "completed": states.count("completed"),
        "partial": states.count("partial"),
        "failed": sum(1 for s in states if s not in ("completed", "partial", "aborted")),
        "aborted": states.count("aborted"),
        "max_concurrent_runs": max_concurrent_runs(),
    }


def _publish(summary: dict[str, Any]) -> None:
    from flows.artifacts import logger
    from storage.grades import number_text

    try:
        from prefect.artifacts import create_markdown_artifact, create_table_artifact

        lines = [
            "# kwa fleet assessment",
            "",
            "| cluster | state | score | grade | failing | run |",
            "|---|---|---|---|---|---|",
        ]
        for r in summary["clusters"]:
            score = number_text(r["score"])  # the one display rule: cut, never rounded
            lines.append(
                f"| {r['cluster_id']} | {r['state']} | {score} | {r['grade'] or '-'} | {r['failing']} | {r['run_id']} |"
            )
        create_markdown_artifact(markdown="\n".join(lines) + "\n", key="kwa-fleet-summary", description="kwa fleet")
        create_table_artifact(table=summary["clusters"], key="kwa-fleet-clusters", description="kwa fleet, per cluster")
    except Exception as exc:  # the summary artifact is a courtesy
        logger.warning("could not publish the fleet summary: %s", exc)
