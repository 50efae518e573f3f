"""What a live read asks of the API server (docs/api-load.md): pages of at most 500, first pages from
the watch cache and the fallbacks, a bound on lists in flight, and the report of what it cost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from checks.sources.live import (
    MAX_CONCURRENT_LISTS,
    MAX_PAGE_SIZE,
    MAX_RELISTS,
    SECRET_ACCEPT,
    ClusterConfigError,
    ClusterUnreachable,
    load_live,
)
from tests.sources.fault_double import ApiDouble, Hang, Status
from tests.sources.k8s_double import write_kubeconfig

CACHE = {"resourceVersion": "0", "resourceVersionMatch": "NotOlderThan"}


def pods(n: int) -> list[dict[str, Any]]:
    return [{"metadata": {"name": f"p{i:05d}", "namespace": "shop"}, "spec": {"containers": []}} for i in range(n)]


@pytest.fixture
def double() -> Iterator[ApiDouble]:
    secrets = [{"metadata": {"name": "tls", "namespace": "shop"}, "type": "kubernetes.io/tls"}]
    with ApiDouble({"Pod": pods(7), "Namespace": [{"metadata": {"name": "shop"}}], "Secret": secrets}) as api:
        api.version = {"major": "1", "minor": "33", "gitVersion": "v1.33.2"}  # streams whole answers
        yield api


@pytest.fixture
def kubeconfig(tmp_path: Path, double: ApiDouble) -> str:
    return write_kubeconfig(tmp_path / "kubeconfig", {"double": double.url})


def load(kubeconfig: str, **kwargs: Any) -> Any:
    kwargs.setdefault("request_timeout", 5.0)
    return load_live(kubeconfig, **kwargs)


def list_params(double: ApiDouble, kind: str) -> list[dict[str, str]]:
    return [r.params for r in double.requests_for(kind)]


# ---- pages and the watch cache --------------------------------------------------------------------


def test_the_first_page_asks_for_the_watch_cache_and_the_others_only_continue(
    double: ApiDouble, kubeconfig: str
) -> None:
    snap = load(kubeconfig, page_size=3, kinds=["Pod", "Secret"])

    assert [o.name for o in snap.of_kind("Pod")] == [f"p{i:05d}" for i in range(7)]
    assert list_params(double, "Pod") == [
        {"limit": "3", **CACHE},
        {"limit": "3", "continue": "offset-3"},
        {"limit": "3", "continue": "offset-6"},
    ]
    # Secrets: the same metadata-only negotiation, and the cache on the first page.
    (secrets,) = double.requests_for("Secret")
    assert secrets.params == {"limit": "3", **CACHE, "includeObject": "Metadata"}
    assert secrets.headers["accept"] == SECRET_ACCEPT
    assert snap.get("Secret", "shop", "tls").raw == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "tls", "namespace": "shop"},
        "type": "kubernetes.io/tls",
    }
    assert snap.api_stats["watch_cache"] == "used"
    assert snap.api_stats["pages_by_kind"] == {"Pod": 3, "Secret": 1}


def test_a_cache_that_ignores_limit_answers_each_kind_in_one_request(double: ApiDouble, kubeconfig: str) -> None:
    double.cache_whole = True
    double.objects["Pod"] = pods(1200)

    snap = load(kubeconfig, kinds=["Pod"])

    assert len(snap.of_kind("Pod")) == 1200
    assert list_params(double, "Pod") == [{"limit": "500", **CACHE}]
    assert snap.api_stats["pages"] == 1


def test_pages_hold_at_most_500_whatever_is_configured(double: ApiDouble, kubeconfig: str) -> None:
    double.objects["Pod"] = pods(1200)

    snap = load(kubeconfig, page_size=5000, kinds=["Pod"], watch_cache=False)

    assert len(snap.of_kind("Pod")) == 1200
    assert [p["limit"] for p in list_params(double, "Pod")] == [str(MAX_PAGE_SIZE)] * 3
    assert all("resourceVersion" not in p for p in list_params(double, "Pod"))
    assert snap.api_stats["page_size"] == MAX_PAGE_SIZE == 500


def test_a_whole_list_too_large_for_one_answer_is_paged_without_the_cache(double: ApiDouble, kubeconfig: str) -> None:
    double.cache_whole = True
    double.objects["Pod"] = [
        {"metadata": {"name": f"p{i}", "namespace": "a"}, "spec": {"pad": "x" * 20_000}} for i in range(100)
    ]

    snap = load(kubeconfig, kinds=["Pod", "Namespace"], max_response_bytes=1024 * 1024)

    assert len(snap.of_kind("Pod")) == 100
    params = list_params(double, "Pod")
    assert params[0] == {"limit": "500", **CACHE}  # the whole collection: more than 1 MiB, abandoned
    assert params[1] == {"limit": "500"}  # a consistent read, paged by the server
    assert all("resourceVersion" not in p for p in params[1:])
    assert snap.api_stats["paged_after_cache"] == ["Pod"]
    assert list_params(double, "Namespace") == [{"limit": "500", **CACHE}]  # other kinds unaffected


def test_a_whole_list_that_does_not_come_in_time_is_paged_and_later_kinds_skip_the_cache(
    double: ApiDouble, kubeconfig: str
) -> None:
    # A server (or a proxy in front of it) that builds the whole answer before its first byte.
    double.cache_whole = True
    double.objects["Pod"] = pods(1200)
    double.fault("Pod", Hang(seconds=5))

    snap = load(kubeconfig, kinds=["Pod", "Namespace", "Secret"], request_timeout=0.5, workers=1)

    assert [o.name for o in snap.of_kind("Pod")] == [f"p{i:05d}" for i in range(1200)]
    assert snap.unavailable == {}
    params = list_params(double, "Pod")
    assert params[0] == {"limit": "500", **CACHE}  # the whole collection, given up after 0.5 s
    assert params[1:] == [
        {"limit": "500"},
        {"limit": "500", "continue": "offset-500"},
        {"limit": "500", "continue": "offset-1000"},
    ]
    # Listed one at a time, Pods first: the kinds after them ask for plain pages at once.
    assert list_params(double, "Namespace") == [{"limit": "500"}]
    assert list_params(double, "Secret") == [{"limit": "500", "includeObject": "Metadata"}]
    stats = snap.api_stats
    assert stats["cache_timeouts"] == stats["paged_after_cache"] == ["Pod"]
    assert stats["watch_cache"] == "timed out (Pod): plain pages from then on"
    assert stats["transport_errors"] == 1


def test_a_dead_server_still_ends_the_kind_as_a_timeout_after_the_plain_retry(
    double: ApiDouble, kubeconfig: str
) -> None:
    double.always("Pod", Hang(seconds=5))

    snap = load(kubeconfig, kinds=["Pod", "Namespace"], request_timeout=0.5, workers=1)

    assert snap.unavailable["Pod"] == "timeout: core/pods (no response within 0.5s)"
    params = list_params(double, "Pod")
    assert params == [{"limit": "500", **CACHE}, {"limit": "500"}]  # one plain retry, not more
    assert snap.of_kind("Namespace")  # the breaker counted one failure, not two
    assert snap.api_stats["cache_timeouts"] == ["Pod"]


def test_a_server_that_answers_nothing_costs_about_two_timeouts_with_the_cache_as_without(
    double: ApiDouble, kubeconfig: str
) -> None:
    double.always("*", Hang(seconds=10))
    kinds = ["Pod", "Deployment", "Namespace", "Service", "ConfigMap", "Node"]
    started = time.monotonic()

    with pytest.raises(ClusterUnreachable, match="answered /version but no list call: timeout: "):
        load(kubeconfig, kinds=kinds, request_timeout=1.0, workers=4)

    assert time.monotonic() - started < 2 * 1.0 + 1.5
    # Only the first whole answer that timed out was asked for again, in plain pages: the others
    # came with no answer from the server in between, and counted as the timeouts they are.
    lists = [r for r in double.requests if r.path != "/version"]
    retried = [k for k in kinds if [("resourceVersion" in r.params) for r in double.requests_for(k)] == [True, False]]
    assert len(retried) == 1, lists
    assert all(len(double.requests_for(k)) <= 2 for k in kinds)


@pytest.mark.parametrize("code", [400, 422])
def test_a_server_that_rejects_resource_version_match_gets_plain_first_pages(
    double: ApiDouble, kubeconfig: str, code: int
) -> None:
    double.reject_rv_match = code
    double.objects["Pod"] = pods(7)

    snap = load(kubeconfig, page_size=3)

    assert [o.name for o in snap.of_kind("Pod")] == [f"p{i:05d}" for i in range(7)]
    assert snap.of_kind("Namespace") and snap.of_kind("Secret")
    assert not [k for k, why in snap.unavailable.items() if not why.startswith("not installed")]
    assert snap.api_stats["watch_cache"] == f"rejected (HTTP {code}): plain first pages"
    rejected = [r for r in double.requests if "resourceVersionMatch" in r.params]
    # Once the first rejection is seen no kind asks again: only the kinds already in flight did.
    assert 1 <= len(rejected) <= MAX_CONCURRENT_LISTS
    assert snap.api_stats["statuses"][str(code)] == len(rejected)
    pod_params = list_params(double, "Pod")
    plain = [p for p in pod_params if "resourceVersionMatch" not in p]
    assert plain == [{"limit": "3"}, {"limit": "3", "continue": "offset-3"}, {"limit": "3", "continue": "offset-6"}]


def test_a_relist_after_an_expired_continue_token_asks_for_the_cache_again(double: ApiDouble, kubeconfig: str) -> None:
    double.expire_continue.add("/api/v1/pods")

    snap = load(kubeconfig, page_size=3, kinds=["Pod"])

    assert snap.unavailable["Pod"].startswith("gone: core/pods")
    params = list_params(double, "Pod")
    assert params == [{"limit": "3", **CACHE}, {"limit": "3", "continue": "offset-3"}] * (MAX_RELISTS + 1)
    assert snap.api_stats["relists"] == MAX_RELISTS
    assert snap.api_stats["statuses"] == {"200": 1 + MAX_RELISTS + 1, "410": MAX_RELISTS + 1}


@pytest.mark.parametrize(
    ("version", "env", "used"),
    [
        ("v1.32.9", None, "not used: API server 1.32.9 (before 1.33)"),
        ("v1.34.1-eks-113cf36", None, "used"),
        ("v1.29.4", "on", "used"),
        ("v1.34.1", "off", "off"),
    ],
)
def test_the_watch_cache_is_asked_for_where_whole_answers_are_streamed(
    double: ApiDouble, kubeconfig: str, monkeypatch: pytest.MonkeyPatch, version: str, env: str | None, used: str
) -> None:
    """Before 1.33 kube-apiserver builds a whole answer in memory; kwa then pages consistent reads."""
    double.version = {"major": "1", "minor": version.split(".")[1], "gitVersion": version}
    if env is not None:
        monkeypatch.setenv("KWA_LIVE_WATCH_CACHE", env)

    snap = load(kubeconfig, page_size=3, kinds=["Pod"])

    assert len(snap.of_kind("Pod")) == 7
    assert snap.api_stats["watch_cache"] == used
    first = list_params(double, "Pod")[0]
    assert first == ({"limit": "3", **CACHE} if used == "used" else {"limit": "3"})


# ---- concurrency --------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [2, 50])
def test_lists_in_flight_never_exceed_the_bound(double: ApiDouble, kubeconfig: str, workers: int) -> None:
    double.list_delay = 0.05  # every answer takes a while, so the listing threads overlap

    snap = load(kubeconfig, workers=workers)

    bound = min(workers, MAX_CONCURRENT_LISTS)
    assert double.max_in_flight == snap.api_stats["max_concurrency"] == bound
    assert snap.api_stats["concurrency_limit"] == bound


# ---- the report ---------------------------------------------------------------------------------


def test_the_report_counts_every_request_page_retry_and_byte(double: ApiDouble, kubeconfig: str) -> None:
    double.fault("Pod", Status(429, "TooManyRequests", headers={"Retry-After": "0"}))

    snap = load(kubeconfig, page_size=3)

    stats = snap.api_stats
    answered = sum(stats["statuses"].values())
    assert stats["requests"] == len(double.requests) == answered
    not_found = stats["statuses"]["404"]  # the add-ons and metrics the double does not serve
    assert not_found == 5
    # /version, every page, the one retry, and the 404s.
    assert stats["requests"] == 1 + stats["pages"] + stats["retries"] + not_found
    assert stats["retries"] == 1 and stats["statuses"]["429"] == 1
    assert stats["pages_by_kind"]["Pod"] == 3 and stats["pages"] == 3 + 35  # 36 kinds served
    assert stats["bytes_wire"] == stats["bytes_read"] == double.bytes_sent
    assert stats["gzipped_responses"] == 0 and stats["transport_errors"] == 0
    assert 1 <= stats["max_concurrency"] <= MAX_CONCURRENT_LISTS
    assert stats["wall_s"] > 0


def test_gzipped_answers_count_their_bytes_on_the_wire_and_read(double: ApiDouble, kubeconfig: str) -> None:
    double.gzip_lists = True
    double.objects["Pod"] = pods(400)

    snap = load(kubeconfig, kinds=["Pod", "Namespace"])
    plain = load(kubeconfig, kinds=["Pod", "Namespace"], compress=False)

    assert len(snap.of_kind("Pod")) == len(plain.of_kind("Pod")) == 400
    stats = snap.api_stats
    assert stats["gzipped_responses"] == 3  # /version and both lists
    assert stats["bytes_read"] == plain.api_stats["bytes_read"] == plain.api_stats["bytes_wire"]
    assert stats["bytes_wire"] < stats["bytes_read"] / 5
    assert stats["bytes_wire"] + plain.api_stats["bytes_wire"] == double.bytes_sent
    assert double.requests[-1].headers["accept-encoding"] == "identity"


def test_an_admin_may_lower_page_size_and_concurrency_and_turn_the_cache_off_from_the_environment(
    double: ApiDouble, kubeconfig: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KWA_LIVE_PAGE_SIZE", "2")
    monkeypatch.setenv("KWA_LIVE_CONCURRENCY", "1")
    double.list_delay = 0.01

    snap = load(kubeconfig)

    assert [p["limit"] for p in list_params(double, "Pod")] == ["2"] * 4
    assert snap.api_stats["max_concurrency"] == double.max_in_flight == 1
    monkeypatch.setenv("KWA_LIVE_PAGE_SIZE", "100000")  # never above 500
    assert load(kubeconfig, kinds=["Pod"]).api_stats["page_size"] == 500
    monkeypatch.setenv("KWA_LIVE_WATCH_CACHE", "off")  # huge lists on an API server older than 1.33
    assert load(kubeconfig, kinds=["Pod"]).api_stats["watch_cache"] == "off"
    assert list_params(double, "Pod")[-1] == {"limit": "500"}
    monkeypatch.setenv("KWA_LIVE_CONCURRENCY", "lots")
    with pytest.raises(ClusterConfigError, match="KWA_LIVE_CONCURRENCY must be a whole number"):
        load(kubeconfig)
    monkeypatch.setenv("KWA_LIVE_CONCURRENCY", "²")  # a digit to str.isdigit, not to int()
    with pytest.raises(ClusterConfigError, match="KWA_LIVE_CONCURRENCY must be a whole number"):
        load(kubeconfig)
