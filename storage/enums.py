"""Storage's own vocabulary (storage never imports ``checks`` or ``flows``)."""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    ABORTED = "aborted"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL: frozenset[RunState] = frozenset({RunState.COMPLETED, RunState.PARTIAL, RunState.FAILED, RunState.ABORTED})

# The only transitions storage allows; everything else raises InvalidTransition.
ALLOWED_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.RUNNING, RunState.FAILED, RunState.ABORTED}),
    RunState.RUNNING: frozenset({RunState.COMPLETED, RunState.PARTIAL, RunState.FAILED, RunState.ABORTED}),
}


# Runs whose findings are whole: what a baseline (``--baseline-run``, ``--write-baseline``) takes.
BASELINE_STATES = ("completed", "partial")


def is_terminal(state: str | RunState) -> bool:
    return RunState(state) in TERMINAL


class Scope(StrEnum):
    FULL = "full"
    PILLAR = "pillar"
    SINGLE = "single"
    # several named checks (``--check A,B``), beside full, pillar and single-check scopes
    # (docs/lifecycle.md#scopes)
    CUSTOM = "custom"


class Trigger(StrEnum):
    MANUAL = "manual"
    CI = "ci"
    SCHEDULE = "schedule"
    DEPLOYMENT = "deployment"
    API = "api"  # POST /api/v1/clusters/{cluster}/runs (kwa serve)


# Per-result statuses (the same strings as checks.model.Status; kept here so storage stays independent).
STATUSES: tuple[str, ...] = ("passing", "failing", "warning", "skipped", "error", "timeout")
# Check severities, most severe first (the order every listing and gate uses).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
