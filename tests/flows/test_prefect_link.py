"""The breaker in front of Prefect's clients: bounded failures, one warning, then no more calls."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from flows import prefect_link
from flows.prefect_link import Link, PrefectUnavailable


def _dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"  # nothing listens there any more


def test_a_busy_server_gets_more_patience_than_a_dead_one() -> None:
    link = Link(grace=0.1, slow_grace=0.5, say=lambda text: None)
    link.failed(httpx.ReadTimeout("slow"))
    time.sleep(0.15)
    assert not link.expired()  # timeouts and 503s: a busy server, not a dead one
    link.failed("HTTP 503 from the API")
    assert not link.down
    link.failed(httpx.ConnectError("refused"))  # refused: it is gone
    assert link.down


def test_failures_within_the_grace_period_are_ridden_out() -> None:
    said: list[str] = []
    link = Link(grace=0.3, say=said.append)
    assert link.failed(httpx.ConnectError("refused")) is False
    link.succeeded()  # a restart shorter than the grace period: back to normal
    time.sleep(0.35)
    assert link.failed(httpx.ConnectError("refused")) is False and not link.down and said == []


def test_lasting_failures_open_the_breaker_with_one_warning() -> None:
    said: list[str] = []
    link = Link(grace=0.2, say=said.append)
    link.failed(httpx.ReadError("connection reset"))
    assert not link.expired()
    time.sleep(0.25)
    assert link.expired() and link.down
    for _ in range(5):
        link.failed(httpx.ConnectError("refused"))
        link.succeeded()  # nothing gets through while down: a stray success does not close it
    assert link.down and len(said) == 1
    assert "stopped answering (ReadError: connection reset)" in said[0] and "kwa runs reap" in said[0]
    link.reset()  # a health probe found the API again
    assert not link.down and link.degraded


def test_the_patched_client_stops_calling_a_dead_api(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.base import PrefectHttpxSyncClient

    said: list[str] = []
    link = Link(grace=0.3, say=said.append)
    # Only this client's calls count here: a Prefect log or event worker thread left by an earlier
    # test in this process, reaching the session's live server, would otherwise reset the grace.
    monkeypatch.setattr(link, "succeeded", lambda: None)
    monkeypatch.setattr(prefect_link, "LINK", link)
    prefect_link.install()
    client = PrefectHttpxSyncClient(base_url=_dead_url())
    with pytest.raises(httpx.ConnectError):
        client.get("/health")
    time.sleep(0.35)
    started = time.monotonic()
    with pytest.raises(PrefectUnavailable, match="the Prefect API is unreachable"):
        client.get("/health")
    assert time.monotonic() - started < 0.5 and len(said) == 1


def test_the_patched_async_client_stops_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from prefect.client.base import PrefectHttpxAsyncClient

    monkeypatch.setattr(prefect_link, "LINK", Link(grace=0.0, say=lambda text: None))
    prefect_link.install()

    async def call() -> None:
        async with PrefectHttpxAsyncClient(base_url=_dead_url()) as client:
            await client.get("/health")

    with pytest.raises(PrefectUnavailable):
        asyncio.run(call())


def test_wanted_state_mirrors_every_terminal_run() -> None:
    wanted = {
        s: prefect_link.wanted_state({"run_id": "r", "state": s, "error": e})
        for s, e in (("completed", None), ("partial", "x"), ("failed", "boom"), ("aborted", "interrupted by SIGINT"))
    }
    assert {s: (w.type.value, w.name) for s, w in wanted.items()} == {
        "completed": ("COMPLETED", "Completed"),
        "partial": ("COMPLETED", "Partial"),
        "failed": ("FAILED", "Failed"),
        "aborted": ("CANCELLED", "Cancelled"),
    }
    lost = prefect_link.wanted_state({"run_id": "r", "state": "failed", "error": "runner lost: gone"})
    assert lost.is_crashed()
    assert prefect_link.wanted_state({"run_id": "r", "state": "running"}) is None


def test_a_down_link_lets_one_call_through_now_and_then_to_find_the_api_again() -> None:
    link = Link(grace=0.0, say=lambda text: None, retry_every=0.2)
    link.failed(httpx.ConnectError("refused"))
    assert link.expired()  # down: calls are refused at once
    time.sleep(0.25)
    assert not link.expired()  # one probe goes through ...
    assert link.expired()  # ... and only one
    assert link.failed(httpx.ConnectError("refused"))  # it failed: down again, no grace this time
    assert link.expired()
    time.sleep(0.25)
    assert not link.expired()
    link.succeeded()  # the API is back
    assert not link.down and not link.expired()
