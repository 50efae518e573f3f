"""``kwa run --publish-reports``: reports applied to the loopback API double (bench/apidouble.py with
the report kinds of bench/reportstore.py) through the official client, the previous run's replaced,
and a missing CRD, a 403 or a run that should not be published ending in a warning, never an error."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.apidouble import ApiDouble, write_kubeconfig
from cli.formatters.policyreport import build_reports
from kwa.publish_reports import publish
from tests.cli.crd_schema import problems

RUN_A = {"run_id": "run_20260211_090000_aaaaaa", "cluster_id": "prod-eu", "state": "completed"}
RUN_B = {"run_id": "run_20260212_090000_bbbbbb", "cluster_id": "prod-eu", "state": "partial"}


def _row(i: int, namespace: str | None, status: str = "failing") -> dict[str, Any]:
    return {
        "id": f"asm_x_{i:06x}",
        "check_id": "SEC-001",
        "check_name": "Privileged container",
        "pillar": "security",
        "severity": "critical",
        "status": status,
        "object_kind": "Pod" if namespace else "Namespace",
        "object_namespace": namespace,
        "object_name": f"obj-{i}",
        "message": "privileged",
        "assessed_at": "2026-02-11T09:00:00+00:00",
    }


def _start(tmp_path: Path, **reports: Any) -> Iterator[tuple[str, str]]:
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"items": []}))
    with ApiDouble(str(dump), reports=reports) as server:
        yield server, write_kubeconfig(tmp_path / "kubeconfig", server)


@pytest.fixture
def double(tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield from _start(tmp_path)


def _stored(server: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server}/_reports", timeout=10) as answer:
        return json.loads(answer.read())["items"]


def _names(server: str, api_version: str) -> set[tuple[str | None, str]]:
    return {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in _stored(server)
            if o["apiVersion"] == api_version}  # fmt: skip


def _post(server: str, path: str, obj: dict[str, Any]) -> int:
    request = urllib.request.Request(f"{server}{path}", data=json.dumps(obj).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status


def test_publishes_both_dialects_and_replaces_the_previous_run(double: tuple[str, str]) -> None:
    server, kubeconfig = double
    warnings: list[str] = []
    rows_a = [_row(1, "shop"), _row(2, "web"), _row(3, None)]
    outcomes = publish(RUN_A, rows_a, kubeconfig, None, warn=warnings.append)
    assert [o.problem for o in outcomes] == [None, None], warnings
    expected = {("shop", "kwa-shop"), ("web", "kwa-web"), (None, "kwa-cluster")}
    assert _names(server, "wgpolicyk8s.io/v1alpha2") == expected
    assert _names(server, "openreports.io/v1alpha1") == expected
    for obj in _stored(server):
        stored = {k: v for k, v in obj.items()}
        stored["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
        assert problems(stored) == []
    # Someone else's report, and kwa's report of another cluster, in the same namespace: not kwa's to delete.
    foreign = build_reports({**RUN_A, "cluster_id": "staging"}, [_row(9, "shop")], "policyreport")[0]
    foreign["metadata"]["name"] = "kwa-shop-staging"
    assert _post(server, "/apis/wgpolicyk8s.io/v1alpha2/namespaces/shop/policyreports", foreign) == 201
    labels = {"app.kubernetes.io/managed-by": "kyverno"}
    kyverno = {"apiVersion": "wgpolicyk8s.io/v1alpha2", "kind": "PolicyReport",
               "metadata": {"name": "pol-web", "namespace": "web", "labels": labels}}  # fmt: skip
    assert _post(server, "/apis/wgpolicyk8s.io/v1alpha2/namespaces/web/policyreports", kyverno) == 201

    rows_b = [_row(4, "shop", "passing")]  # "web" and the cluster-scoped objects have no results now
    publish(RUN_B, rows_b, kubeconfig, None, warn=warnings.append)
    assert _names(server, "wgpolicyk8s.io/v1alpha2") == {("shop", "kwa-shop"), ("shop", "kwa-shop-staging"),
                                                         ("web", "pol-web")}  # fmt: skip
    assert _names(server, "openreports.io/v1alpha1") == {("shop", "kwa-shop")}
    (shop,) = [o for o in _stored(server) if o["metadata"]["name"] == "kwa-shop" and o["kind"] == "Report"]
    assert shop["metadata"]["labels"]["kwa.io/run"] == RUN_B["run_id"] and shop["summary"]["pass"] == 1
    assert any("2 stale removed" in w for w in warnings), warnings


def test_a_missing_crd_is_a_warning_naming_it(tmp_path: Path) -> None:
    for server, kubeconfig in _start(tmp_path, installed=("openreports.io",)):
        warnings: list[str] = []
        outcomes = publish(RUN_A, [_row(1, "shop")], kubeconfig, None, warn=warnings.append)
        assert outcomes[0].problem is not None and outcomes[1].problem is None
        assert any("policyreports.wgpolicyk8s.io" in w and "not installed" in w for w in warnings), warnings
        assert _names(server, "openreports.io/v1alpha1") == {("shop", "kwa-shop")}


@pytest.mark.parametrize("verb", ["patch", "list", "delete"])
def test_forbidden_is_a_warning_naming_the_permission(tmp_path: Path, verb: str) -> None:
    for server, kubeconfig in _start(tmp_path, forbidden=(verb,)):
        warnings: list[str] = []
        first = publish(RUN_A, [_row(1, "shop"), _row(2, "web")], kubeconfig, None, warn=warnings.append)
        second = publish(RUN_B, [_row(3, "shop")], kubeconfig, None, warn=warnings.append)
        problems_seen = [o.problem for o in (*first, *second) if o.problem]
        assert problems_seen, warnings
        assert all(
            f"forbidden: may not {verb}" in p and "deploy/kubernetes/policy-reports/" in p for p in problems_seen
        )
        if verb == "delete":  # applied, but the previous run's extra report stays
            assert ("web", "kwa-web") in _names(server, "openreports.io/v1alpha1")


def test_a_failed_run_and_an_unreachable_cluster_publish_nothing(double: tuple[str, str], tmp_path: Path) -> None:
    server, kubeconfig = double
    warnings: list[str] = []
    assert publish({**RUN_A, "state": "failed"}, [_row(1, "shop")], kubeconfig, None, warn=warnings.append) == []
    assert "ended failed" in warnings[-1] and _stored(server) == []
    assert publish(RUN_A, [], kubeconfig, None, warn=warnings.append) == []
    assert "stored no results" in warnings[-1]
    gone = write_kubeconfig(tmp_path / "gone", "http://127.0.0.1:9")
    outcomes = publish(RUN_A, [_row(1, "shop")], gone, None, warn=warnings.append)
    assert all(o.problem and "discovering" in o.problem for o in outcomes)
    assert "bench-token" not in "\n".join(warnings)


POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
    "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "securityContext": {"privileged": True}}]},
}


@pytest.mark.prefect
def test_kwa_run_publish_reports_end_to_end(prefect_api: str, tmp_path: Path) -> None:
    """The real command on a live (double) cluster: the run's reports printed and applied."""
    from tests.faults.harness import Kwa

    kwa = Kwa(tmp_path, prefect_api)
    dump = tmp_path / "cluster.json"
    dump.write_text(json.dumps({"kind": "List", "items": [POD]}))
    with ApiDouble(str(dump), reports={}) as server:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", server)
        got = kwa("run", "--kubeconfig", kubeconfig, "--check", "SEC-001", "--publish-reports", "-o", "openreports")
        stored = _stored(server)
    assert got.code == 0, got.text
    printed = [d for d in yaml.safe_load_all(got.out) if d]
    assert [(d["kind"], d["metadata"]["namespace"]) for d in printed] == [("Report", "shop")]
    assert printed[0]["results"][0]["result"] == "fail" and printed[0]["results"][0]["resources"][0]["name"] == "web"
    assert {(o["kind"], o["metadata"]["name"]) for o in stored} == {
        ("PolicyReport", "kwa-shop"),
        ("Report", "kwa-shop"),
    }
    assert "published 1 wgpolicyk8s.io/v1alpha2 report(s)" in got.err
    assert got.run()["state"] == "completed"


@pytest.mark.prefect
def test_kwa_run_publish_reports_on_manifests_says_there_is_no_cluster(prefect_api: str, tmp_path: Path) -> None:
    from tests.faults.harness import Kwa

    kwa = Kwa(tmp_path, prefect_api)
    (kwa.tmp / "app.yaml").write_text(json.dumps(POD))
    got = kwa("run", "--manifests", "app.yaml", "--check", "SEC-001", "--publish-reports")
    assert got.code == 0, got.text
    assert "no cluster to publish policy reports to" in got.err and "Traceback" not in got.err


def test_an_unexpected_failure_is_a_warning_too(double: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, kubeconfig = double

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("kwa.publish_reports.build_reports", broken)
    warnings: list[str] = []
    outcomes = publish(RUN_A, [_row(1, "shop")], kubeconfig, None, warn=warnings.append)
    assert [o.problem for o in outcomes] == ["unexpected RuntimeError: a bug"] * 2, warnings
