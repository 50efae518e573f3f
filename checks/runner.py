"""Evaluate one check against a snapshot, as a plain function (no Prefect).

The orchestration layer wraps :func:`evaluate` in a Prefect task and a hard deadline; tests and the
benchmark call it directly. Everything that decides whether a check *can* run lives here: mode
(live-only checks on manifests), opt-in and disabled checks, and resources the credentials could not
list; and what happens to its verdicts afterwards: exemptions (annotations, config rules, shipped
defaults) turn exempted verdicts into ``skipped`` results, inside the forked worker that ran the check.
"""

from __future__ import annotations

from checks.config import Config
from checks.context import CheckContext
from checks.model import CheckDefinition, Mode, Result, SkipReason, Status
from checks.snapshot import Snapshot


def preflight(check: CheckDefinition, snapshot: Snapshot, config: Config) -> list[Result] | None:
    """Results that replace evaluation (skip or error), or None when the check should run."""
    if check.id in config.disabled:
        return [Result(Status.SKIPPED, "check is disabled in the config", reason=SkipReason.DISABLED)]
    if check.opt_in and check.id not in config.enabled:
        return [
            Result(
                Status.SKIPPED,
                f"opt-in check; add {check.id} to 'enabled' in the config to run it",
                reason=SkipReason.DISABLED,
            )
        ]
    if check.mode in (Mode.LIVE, Mode.LIVE_METRICS) and not snapshot.is_live:
        return [
            Result(Status.SKIPPED, "needs a live cluster; this run assessed manifests", reason=SkipReason.REQUIRES_LIVE)
        ]
    if check.mode is Mode.LIVE_METRICS and snapshot.metrics is None:
        return [
            Result(
                Status.SKIPPED, "metrics.k8s.io is not available on this cluster", reason=SkipReason.REQUIRES_METRICS
            )
        ]
    # An optional add-on that is simply not installed (VPA, Karpenter, KEDA) is an answer, not an error.
    missing = [
        f"{kind}: {snapshot.unavailable[kind]}"
        for kind in check.requires
        if kind in snapshot.unavailable and not snapshot.unavailable[kind].startswith("not installed")
    ]
    if missing:
        return [Result(Status.ERROR, "cannot evaluate, resource not listed: " + "; ".join(missing))]
    return None


def evaluate(check: CheckDefinition, snapshot: Snapshot, config: Config | None = None) -> list[Result]:
    """Run ``check`` and return its results, exemptions applied; exceptions propagate to the caller."""
    config = config or Config()
    early = preflight(check, snapshot, config)
    if early is not None:
        return early
    ctx = CheckContext(snapshot, config, check)
    return config.exemptions.apply(check, snapshot, check.func(ctx))
