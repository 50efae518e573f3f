"""Checks for the worker lifecycle tests, loaded in the worker's flow runs via KWA_CHECK_MODULES."""

from __future__ import annotations

import time
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import REGISTRY, check

META = dict(
    pillar="security",
    severity="low",
    description="A test double for the worker lifecycle tests.",
    remediation="None: it is a test double.",
)


def _register() -> None:
    if "SEC-911" in REGISTRY:
        return

    @check(id="SEC-911", name="test check that takes a minute", **META)
    def slow(ctx: CheckContext) -> Iterator[Result]:
        time.sleep(60)
        yield ctx.ok(None)

    @check(id="SEC-912", name="test check that passes at once", **META)
    def quick(ctx: CheckContext) -> Iterator[Result]:
        for w in ctx.snapshot.workloads():
            yield ctx.ok(w)


_register()
