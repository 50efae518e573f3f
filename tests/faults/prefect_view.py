"""What the Prefect UI shows of a kwa run, read from the Prefect REST API the UI itself reads.

``flow_run_view(api, flow_run_id)`` gathers the flow run's state, its pillar subflows' states, each
check task's state and every log line (kwa's and Prefect's), waiting until the server has recorded
every task run (the API records them from events, seconds after the tasks end). Also the manifests
and settings the UI tests share: two critical failures, and a planted credential that must never
reach the UI.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

# A Deployment running a privileged container (SEC-001, critical) and a DaemonSet mounting the
# container runtime's socket (SEC-013, critical); an env var and a Secret carry a planted credential.
PLANTED = "kwa-planted-Secret-value-9f3a7c1e5b"
TWO_CRITICALS = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
        - name: web
          image: "nginx:1.27"
          securityContext: {{privileged: true}}
          env: [{{name: API_TOKEN, value: "{PLANTED}"}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: log-agent, namespace: ops}}
spec:
  selector: {{matchLabels: {{app: log-agent}}}}
  template:
    metadata: {{labels: {{app: log-agent}}}}
    spec:
      containers:
        - name: agent
          image: "fluent/fluent-bit:3.0"
          volumeMounts: [{{name: sock, mountPath: /var/run/docker.sock}}]
      volumes:
        - name: sock
          hostPath: {{path: /var/run/docker.sock}}
---
apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
type: Opaque
stringData: {{password: "{PLANTED}"}}
"""
# SEC-921 (tests/faults/slow_checks.py) sleeps far past the 2 s timeout this config gives it.
SLOW_CHECK_CONFIG = "checks:\n  SEC-921: {timeout: 2}\n"
SLOW_CHECK_ENV = {"KWA_CHECK_MODULES": "tests.faults.slow_checks,tests.faults.boundary_checks",
                  "KWA_TEST_CHECK_SECONDS": "60"}  # fmt: skip


@dataclass
class StateView:
    type: str
    name: str
    message: str

    @classmethod
    def of(cls, run: dict[str, Any]) -> StateView:
        state = run.get("state") or {}
        return cls(str(state.get("type")), str(state.get("name")), str(state.get("message") or ""))


@dataclass
class RunView:
    id: str
    name: str
    state: StateView
    subflows: dict[str, StateView] = field(default_factory=dict)  # pillar -> its subflow's state
    subflow_ids: dict[str, str] = field(default_factory=dict)
    tasks: dict[str, StateView] = field(default_factory=dict)  # check id -> its task's state
    task_ids: dict[str, str] = field(default_factory=dict)
    logs: list[dict[str, Any]] = field(default_factory=list)  # the run's and its subflows' log lines

    def kwa_lines(self) -> list[dict[str, Any]]:
        return [log for log in self.logs if log["name"] in ("prefect.flow_runs.kwa", "prefect.task_runs.kwa")]

    def text(self) -> str:
        """Every text the UI shows of this run: states, messages, log lines."""
        states = [self.state, *self.subflows.values(), *self.tasks.values()]
        return "\n".join([*(f"{s.name} {s.message}" for s in states), *(log["message"] for log in self.logs)])


def _call(api: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(f"{api.rstrip('/')}{path}", data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def flow_run_view(api: str, flow_run_id: str, tasks_expected: int = 0, timeout: float = 90.0) -> RunView:
    """The flow run as the UI shows it, once ``tasks_expected`` check tasks are recorded in a final state."""
    deadline = time.monotonic() + timeout
    while True:
        view = _read(api, flow_run_id)
        finished = [s for s in view.tasks.values() if s.type in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED")]
        if len(finished) >= tasks_expected or time.monotonic() >= deadline:
            return view
        time.sleep(1.0)


def _read(api: str, flow_run_id: str) -> RunView:
    run = _call(api, f"/flow_runs/{flow_run_id}")
    view = RunView(run["id"], run["name"], StateView.of(run))
    subflows = _call(api, "/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [flow_run_id]}}})
    for sub in subflows:
        view.subflows[sub["name"]] = StateView.of(sub)
        view.subflow_ids[sub["name"]] = sub["id"]
    if subflows:
        tasks = _call(api, "/task_runs/filter",
                      {"flow_runs": {"id": {"any_": [s["id"] for s in subflows]}}, "limit": 200})  # fmt: skip
        for task in tasks:
            view.tasks[task["name"]] = StateView.of(task)
            view.task_ids[task["name"]] = task["id"]
    view.logs = _call(
        api,
        "/logs/filter",
        {"logs": {"flow_run_id": {"any_": [flow_run_id, *view.subflow_ids.values()]}}, "limit": 200,
         "sort": "TIMESTAMP_ASC"},
    )  # fmt: skip
    return view


def artifacts_text(api: str, flow_run_id: str) -> str:
    """The data of every artifact the flow run created (its Artifacts tab)."""
    found = _call(api, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}})
    return "\n".join(json.dumps(a.get("data")) + str(a.get("description") or "") for a in found)
