"""Per-kind API faults through a misbehaving HTTP API double: what lands in ``Snapshot.unavailable``,
what the checks that need the kind then say, and how long each fault may cost.

Every fault hits one kind (or every list, where that is the point); everything else is served
normally, so each test also proves the fault stays with its kind.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from checks.model import Status as ResultStatus
from checks.registry import load_all
from checks.runner import evaluate
from checks.sources.live import (
    RESOURCES,
    ClusterUnreachable,
    DeadlineExceeded,
    NothingListable,
    load_live,
    transport,
)
from tests.sources.fault_double import ApiDouble, Hang, Oversized, Raw, Reset, SlowHeaders, Status, Trickle
from tests.sources.k8s_double import make_pod, write_kubeconfig

METRICS = ("PodMetrics", "NodeMetrics")
DEEP = b"[" * 100_000 + b"]" * 100_000
PODS = [make_pod("shop", f"web-{i}") for i in range(3)]
DEPLOYMENTS = [{"metadata": {"name": "web", "namespace": "shop"}, "spec": {"replicas": 2}}]


@pytest.fixture
def double() -> Iterator[ApiDouble]:
    with ApiDouble({"Pod": PODS, "Deployment": DEPLOYMENTS, "Namespace": [{"metadata": {"name": "shop"}}]}) as api:
        yield api


@pytest.fixture
def kubeconfig(tmp_path: Path, double: ApiDouble) -> str:
    return write_kubeconfig(tmp_path / "kubeconfig", {"double": double.url})


def load(kubeconfig: str, **kwargs: Any) -> Any:
    kwargs.setdefault("request_timeout", 5.0)
    return load_live(kubeconfig, **kwargs)


def error_rows(snapshot: Any, kind: str) -> list[str]:
    """The messages of a check that needs ``kind``, evaluated on ``snapshot``."""
    check = next(c for c in load_all().select(None, None) if c.requires == (kind,) or kind in c.requires)
    results = evaluate(check, snapshot)
    assert results and all(r.status is ResultStatus.ERROR for r in results), [r.message for r in results]
    return [r.message for r in results]


# ---- HTTP statuses on one kind --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Status(401, "Unauthorized"), "unauthorized: apps/deployments (HTTP 401)"),
        (Status(403, "Forbidden"), "forbidden: apps/deployments (HTTP 403)"),
        (Status(404, "NotFound"), "not found: apps/deployments (HTTP 404)"),
        (Status(500, "InternalError", "conversion webhook failed"), "error: apps/deployments (HTTP 500 InternalError)"),
        (Status(500, "Internal error: <html>", "proxy"), "error: apps/deployments (HTTP 500 Internal Server Error)"),
        (Raw(200, b'{"kind": "DeploymentList", "items": [{"meta'), "error: apps/deployments (invalid JSON response)"),
        (Raw(200, b"[1, 2, 3]"), "error: apps/deployments (response is not a JSON object)"),
        (Raw(200, b'{"items": "web"}'), "error: apps/deployments (the list's items are not a JSON array)"),
        (Raw(200, DEEP), "error: apps/deployments (invalid JSON response: nested too deeply)"),
    ],
    ids=["401", "403", "404", "500", "500-free-text", "malformed", "not-an-object", "items-not-a-list", "deep-json"],
)
def test_a_failing_kind_is_unavailable_and_its_checks_error(
    double: ApiDouble, kubeconfig: str, fault: Any, expected: str
) -> None:
    double.always("Deployment", fault)

    snap = load(kubeconfig)

    assert snap.unavailable["Deployment"] == expected
    assert [o.name for o in snap.of_kind("Pod")] == ["web-0", "web-1", "web-2"]
    assert len(double.requests_for("Deployment")) == 1  # none of these is retried
    messages = error_rows(snap, "Deployment")
    assert any(f"Deployment: {expected}" in m for m in messages), messages


def test_gone_on_every_continue_is_bounded(double: ApiDouble, kubeconfig: str) -> None:
    double.objects["Pod"] = [make_pod("shop", f"p{i}") for i in range(5)]
    double.expire_continue.add("/api/v1/pods")
    snap = load(kubeconfig, page_size=2)

    assert snap.unavailable["Pod"] == "gone: core/pods (continue token expired 4 times while paging, HTTP 410)"
    assert len([r for r in double.requests_for("Pod") if "continue" not in r.params]) == 4


# ---- retries: 429 / 503 with Retry-After, 502 / 504 back off, 500 is not retried -------------------


def test_429_honours_retry_after_seconds(double: ApiDouble, kubeconfig: str) -> None:
    double.fault("Pod", Status(429, "TooManyRequests", headers={"Retry-After": "1"}))
    started = time.monotonic()

    snap = load(kubeconfig)

    assert "Pod" not in snap.unavailable and len(snap.of_kind("Pod")) == 3
    assert len(double.requests_for("Pod")) == 2
    assert 1.0 <= time.monotonic() - started < 1.0 + 0.3 + 2.0  # Retry-After, its jitter, the rest


def test_503_honours_retry_after_as_an_http_date(double: ApiDouble, kubeconfig: str) -> None:
    when = formatdate(time.time() + 2, usegmt=True)  # whole seconds: waits between 1 and 2 s
    double.fault("Pod", Status(503, "ServiceUnavailable", headers={"Retry-After": when}))
    started = time.monotonic()

    snap = load(kubeconfig)

    assert len(snap.of_kind("Pod")) == 3
    assert 0.9 <= time.monotonic() - started < 2.5 + 2.0


def test_throttled_for_good_gives_up_after_bounded_attempts(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Pod", Status(429, "TooManyRequests", headers={"Retry-After": "0"}))

    snap = load(kubeconfig)

    assert snap.unavailable["Pod"] == "throttled: core/pods (HTTP 429 Too Many Requests, still after 4 attempts)"
    assert len(double.requests_for("Pod")) == transport.MAX_ATTEMPTS
    assert error_rows(snap, "Pod")


def test_retry_after_past_the_deadline_is_not_waited_for(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Pod", Status(429, "TooManyRequests", headers={"Retry-After": "3600"}))
    started = time.monotonic()

    snap = load(kubeconfig, deadline=time.monotonic() + 5)

    assert time.monotonic() - started < 3
    # Even capped (RETRY_AFTER_CAP, 10 s) the wait would pass the deadline: not started.
    assert snap.unavailable["Pod"] == (
        "throttled: core/pods (HTTP 429 Too Many Requests, Retry-After 3600s would pass the deadline)"
    )
    assert len(double.requests_for("Pod")) == 1


@pytest.mark.parametrize("code", [502, 504])
def test_gateway_errors_back_off_and_recover(double: ApiDouble, kubeconfig: str, code: int) -> None:
    double.fault("Pod", Status(code, "", "upstream"), Status(code, "", "upstream"))
    started = time.monotonic()

    snap = load(kubeconfig)

    assert len(snap.of_kind("Pod")) == 3 and "Pod" not in snap.unavailable
    assert len(double.requests_for("Pod")) == 3
    assert time.monotonic() - started >= 0.5 + 1.0


def test_a_500_is_reported_at_once(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Pod", Status(500, "InternalError"))
    started = time.monotonic()

    snap = load(kubeconfig)

    assert snap.unavailable["Pod"] == "error: core/pods (HTTP 500 InternalError)"
    assert len(double.requests_for("Pod")) == 1
    assert time.monotonic() - started < 2


# ---- transport faults: reset, hang, trickle -------------------------------------------------------


def test_one_reset_is_retried(double: ApiDouble, kubeconfig: str) -> None:
    double.fault("Pod", Reset())

    snap = load(kubeconfig)

    assert len(snap.of_kind("Pod")) == 3 and "Pod" not in snap.unavailable
    assert len(double.requests_for("Pod")) == 2


def test_a_kind_that_keeps_resetting_is_unreachable(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Pod", Reset())

    snap = load(kubeconfig)

    assert snap.unavailable["Pod"].startswith("unreachable: core/pods (connection broken: ")
    assert "reset" in snap.unavailable["Pod"].lower()
    assert len(double.requests_for("Pod")) == 2  # retried once
    # Kinds skipped while the breaker was open were listed once another answer closed it.
    assert [o.name for o in snap.of_kind("Deployment")] == ["web"]
    assert set(snap.unavailable) == {"Pod", "VerticalPodAutoscaler", "NodePool", "ScaledObject", *METRICS}
    assert error_rows(snap, "Pod")


def test_a_hanging_kind_times_out(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Deployment", Hang())
    started = time.monotonic()

    snap = load(kubeconfig, request_timeout=1.0)

    assert time.monotonic() - started < 1.0 + 2.0
    assert snap.unavailable["Deployment"] in (
        "timeout: apps/deployments (no response within 1s)",
        "skipped: apps/deployments (API server stopped responding: no response within 1s)",
    )
    assert len(snap.of_kind("Pod")) == 3


def test_one_hanging_kind_costs_only_itself(double: ApiDouble, kubeconfig: str) -> None:
    """One failure does not open the breaker: with two workers, every other kind is still listed."""
    double.always("Pod", Hang())

    snap = load(kubeconfig, request_timeout=1.0, workers=2, kinds=["Pod", "Deployment", "Namespace", "Node"])

    assert snap.unavailable == {"Pod": "timeout: core/pods (no response within 1s)"}
    assert [o.name for o in snap.of_kind("Deployment")] == ["web"]


def test_two_kinds_hanging_together_open_the_breaker_and_a_probe_closes_it(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Pod", Hang())
    double.always("Deployment", Hang())
    started = time.monotonic()

    snap = load(kubeconfig, request_timeout=1.0, workers=2, kinds=["Pod", "Deployment", "Namespace", "Node", "Service"])

    assert time.monotonic() - started < 1.0 + 2.0
    assert set(snap.unavailable) == {"Pod", "Deployment"}
    assert snap.unavailable["Pod"] == "timeout: core/pods (no response within 1s)"
    assert [o.name for o in snap.of_kind("Namespace")] == ["shop"]
    # Each kind was asked for once: skipped ones were listed after the probe's answer closed the breaker.
    assert len(double.requests_for("Node")) == 1 and len(double.requests_for("Service")) == 1


def test_a_trickling_body_is_cut_at_the_request_total(double: ApiDouble, kubeconfig: str) -> None:
    """One byte every 0.5 s never trips the 5 s read timeout; the request's total deadline ends it."""
    double.always("Deployment", Trickle(interval=0.5))
    started = time.monotonic()

    snap = load(kubeconfig, request_total=2.0)

    elapsed = time.monotonic() - started
    assert 2.0 <= elapsed < 2.0 + 2.0
    assert snap.unavailable["Deployment"] == "timeout: apps/deployments (response body still arriving within 2s)"
    assert len(snap.of_kind("Pod")) == 3


