"""The live-cluster source against a real HTTP Kubernetes API double on 127.0.0.1 (kmock).

``load_live`` is synchronous, so it runs in a worker thread while the double serves from the test's
event loop. Dead and silent servers are plain loopback sockets (see conftest).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import kmock as kmock_lib
import pytest
import yaml

from checks.sources import live
from checks.sources.live import (
    RESOURCES,
    SECRET_ACCEPT,
    ClusterConfigError,
    ClusterUnreachable,
    kubeconfig_available,
    load_live,
    parse_server_version,
)
from tests.sources.k8s_double import TOKEN, Paginated, forbidden, header, make_pod, serve, status, write_kubeconfig

OPTIONAL_ABSENT = {
    "VerticalPodAutoscaler": "not installed: autoscaling.k8s.io/verticalpodautoscalers (HTTP 404)",
    "NodePool": "not installed: karpenter.sh/nodepools (HTTP 404)",
    "ScaledObject": "not installed: keda.sh/scaledobjects (HTTP 404)",
    "PodMetrics": "not installed: metrics.k8s.io/pods (HTTP 404)",
    "NodeMetrics": "not installed: metrics.k8s.io/nodes (HTTP 404)",
}


def kubeconfig_for(tmp_path: Path, kmock: Any, name: str = "double") -> str:
    return write_kubeconfig(tmp_path / "kubeconfig", {name: str(kmock.url).rstrip("/")})


async def load(kubeconfig: str, **kwargs: Any) -> Any:
    kwargs.setdefault("request_timeout", 5.0)
    return await asyncio.to_thread(load_live, kubeconfig, **kwargs)


def names(snapshot: Any, kind: str) -> list[str]:
    return [o.name for o in snapshot.of_kind(kind)]


# ---- the happy path: pagination, kinds, identity ------------------------------------------------


@pytest.mark.asyncio
async def test_paginated_lists_are_assembled(kmock: Any, tmp_path: Path) -> None:
    pods = [make_pod("shop", f"web-{i}", owner="web-abc") for i in range(7)]
    deployments = [{"metadata": {"name": f"d{i}", "namespace": "shop"}, "spec": {"replicas": 2}} for i in range(5)]
    namespaces = [{"metadata": {"name": n}} for n in ("default", "kube-system", "shop")]
    endpoints = serve(kmock, {"Pod": pods, "Deployment": deployments, "Namespace": namespaces})

    snap = await load(kubeconfig_for(tmp_path, kmock), page_size=2)

    assert snap.mode == "live" and snap.is_live
    assert snap.description == "live cluster double"
    assert snap.cluster_id == "double"
    assert snap.server_version == "1.29.4"
    assert names(snap, "Pod") == [f"web-{i}" for i in range(7)]
    assert names(snap, "Deployment") == [f"d{i}" for i in range(5)]
    assert names(snap, "Namespace") == ["default", "kube-system", "shop"]
    # 7 pods in pages of 2 -> 4 requests chained by continue tokens (an API server before 1.33: no
    # watch cache asked for, tests/sources/test_live_api_load.py has the rest).
    assert endpoints["Pod"].calls == [
        {"limit": "2"},
        {"limit": "2", "continue": "offset-2"},
        {"limit": "2", "continue": "offset-4"},
        {"limit": "2", "continue": "offset-6"},
    ]
    pod = snap.get("Pod", "shop", "web-3")
    assert pod is not None
    assert pod.raw["kind"] == "Pod" and pod.raw["apiVersion"] == "v1"
    assert pod.source == "api" and pod.index is None and pod.where == "api"
    dep = snap.get("Deployment", "shop", "d0")
    assert dep is not None and dep.raw["apiVersion"] == "apps/v1"
    assert snap.get("Namespace", None, "shop") is not None
    # Everything served was listed; only the add-ons and metrics (not served) are unavailable.
    assert snap.unavailable == OPTIONAL_ABSENT
    assert snap.metrics is None
    # Every request carried the kubeconfig's bearer token; only GETs were sent.
    assert len(kmock) > len(RESOURCES)
    for request in kmock[...]:
        assert header(request, "Authorization") == f"Bearer {TOKEN}"
        assert request.method == kmock_lib.method.GET


@pytest.mark.asyncio
async def test_context_selects_cluster(kmock: Any, tmp_path: Path, closed_port: int) -> None:
    serve(kmock, {"Namespace": [{"metadata": {"name": "default"}}]})
    path = write_kubeconfig(
        tmp_path / "kubeconfig",
        {"dead": f"http://127.0.0.1:{closed_port}", "alive": str(kmock.url).rstrip("/")},
        current="dead",
    )

    snap = await asyncio.to_thread(load_live, path, "alive", request_timeout=5.0, kinds=["Namespace"])

    assert snap.cluster_id == "alive"
    assert names(snap, "Namespace") == ["default"]
    with pytest.raises(ClusterUnreachable):
        await asyncio.to_thread(load_live, path, request_timeout=2.0, kinds=["Namespace"])


@pytest.mark.asyncio
async def test_kinds_restricts_what_is_listed(kmock: Any, tmp_path: Path) -> None:
    endpoints = serve(kmock, {"Pod": [make_pod("a", "p")], "Node": [{"metadata": {"name": "n1"}}]})

    snap = await load(kubeconfig_for(tmp_path, kmock), kinds=["Pod"])

    assert names(snap, "Pod") == ["p"]
    assert snap.of_kind("Node") == []
    assert endpoints["Node"].calls == []
    assert snap.unavailable == {}
    assert snap.metrics is None
    assert len(kmock["get /apis/metrics.k8s.io/v1beta1/pods"]) == 0
    with pytest.raises(ValueError, match="Pods"):
        load_live("unused", kinds=["Pods"])


# ---- per-resource failures ------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_forbidden_resource_is_unavailable_and_the_rest_loads(kmock: Any, tmp_path: Path) -> None:
    serve(
        kmock,
        {"Pod": [make_pod("a", "p1"), make_pod("a", "p2")]},
        overrides={"Deployment": forbidden("deployments"), "Secret": forbidden("secrets")},
    )

    snap = await load(kubeconfig_for(tmp_path, kmock), page_size=1)

    assert snap.unavailable["Deployment"] == "forbidden: apps/deployments (HTTP 403)"
    assert snap.unavailable["Secret"] == "forbidden: core/secrets (HTTP 403)"
    assert names(snap, "Pod") == ["p1", "p2"]
    assert set(snap.unavailable) == {"Deployment", "Secret", *OPTIONAL_ABSENT}


@pytest.mark.asyncio
async def test_optional_crd_kinds(kmock: Any, tmp_path: Path) -> None:
    vpa = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"targetRef": {"kind": "Deployment", "name": "web"}},
    }
    serve(
        kmock,
        {"VerticalPodAutoscaler": [vpa]},
        absent=("NodePool", "ScaledObject", "StorageClass"),
    )

    snap = await load(kubeconfig_for(tmp_path, kmock))

    got = snap.get("VerticalPodAutoscaler", "shop", "web")
    assert got is not None and got.raw["apiVersion"] == "autoscaling.k8s.io/v1"
    assert "VerticalPodAutoscaler" not in snap.unavailable
    assert snap.unavailable["NodePool"] == "not installed: karpenter.sh/nodepools (HTTP 404)"
    assert snap.unavailable["ScaledObject"] == "not installed: keda.sh/scaledobjects (HTTP 404)"
    # A built-in resource that 404s is reported as such, not as an absent add-on.
    assert snap.unavailable["StorageClass"] == "not found: storage.k8s.io/storageclasses (HTTP 404)"


@pytest.mark.asyncio
async def test_server_error_on_one_resource(kmock: Any, tmp_path: Path) -> None:
    serve(
        kmock,
        {"Pod": [make_pod("a", "p")]},
        overrides={"Job": kmock_lib.Response(status=500, payload=status(500, "InternalError", "etcd down"))},
    )

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert snap.unavailable["Job"] == "error: batch/jobs (HTTP 500 InternalError)"
    assert names(snap, "Pod") == ["p"]


# ---- 410 Gone on a continue token ---------------------------------------------------------------


@pytest.mark.asyncio
async def test_expired_continue_token_relists_from_the_start(kmock: Any, tmp_path: Path) -> None:
    pods = [make_pod("a", f"p{i}") for i in range(5)]
    # The first continued request (2nd page) gets 410; the relist then completes.
    gone_once = Paginated("PodList", pods, gone_on=lambda n, token: n == 2)
    serve(kmock, overrides={"Pod": gone_once})

    snap = await load(kubeconfig_for(tmp_path, kmock), page_size=2)

    assert names(snap, "Pod") == [f"p{i}" for i in range(5)]  # complete, no duplicates from the first attempt
    assert "Pod" not in snap.unavailable
    assert [c.get("continue") for c in gone_once.calls] == [None, "offset-2", None, "offset-2", "offset-4"]


@pytest.mark.asyncio
async def test_continue_token_that_always_expires_is_bounded(kmock: Any, tmp_path: Path) -> None:
    pods = [make_pod("a", f"p{i}") for i in range(5)]
    always_gone = Paginated("PodList", pods, gone_on=lambda n, token: bool(token))
    serve(kmock, {"Node": [{"metadata": {"name": "n1"}}]}, overrides={"Pod": always_gone})

    snap = await load(kubeconfig_for(tmp_path, kmock), page_size=2)

    assert snap.of_kind("Pod") == []
    assert snap.unavailable["Pod"].startswith("gone: core/pods")
    assert "HTTP 410" in snap.unavailable["Pod"]
    first_pages = [c for c in always_gone.calls if "continue" not in c]
    assert len(first_pages) == 1 + live.MAX_RELISTS
    assert names(snap, "Node") == ["n1"]


# ---- secrets: metadata only -----------------------------------------------------------------------

SECRET_VALUE = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"  # base64 of "super-secret-password"
LAST_APPLIED = json.dumps({"apiVersion": "v1", "kind": "Secret", "data": {"password": SECRET_VALUE}})


def secret_meta(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": "shop",
        "uid": f"uid-{name}",
        "labels": {"app": "shop"},
        "annotations": {"kubectl.kubernetes.io/last-applied-configuration": LAST_APPLIED, "team": "payments"},
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:data": {"f:password": {}}}}],
    }


def secret_table(request: Any) -> Any:
    """What kube-apiserver returns for the Table Accept header with includeObject=Metadata."""
    accept = header(request, "Accept") or ""
    if "as=Table" not in accept:
        raise kmock_lib.KubernetesError(status=406, reason="NotAcceptable")
    rows = [
        {
            "cells": [name, kind, 1, "5d"],
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": secret_meta(name)},
        }
        for name, kind in (("db", "Opaque"), ("tls", "kubernetes.io/tls"))
    ]
    columns = [{"name": n, "type": "string"} for n in ("Name", "Type", "Data", "Age")]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": columns, "rows": rows}


def secret_list_ignoring_accept(request: Any) -> Any:
    """A server (or proxy) that ignores the Accept header and returns full Secrets, values included."""
    items = [
        {
            "metadata": secret_meta("db"),
            "type": "Opaque",
            "data": {"password": SECRET_VALUE},
            "stringData": {"plain": "super-secret-password"},
            "immutable": False,
        }
    ]
    return {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": items}


def partial_metadata_list(request: Any) -> Any:
    items = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": secret_meta("db")}]
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "items": items}


def assert_no_secret_values(snap: Any) -> None:
    dumped = json.dumps([o.raw for o in snap.of_kind("Secret")])
    assert SECRET_VALUE not in dumped
    assert "super-secret-password" not in dumped
    assert "last-applied-configuration" not in dumped
    assert "managedFields" not in dumped
    for secret in snap.of_kind("Secret"):
        assert set(secret.raw) <= {"apiVersion", "kind", "metadata", "type"}
        assert secret.annotations == {"team": "payments"}


@pytest.mark.asyncio
async def test_secrets_are_listed_as_metadata_with_type(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, overrides={"Secret": secret_table})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    requests = list(kmock["get /api/v1/secrets"])
    assert requests, "secrets were not requested"
    for request in requests:
        assert header(request, "Accept") == SECRET_ACCEPT
        assert "as=PartialObjectMetadataList;v=v1;g=meta.k8s.io" in SECRET_ACCEPT
        assert request.params.get("includeObject") == "Metadata"
    # No plain JSON alternative: a server that cannot do metadata must not fall back to full Secrets.
    assert all("meta.k8s.io" in part for part in SECRET_ACCEPT.split(","))
    db = snap.get("Secret", "shop", "db")
    tls = snap.get("Secret", "shop", "tls")
    assert db is not None and tls is not None
    assert db.raw["type"] == "Opaque" and tls.raw["type"] == "kubernetes.io/tls"
    assert db.raw["apiVersion"] == "v1" and db.labels == {"app": "shop"} and db.uid == "uid-db"
    assert_no_secret_values(snap)


@pytest.mark.asyncio
async def test_secret_values_are_dropped_when_the_server_ignores_accept(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, overrides={"Secret": secret_list_ignoring_accept})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    db = snap.get("Secret", "shop", "db")
    assert db is not None and db.raw["type"] == "Opaque"
    assert "data" not in db.raw and "stringData" not in db.raw
    assert_no_secret_values(snap)


@pytest.mark.asyncio
async def test_secrets_as_partial_object_metadata(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, overrides={"Secret": partial_metadata_list})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    db = snap.get("Secret", "shop", "db")
    assert db is not None and "type" not in db.raw  # PartialObjectMetadata carries no type
    assert_no_secret_values(snap)


@pytest.mark.asyncio
async def test_secrets_not_acceptable(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, overrides={"Secret": kmock_lib.Response(status=406, payload=status(406, "NotAcceptable"))})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert snap.unavailable["Secret"] == "not acceptable: core/secrets (HTTP 406)"


# ---- /version ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"gitVersion": "v1.29.4"}, "1.29.4"),
        ({"gitVersion": "v1.26.4+k3s1", "major": "1", "minor": "26"}, "1.26.4"),
        ({"gitVersion": "v1.30.2-eks-1552ad0"}, "1.30.2"),
        ({"gitVersion": "v1.31.0-gke.1234000"}, "1.31.0"),
        ({"major": "1", "minor": "28+"}, "1.28"),
        ({}, None),
    ],
)
def test_parse_server_version(data: dict[str, Any], expected: str | None) -> None:
    assert parse_server_version(data) == expected


@pytest.mark.asyncio
async def test_version_endpoint_unavailable_is_not_fatal(kmock: Any, tmp_path: Path) -> None:
    kmock["get /version"] << kmock_lib.Response(status=403, payload=status(403, "Forbidden"))
    serve(kmock, {"Pod": [make_pod("a", "p")]})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert snap.server_version is None
    assert names(snap, "Pod") == ["p"]


# ---- metrics.k8s.io -------------------------------------------------------------------------------


def pod_metrics(request: Any) -> Any:
    items = [
        {
            "metadata": {"name": "web-1", "namespace": "shop"},
            "timestamp": "2024-01-01T00:00:00Z",
            "window": "30s",
            "containers": [
                {"name": "app", "usage": {"cpu": "250m", "memory": "64Mi"}},
                {"name": "sidecar", "usage": {"cpu": "1500000n", "memory": "1048576Ki"}},
            ],
        },
        {"metadata": {"name": "job-1", "namespace": "batch"}, "containers": [{"name": "main", "usage": {"cpu": "2"}}]},
    ]
    return {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}


def node_metrics(request: Any) -> Any:
    items = [{"metadata": {"name": "node-1"}, "usage": {"cpu": "1200m", "memory": "2Gi"}}]
    return {"kind": "NodeMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {}, "items": items}


@pytest.mark.asyncio
async def test_metrics_present(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, overrides={"PodMetrics": pod_metrics, "NodeMetrics": node_metrics})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert snap.metrics == {
        "pods": {
            "shop/web-1": {
                "app": {"cpu": 0.25, "memory": 64 * 1024**2},
                "sidecar": {"cpu": pytest.approx(0.0015), "memory": 1024**3},
            },
            "batch/job-1": {"main": {"cpu": 2.0}},
        },
        "nodes": {"node-1": {"cpu": pytest.approx(1.2), "memory": 2 * 1024**3}},
    }
    assert "PodMetrics" not in snap.unavailable and "NodeMetrics" not in snap.unavailable
    # Metrics are not objects of the snapshot.
    assert snap.of_kind("PodMetrics") == [] and snap.of_kind("NodeMetrics") == []


@pytest.mark.asyncio
async def test_metrics_absent(kmock: Any, tmp_path: Path) -> None:
    serve(kmock)

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert snap.metrics is None
    assert snap.unavailable["PodMetrics"] == "not installed: metrics.k8s.io/pods (HTTP 404)"


@pytest.mark.asyncio
async def test_metrics_forbidden(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, overrides={"PodMetrics": forbidden("pods.metrics.k8s.io"), "NodeMetrics": node_metrics})

    snap = await load(kubeconfig_for(tmp_path, kmock))

    assert snap.metrics is None
    assert snap.unavailable["PodMetrics"] == "forbidden: metrics.k8s.io/pods (HTTP 403)"


# ---- a cluster that cannot be used ----------------------------------------------------------------


@pytest.mark.asyncio
async def test_unauthorized_is_unreachable_without_leaking_the_token(kmock: Any, tmp_path: Path) -> None:
    kmock["get /version"] << kmock_lib.Response(status=401, payload=status(401, "Unauthorized"))
    serve(kmock)
    path = kubeconfig_for(tmp_path, kmock)

    with pytest.raises(ClusterUnreachable) as info:
        await load(path)

    message = str(info.value)
    assert "HTTP 401" in message and str(kmock.url).rstrip("/") in message
    assert TOKEN not in message and TOKEN not in repr(info.value)
    assert len(kmock["get /api/v1/pods"]) == 0  # nothing listed after the credentials were rejected


def test_closed_port_is_unreachable(tmp_path: Path, closed_port: int) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"gone": f"http://127.0.0.1:{closed_port}"})
    started = time.perf_counter()

    with pytest.raises(ClusterUnreachable) as info:
        load_live(path, request_timeout=2.0)

    elapsed = time.perf_counter() - started
    assert elapsed < 2.0 + 1.0
    message = str(info.value)
    assert f"http://127.0.0.1:{closed_port}" in message
    assert "refused" in message.lower()
    assert TOKEN not in message


def test_silent_server_is_unreachable_within_the_timeout(tmp_path: Path, silent_server: int) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"silent": f"http://127.0.0.1:{silent_server}"})
    timeout = 1.0
    started = time.perf_counter()

    with pytest.raises(ClusterUnreachable) as info:
        load_live(path, request_timeout=timeout)

    elapsed = time.perf_counter() - started
    print(f"silent server gave up after {elapsed:.2f}s")
    assert elapsed < timeout + 1.0
    assert "no response within 1s" in str(info.value)


@pytest.mark.asyncio
async def test_lists_that_hang_are_cut_at_the_timeout(kmock: Any, tmp_path: Path) -> None:
    """/version and pods answer, every other list hangs: the run ends in about two timeouts (the
    first requests, then the breaker's one probe; everything else is skipped)."""
    release = asyncio.Event()

    async def hang() -> Any:
        await release.wait()
        return {"kind": "List", "metadata": {}, "items": []}

    overrides = {kind: hang for kind in [*RESOURCES, "PodMetrics", "NodeMetrics"] if kind != "Pod"}
    serve(kmock, {"Pod": [make_pod("a", "p")]}, overrides=overrides, absent=())
    timeout = 1.0
    started = time.perf_counter()
    try:
        snap = await load(kubeconfig_for(tmp_path, kmock), request_timeout=timeout)
    finally:
        release.set()
    elapsed = time.perf_counter() - started

    print(f"hung lists gave up after {elapsed:.2f}s")
    assert elapsed < 2 * timeout + 1.0
    assert names(snap, "Pod") == ["p"]
    assert set(snap.unavailable) == set(overrides)
    reasons = {message.split(":")[0] for message in snap.unavailable.values()}
    assert reasons <= {"timeout", "skipped"}
    assert snap.unavailable["Deployment"] in (
        "timeout: apps/deployments (no response within 1s)",
        "skipped: apps/deployments (API server stopped responding: no response within 1s)",
    )


@pytest.mark.asyncio
async def test_every_list_hanging_is_unreachable(kmock: Any, tmp_path: Path) -> None:
    release = asyncio.Event()

    async def hang() -> Any:
        await release.wait()
        return {}

    serve(kmock, overrides={kind: hang for kind in [*RESOURCES, "PodMetrics", "NodeMetrics"]}, absent=())
    started = time.perf_counter()
    try:
        with pytest.raises(ClusterUnreachable, match="answered /version but no list call"):
            await load(kubeconfig_for(tmp_path, kmock), request_timeout=1.0)
    finally:
        release.set()
    assert time.perf_counter() - started < 2 * 1.0 + 1.0


class _WebServer:
    """Some other web server on 127.0.0.1 where the kubeconfig says the API server is: every GET
    answers ``status`` with an HTML page (``Location`` set for a redirect)."""

    def __init__(self, status: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Page(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in</body></html>"
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/login?next=" + self.path)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("status", "said"),
    [
        # the wrong port, a proxy's path prefix left out
        (404, "is not a Kubernetes API server: it answered HTTP 404 to all"),
        # a sign-in portal or a corporate web proxy answering for the API server
        (200, "answered every list call with an HTML page, not the Kubernetes API's JSON"),
        (302, "answered every list call with a redirect (HTTP 302), as a sign-in page does"),
    ],
)
def test_a_web_server_that_is_no_api_server_is_named_as_such(tmp_path: Path, status: int, said: str) -> None:
    """One clear error, not 34 kinds each "not found" or "invalid JSON" and a partial run."""
    web = _WebServer(status)
    try:
        with pytest.raises(ClusterUnreachable) as caught:
            load_live(write_kubeconfig(tmp_path / "kubeconfig", {"web": web.url}), request_timeout=5.0)
    finally:
        web.close()
    message = str(caught.value)
    assert message.startswith(f"the server at {web.url} "), message
    assert said in message, message
    assert "kubeconfig" in message


# ---- configuration ------------------------------------------------------------------------------


def test_kubeconfig_available(tmp_path: Path, no_default_cluster: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert kubeconfig_available() is False
    assert kubeconfig_available(str(tmp_path / "missing")) is False
    explicit = write_kubeconfig(tmp_path / "explicit", {"x": "http://127.0.0.1:1"})
    assert kubeconfig_available(explicit) is True
    assert kubeconfig_available(explicit, context="x") is True

    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{explicit}")
    assert kubeconfig_available() is True
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    assert kubeconfig_available() is False
    monkeypatch.delenv("KUBECONFIG")

    (no_default_cluster / ".kube").mkdir()
    write_kubeconfig(no_default_cluster / ".kube" / "config", {"x": "http://127.0.0.1:1"})
    assert kubeconfig_available() is True
    (no_default_cluster / ".kube" / "config").unlink()

    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert kubeconfig_available() is True


def test_nothing_configured(no_default_cluster: Path, tmp_path: Path) -> None:
    with pytest.raises(ClusterConfigError, match="no cluster configured"):
        load_live()
    with pytest.raises(ClusterConfigError, match="kubeconfig not found"):
        load_live(str(tmp_path / "missing"))
    with pytest.raises(ClusterUnreachable, match="context 'prod'"):
        load_live(context="prod")


def test_unknown_context(tmp_path: Path) -> None:
    path = write_kubeconfig(tmp_path / "kubeconfig", {"a": "http://127.0.0.1:1"})
    with pytest.raises(ClusterConfigError, match="nope"):
        load_live(path, "nope")


def test_in_cluster_config_is_used_in_a_pod(
    tmp_path: Path, no_default_cluster: Path, monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    from kubernetes.config import incluster_config

    token = tmp_path / "token"
    token.write_text("in-cluster-token", encoding="utf-8")
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot-a-real-cert\n-----END CERTIFICATE-----\n", encoding="utf-8")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(closed_port))

    with pytest.raises(ClusterUnreachable) as info:
        load_live(request_timeout=2.0)

    # The in-cluster service URL was used (the service account's token never shows up).
    assert f"https://127.0.0.1:{closed_port}" in str(info.value)
    assert "in-cluster-token" not in str(info.value)


# ---- scale ----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_ten_thousand_objects(kmock: Any, tmp_path: Path) -> None:
    pods = [make_pod(f"ns-{i % 50}", f"pod-{i}", owner=f"rs-{i // 10}") for i in range(6000)]
    replicasets = [
        {"metadata": {"name": f"rs-{i}", "namespace": f"ns-{i % 50}", "uid": f"uid-rs-{i}"}, "spec": {"replicas": 10}}
        for i in range(2000)
    ]
    configmaps = [
        {"metadata": {"name": f"cm-{i}", "namespace": f"ns-{i % 50}"}, "data": {"app.properties": "x=1\n" * 20}}
        for i in range(2000)
    ]
    serve(kmock, {"Pod": pods, "ReplicaSet": replicasets, "ConfigMap": configmaps})
    path = kubeconfig_for(tmp_path, kmock)

    started = time.perf_counter()
    snap = await load(path, page_size=500)
    elapsed = time.perf_counter() - started

    print(f"listed {len(snap.objects)} objects ({len(kmock)} requests) in {elapsed:.2f}s")
    assert len(snap.of_kind("Pod")) == 6000
    assert len(snap.of_kind("ReplicaSet")) == 2000
    assert len(snap.of_kind("ConfigMap")) == 2000
    assert len(kmock["get /api/v1/pods"]) == 12
    assert elapsed < 30  # generous: a sanity bound, not a benchmark


@pytest.mark.asyncio
async def test_kinds_skipped_while_the_server_hung_are_retried_once_it_answers(kmock: Any, tmp_path: Path) -> None:
    """Two workers: pods hang past the timeout while a slow ConfigMap list is still in flight.

    Kinds started between the pod timeout and the ConfigMap answer are skipped (breaker open); the
    ConfigMap answer closes the breaker, so they are listed in a second pass.
    """
    release = asyncio.Event()

    async def hang() -> Any:
        await release.wait()
        return {}

    def slow(seconds: float, items: list[dict[str, Any]]) -> Any:
        async def answer() -> Any:
            await asyncio.sleep(seconds)
            return {"kind": "List", "metadata": {}, "items": items}

        return answer

    overrides = {
        "Pod": hang,
        "ReplicaSet": slow(0.4, [{"metadata": {"name": "rs", "namespace": "a"}}]),
        "ConfigMap": slow(0.9, [{"metadata": {"name": "cm", "namespace": "a"}}]),
    }
    endpoints = serve(
        kmock, {"Service": [{"metadata": {"name": "svc", "namespace": "a"}}]}, overrides=overrides, absent=()
    )
    try:
        snap = await load(
            kubeconfig_for(tmp_path, kmock),
            request_timeout=1.0,
            workers=2,
            kinds=["Pod", "ReplicaSet", "ConfigMap", "Service", "Node"],
        )
    finally:
        release.set()

    assert snap.unavailable == {"Pod": "timeout: core/pods (no response within 1s)"}
    assert names(snap, "ReplicaSet") == ["rs"] and names(snap, "ConfigMap") == ["cm"]
    assert names(snap, "Service") == ["svc"]
    assert len(endpoints["Service"].calls) == 1 and len(endpoints["Node"].calls) == 1


def test_broken_kubeconfig_does_not_quote_it(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(f"users:\n- name: me\n  user: {{token: {TOKEN}\n  bad: [\n", encoding="utf-8")
    with pytest.raises(ClusterConfigError) as info:
        load_live(str(path))
    assert TOKEN not in str(info.value)
    assert "cannot read kubeconfig" in str(info.value)


@pytest.mark.parametrize(
    ("change", "context", "said"),
    [
        ("no current-context", None, "kubeconfig {path} sets no current-context: pass --context (its contexts: a, b)"),
        ("nothing", "c", "context 'c' is not in kubeconfig {path} (its contexts: a, b)"),
        ("empty server", None, "kubeconfig {path}, context a: cluster 'a' has no server URL"),
    ],
)
def test_a_kubeconfig_kubectl_would_refuse_is_refused_in_its_words(
    tmp_path: Path, change: str, context: str | None, said: str
) -> None:
    """Before, the client's own words: "Invalid kube-config file. Expected object with name  in …
    contexts list", or an attempt to connect to "" and "No host specified"."""
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, {"a": "https://127.0.0.1:9", "b": "https://127.0.0.1:9"})
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if change == "no current-context":
        doc["current-context"] = ""
    if change == "empty server":
        doc["clusters"][0]["cluster"]["server"] = ""
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(ClusterConfigError) as info:
        load_live(str(path), context, request_timeout=1.0)
    assert str(info.value) == said.format(path=path)


@pytest.mark.asyncio
async def test_explicit_context_without_current_context(kmock: Any, tmp_path: Path) -> None:
    serve(kmock, {"Node": [{"metadata": {"name": "n1"}}]})
    path = tmp_path / "kubeconfig"
    write_kubeconfig(path, {"only": str(kmock.url).rstrip("/")})
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    del doc["current-context"]
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")

    snap = await asyncio.to_thread(load_live, str(path), "only", request_timeout=5.0, kinds=["Node"])

    assert snap.cluster_id == "only" and names(snap, "Node") == ["n1"]
