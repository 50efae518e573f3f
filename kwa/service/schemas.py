"""The API's contract: request bodies and response documents as Pydantic models.

FastAPI turns them into the OpenAPI document (``GET /api/v1/openapi.json``; docs/api.md is
generated from it by ``scripts/api_docs.py``). Responses are written by the CLI's own JSON
formatter (the same ``{"apiVersion": "kwa/v1", "kind": …}`` documents ``kwa query … -o json``
prints), so these models document them and tests/service/test_contract.py validates every
response against them; they are not re-validated on each request (a 10,000-row page would pay
for it twice). Documents may carry more fields than listed (``additionalProperties``): fields are
only ever added within ``kwa/v1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Pillar = Literal["security", "reliability", "performance", "cost", "operational-excellence", "sustainability"]
Severity = Literal["critical", "high", "medium", "low", "info"]
Status = Literal["passing", "failing", "warning", "skipped", "error", "timeout"]
State = Literal["queued", "running", "completed", "partial", "failed", "aborted"]
Trigger = Literal["manual", "ci", "schedule", "deployment", "api"]
# A cluster id a run is requested for: kubeconfig context names (``gke_project_zone_name``,
# ``arn:aws:eks:…:cluster/name``, ``user@cluster``). Reading accepts any printable id, since runs
# of manifests are named after their paths (spaces and all).
CLUSTER_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@/+=~-]{0,252}$"
ANY_CLUSTER_ID = r"^[^\x00-\x1f\x7f]{1,253}$"


class Open(BaseModel):
    """A document that may carry more fields than the contract lists."""

    model_config = ConfigDict(extra="allow")


class Closed(BaseModel):
    """A request body: an unknown field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# -- errors -------------------------------------------------------------------------------------


class FieldError(Open):
    location: str
    message: str


class ProblemDetails(Open):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(examples=["urn:kwa:problem:not-found"])
    title: str
    status: int
    detail: str
    instance: str
    errors: list[FieldError] | None = None


# -- requests -----------------------------------------------------------------------------------


class SourceRequest(Closed):
    """What to assess. ``live``: a cluster through the worker's kubeconfig (context ``context``,
    else its current one); ``demo``: the bundled demo cluster; ``auto``: decided when the run is
    requested, on the service's host as ``kwa run`` decides: ``live`` when a kubeconfig is found
    there, else ``demo``. Manifest paths are not accepted over HTTP (they would name files on the
    service's host)."""

    kind: Literal["auto", "live", "demo"] = "auto"
    context: str | None = Field(default=None, max_length=253, pattern=CLUSTER_ID)


class GateRequest(Closed):
    """The gates the run is judged by once it ends (the CLI's ``--fail-on``, ``--min-score``,
    ``--min-coverage``); ``GET /api/v1/runs/{run_id}`` then says ``passed`` or ``rejected``."""

    fail_on: Severity | None = None
    min_score: list[str] = Field(default_factory=list, max_length=7, description="N or PILLAR=N (0-100)")
    min_coverage: list[str] = Field(default_factory=list, max_length=7, description="N or PILLAR=N (0-100)")


class RunRequest(Closed):
    """A run to request: its scope (none = every check), source, timeouts and gates."""

    pillars: list[Pillar] = Field(default_factory=list, max_length=6)
    checks: list[str] = Field(default_factory=list, max_length=500)
    source: SourceRequest = Field(default_factory=SourceRequest)
    check_timeout: float = Field(default=30.0, gt=0, le=3600)
    run_timeout: float | None = Field(default=600.0, ge=0, le=86400, description="0 or null: none")
    force_new: bool = False
    gate: GateRequest | None = None


# -- runs ---------------------------------------------------------------------------------------


class Run(Open):
    run_id: str
    cluster_id: str
    state: State
    scope: str
    trigger: Trigger
    source: str
    pillars: list[str]
    check_ids: list[str]
    requested_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    phase: str | None = None
    error: str | None
    prefect_flow_run_id: str | None
    rerun_of: str | None = None
    resume_of: str | None = None


class CursorPage(Open):
    limit: int
    next_cursor: str | None


class OffsetPage(Open):
    limit: int
    offset: int
    total: int
    next_offset: int | None