def test_trickling_headers_are_cut_at_the_request_total(double: ApiDouble, kubeconfig: str) -> None:
    """The status line and headers arriving byte by byte: the watchdog cuts the request all the same."""
    double.always("Deployment", SlowHeaders(interval=0.2))
    started = time.monotonic()

    snap = load(kubeconfig, request_total=2.0)

    assert time.monotonic() - started < 2.0 + 2.0
    assert snap.unavailable["Deployment"] == "timeout: apps/deployments (no complete response within 2s)"


def test_the_deadline_cuts_every_trickling_list(double: ApiDouble, kubeconfig: str) -> None:
    double.always("*", Trickle(interval=0.5))
    started = time.monotonic()

    with pytest.raises(DeadlineExceeded) as info:
        load(kubeconfig, deadline=time.monotonic() + 3)

    elapsed = time.monotonic() - started
    print(f"cut after {elapsed:.2f}s: {info.value}")
    assert 2.9 <= elapsed < 3.0 + 1.5
    message = str(info.value)
    assert message.startswith(
        f"reading the cluster at {double.url} did not finish before the deadline (after 3s of reading): "
    )
    assert "were still being read (response body still arriving when the deadline passed)" in message
    assert "core/pods" in message and "0 of 41 resources were read" in message
    assert isinstance(info.value, ClusterUnreachable)


