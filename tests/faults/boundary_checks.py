"""A check with a bug, loaded into ``kwa run`` through ``KWA_CHECK_MODULES`` by the boundary tests.

OPS-990 reads ``metadata.labels["team"]`` without asking whether it is there: a KeyError on every
Deployment that lacks the label. The input boundary cannot rule that out (the label is optional),
so it is the per-check safety net that must pin the failure on those objects.
"""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import REGISTRY, check

if "OPS-990" not in REGISTRY:

    @check(
        id="OPS-990",
        pillar="operational-excellence",
        name="Team label (a test check with a bug)",
        severity="low",
        description="Reads the team label without checking that it is set.",
        remediation="None: it is a test double.",
        requires=("Deployment",),
    )
    def team_label(ctx: CheckContext) -> Iterator[Result]:
        for d in ctx.snapshot.of_kind("Deployment"):
            yield ctx.ok(d, "owned by " + d.labels["team"])
