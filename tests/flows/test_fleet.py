"""The fleet flow: one run per cluster under the concurrency rules, one summary across the fleet."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from flows.fleet import FleetError, read_targets
from tests.sources.k8s_double import make_pod, serve, write_kubeconfig

pytestmark = pytest.mark.prefect


def test_targets_from_list_and_files(tmp_path: Path) -> None:
    plain = tmp_path / "clusters.txt"
    plain.write_text("prod-eu-1  # the big one\n\nstaging\n")
    assert read_targets(None, str(plain)) == [{"context": "prod-eu-1"}, {"context": "staging"}]
    rich = tmp_path / "clusters.yaml"
    rich.write_text("- context: prod\n  cluster_id: prod-eu-1\n  kubeconfig: /etc/kube/prod\n- dev\n")
    assert read_targets(["extra"], str(rich)) == [
        {"context": "extra"},
        {"context": "prod", "cluster_id": "prod-eu-1", "kubeconfig": "/etc/kube/prod"},
        {"context": "dev"},
    ]
    with pytest.raises(FleetError, match="no clusters given"):
        read_targets([], None)
    with pytest.raises(FleetError, match="listed twice"):
        read_targets(["a", "a"], None)
    with pytest.raises(FleetError, match="cannot read"):
        read_targets(None, str(tmp_path / "missing.txt"))


@pytest.mark.asyncio
async def test_fleet_runs_each_cluster_and_summarises(prefect_api: str, kmock: Any, tmp_path: Path) -> None:
    serve(kmock, {"Pod": [make_pod("shop", "web-1")]})
    url = str(kmock.url).rstrip("/")
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"fleet-a": url, "fleet-b": url})
    from flows.fleet import fleet

    summary = await asyncio.to_thread(
        fleet, contexts=["fleet-a", "fleet-b"], kubeconfig=kubeconfig, checks=["SEC-001", "SEC-027"]
    )
    clusters = {c["cluster_id"]: c for c in summary["clusters"]}
    assert set(clusters) == {"fleet-a", "fleet-b"}
    assert {c["state"] for c in clusters.values()} == {"completed"}
    assert clusters["fleet-a"]["run_id"] != clusters["fleet-b"]["run_id"]
    assert summary["completed"] == 2 and summary["failed"] == 0