def test_a_deadline_already_past_reads_nothing(double: ApiDouble, kubeconfig: str) -> None:
    with pytest.raises(DeadlineExceeded, match="had passed before reading the cluster began"):
        load(kubeconfig, deadline=time.monotonic() - 1)
    assert double.requests == []


# ---- size ---------------------------------------------------------------------------------------


def test_an_oversized_page_is_asked_for_smaller_then_unavailable(double: ApiDouble, kubeconfig: str) -> None:
    double.always("ConfigMap", Oversized(3 * 1024 * 1024))

    snap = load(kubeconfig, max_response_bytes=1024 * 1024)

    assert snap.unavailable["ConfigMap"] == "too large: core/configmaps (a page of 5 exceeded the 1 MiB response limit)"
    assert [r.params["limit"] for r in double.requests_for("ConfigMap")] == ["500", "50", "5"]
    assert len(snap.of_kind("Pod")) == 3
    assert error_rows(snap, "ConfigMap")


def test_large_objects_are_listed_in_smaller_pages(double: ApiDouble, kubeconfig: str) -> None:
    big = [{"metadata": {"name": f"cm-{i}", "namespace": "a"}, "data": {"blob": "x" * 300_000}} for i in range(7)]
    double.objects["ConfigMap"] = big

    snap = load(kubeconfig, max_response_bytes=1024 * 1024, page_size=10)

    assert "ConfigMap" not in snap.unavailable
    assert [o.name for o in snap.of_kind("ConfigMap")] == [f"cm-{i}" for i in range(7)]
    assert [r.params["limit"] for r in double.requests_for("ConfigMap")][:2] == ["10", "1"]


