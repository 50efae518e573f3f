"""Test checks for process and infrastructure faults, loaded into ``kwa run`` via KWA_CHECK_MODULES.

``SEC-921`` sleeps ``KWA_TEST_CHECK_SECONDS`` (default 3) and then passes every workload, so a
fault test can act while a run is busy and still see the check's results kept afterwards;
``SEC-922`` passes every workload at once. They register only when this module is imported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import REGISTRY, check

SLOW, QUICK = "SEC-921", "SEC-922"
META = dict(
    pillar="security",
    severity="low",
    description="A test double for the fault tests.",
    remediation="None: it is a test double.",
)


def _register() -> None:
    if SLOW in REGISTRY:
        return

    @check(id=SLOW, name="test check that takes a few seconds", **META)
    def slow(ctx: CheckContext) -> Iterator[Result]:
        time.sleep(float(os.environ.get("KWA_TEST_CHECK_SECONDS", "3")))
        for w in ctx.snapshot.workloads():
            yield ctx.ok(w)

    @check(id=QUICK, name="test check that passes at once", **META)
    def quick(ctx: CheckContext) -> Iterator[Result]:
        for w in ctx.snapshot.workloads():
            yield ctx.ok(w)


_register()