class RunPage(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["RunList"]
    items: list[Run]
    pagination: CursorPage | OffsetPage


class Phase(Open):
    phase: str
    at: datetime | None


class PrefectLink(Open):
    flow_run_id: str | None
    url: str | None = Field(description="the flow run's page in the Prefect UI, when one shows it")
    deployment: str | None = None
    work_pool: str | None = None
    workers_online: int | None = None


class GateOutcome(Open):
    outcome: Literal["passed", "rejected", "pending", "not_applied"]
    fail_on: str | None
    min_score: dict[str, float]
    min_coverage: dict[str, float] | None
    violations: list[dict[str, Any]]
    reason: str | None = None


class RunDetail(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["Run"]
    run: Run
    phases: list[Phase]
    timings: dict[str, Any]
    scores: dict[str, Any] | None
    counts: dict[str, int] | None
    checks: dict[str, Any] | None
    pillars: dict[str, Any] | None
    warnings: list[Any]
    exemption_audit: list[dict[str, Any]]
    prefect: PrefectLink
    gate: GateOutcome | None = None


class RunAccepted(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["RunRequest"]
    created: bool = Field(description="false: an identical run was already queued or running; this is it")
    run: Run
    prefect: PrefectLink
    note: str | None = Field(description="why the run may wait (no worker polling its work pool)")


class RunControlled(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["RunControl"]
    action: Literal["abort", "rerun", "resume"]
    run: Run
    of: str | None = None
    prefect: PrefectLink | None = None
    note: str | None = None


# -- findings -----------------------------------------------------------------------------------


class Result(Open):
    id: str
    run_id: str
    pillar: str
    check_id: str
    check_name: str
    severity: Severity
    status: Status
    object_kind: str | None
    object_namespace: str | None
    object_name: str | None
    message: str | None
    remediation: str | None
    assessed_at: datetime


class ResultPage(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["AssessmentList"]
    scope: dict[str, Any]
    run: dict[str, Any] | None
    items: list[Result]
    pagination: dict[str, Any]


class HistoryPoint(Open):
    run_id: str
    finished_at: datetime
    state: str
    counts: dict[str, int]


class History(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["AssessmentHistory"]
    cluster_id: str
    scope: str
    pillars: list[str]
    items: list[HistoryPoint]


class Diff(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["AssessmentDiff"]
    run_a: dict[str, Any]
    run_b: dict[str, Any]
    new_failures: list[dict[str, Any]]
    fixed: list[dict[str, Any]]
    still_failing: list[dict[str, Any]]
    changed: list[dict[str, Any]]


class LatestFinished(Open):
    run_id: str
    state: str
    scope: str
    completed_at: datetime | None
    scores: dict[str, Any] | None
    counts: dict[str, int | None]


class Cluster(Open):
    cluster_id: str
    runs: int
    run_id: str
    state: str
    latest_finished: LatestFinished | None


class CheckSummary(Open):
    id: str
    pillar: Pillar
    name: str
    severity: Severity
    description: str
    remediation: str


class CheckList(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["CheckList"]
    items: list[CheckSummary]


class AffectedIn(Open):
    cluster_id: str
    run_id: str
    state: str
    affected: int | None
    items: list[Result]


class CheckDetail(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["Check"]
    check: CheckSummary
    clusters: list[AffectedIn]


class ClusterList(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["ClusterList"]
    items: list[Cluster]


class Health(Open):
    status: Literal["ok"]
    version: str


# -- compliance frameworks ----------------------------------------------------------------------

ControlState = Literal["passed", "failed", "warning", "not-evaluated", "not-assessed"]


class FrameworkBrief(Open):
    name: str
    title: str
    version: str
    source: str
    controls: int
    assessed: int
    not_assessed: int
    partial: int
    checks: int


class FrameworkList(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["FrameworkList"]
    items: list[FrameworkBrief]


class ControlResult(Open):
    id: str
    title: str
    reference: str
    status: ControlState
    checks: list[str]
    partial: bool
    failing: int
    warning: int
    exempted: int
    failing_checks: list[str]
    not_evaluated: list[dict[str, str]]
    note: str | None = None
    reason: str | None = None


class FrameworkStatus(Open):
    apiVersion: Literal["kwa/v1"]
    kind: Literal["FrameworkStatus"]
    run: dict[str, Any] | None
    framework: dict[str, str]
    score: float | None = Field(description="100 × 2·passed / (2·passed + 2·failed + warning), cut to one decimal")
    coverage: float | None = Field(
        description="100 × evaluated controls / all controls (not-assessed count against it)"
    )
    counts: dict[str, int]
    controls_total: int
    controls_evaluated: int
    controls: list[ControlResult]
