"""Checks that misbehave on purpose, registered only while a test needs them."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import CheckDefinition, Mode, Pillar, Result, Severity
from checks.registry import REGISTRY


def _sleeps(ctx: CheckContext) -> Iterator[Result]:
    time.sleep(60)
    yield ctx.ok(None)


def _busy(ctx: CheckContext) -> Iterator[Result]:
    n = 0
    while True:
        n += 1
    yield ctx.ok(None)


def _raises(ctx: CheckContext) -> Iterator[Result]:
    raise ValueError("the check's own bug")
    yield


def _blocks_on_socket(ctx: CheckContext) -> Iterator[Result]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    client.recv(1)  # nobody ever writes
    yield ctx.ok(None)


def _slowish(ctx: CheckContext) -> Iterator[Result]:
    time.sleep(1.5)
    for w in ctx.snapshot.workloads():
        yield ctx.ok(w)


def _quick(ctx: CheckContext) -> Iterator[Result]:
    for w in ctx.snapshot.workloads():
        yield ctx.ok(w)


BEHAVIOURS = {
    "SEC-901": ("sleeps far past its timeout", _sleeps),
    "SEC-902": ("busy-loops", _busy),
    "SEC-903": ("raises", _raises),
    "SEC-904": ("blocks on a socket", _blocks_on_socket),
    "SEC-905": ("passes quickly", _quick),
    "SEC-906": ("passes after 1.5 s", _slowish),
}


def register() -> list[str]:
    for check_id, (name, func) in BEHAVIOURS.items():
        if check_id not in REGISTRY:
            REGISTRY.register(
                CheckDefinition(
                    id=check_id,
                    pillar=Pillar.SECURITY,
                    name=f"test check that {name}",
                    severity=Severity.LOW,
                    description="A deliberately misbehaving check for tests.",
                    remediation="None: it is a test double.",
                    mode=Mode.MANIFEST,
                    func=func,
                )
            )
    return list(BEHAVIOURS)


def unregister() -> None:
    for check_id in BEHAVIOURS:
        REGISTRY.unregister(check_id)