def test_a_gzip_bomb_is_stopped_at_the_limit(double: ApiDouble, kubeconfig: str) -> None:
    inflated = b'{"kind":"List","items":[' + b" " * (50 * 1024 * 1024) + b"]}"
    bomb = gzip.compress(inflated, compresslevel=9)
    assert len(bomb) < 100 * 1024
    double.always("ConfigMap", Raw(200, bomb, {"Content-Encoding": "gzip"}))

    snap = load(kubeconfig, max_response_bytes=1024 * 1024, kinds=["ConfigMap", "Pod"])

    assert snap.unavailable["ConfigMap"].startswith("too large: core/configmaps")


def test_a_gzipped_answer_is_read(double: ApiDouble, kubeconfig: str) -> None:
    body = gzip.compress(json.dumps({"kind": "List", "metadata": {}, "items": PODS}).encode())
    double.always("Pod", Raw(200, body, {"Content-Encoding": "gzip"}))

    snap = load(kubeconfig, kinds=["Pod"])

    assert [o.name for o in snap.of_kind("Pod")] == ["web-0", "web-1", "web-2"]


# ---- nothing listable ---------------------------------------------------------------------------


def test_every_list_forbidden_is_nothing_listable(double: ApiDouble, kubeconfig: str) -> None:
    double.always("*", Status(403, "Forbidden"))

    with pytest.raises(NothingListable) as info:
        load(kubeconfig)

    # RBAC refuses before the API server looks up a resource: the add-ons answer 403 too.
    assert str(info.value) == (
        f"the credentials could not list any of the {len(RESOURCES)} resources kwa reads (403 Forbidden on all): "
        "check the ClusterRole in deploy/kubernetes/assessor-rbac.yaml"
    )
    assert isinstance(info.value, ClusterUnreachable)


def test_a_mix_of_401_and_403_is_nothing_listable(double: ApiDouble, kubeconfig: str) -> None:
    double.always("Deployment", Status(403, "Forbidden"))
    double.always("Pod", Status(401, "Unauthorized"))

    # The add-on that answers 404 is not installed: it neither counts as refused nor as listed.
    with pytest.raises(NothingListable, match=r"any of the 2 resources kwa reads \(401 Unauthorized or 403 Forbidden"):
        load(kubeconfig, kinds=["Pod", "Deployment", "VerticalPodAutoscaler"])


def test_one_kind_listable_is_enough(double: ApiDouble, kubeconfig: str) -> None:
    double.always("*", Status(403, "Forbidden"))
    double.always("Namespace", Raw(200, b'{"kind": "NamespaceList", "items": [{"metadata": {"name": "a"}}]}'))

    snap = load(kubeconfig)

    assert [o.name for o in snap.of_kind("Namespace")] == ["a"]
    assert snap.unavailable["Pod"] == "forbidden: core/pods (HTTP 403)"


def test_a_retry_after_of_digits_float_refuses_is_not_a_delay() -> None:
    from checks.sources.live.transport import parse_retry_after

    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("²") is None  # str.isdigit says yes; float() raised ValueError
