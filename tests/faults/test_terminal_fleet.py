"""``kwa fleet`` prints what ``kwa run`` prints: no raw Prefect log lines.

Issue 11: ``kwa fleet`` printed Prefect's console lines ("Beginning flow run …", "View at …",
"Finished in state …") for the fleet flow and every cluster's run, which ``kwa run`` hides:
Prefect was imported (and its logging configured) before kwa asked it to be quiet. Now the fleet
prints its table, then why each cluster that did not complete did not; ``--verbose`` brings
Prefect's lines back, as for ``kwa run``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.faults.harness import Kwa, assert_absent, assert_no_traceback, sqlite_dump
from tests.sources.fault_double import ApiDouble
from tests.sources.k8s_double import TOKEN, make_pod, write_kubeconfig

pytestmark = pytest.mark.prefect

# Prefect's console format ("05:04:56.647 | INFO    | Flow run 'x' - …") and its chatter.
PREFECT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| [A-Z]+ +\|", re.MULTILINE)
CHATTER = ("Beginning flow run", "Beginning subflow run", "Finished in state", "View at ")


@pytest.fixture
def double() -> Iterator[ApiDouble]:
    objects = {"Pod": [make_pod("shop", "web-1")], "Namespace": [{"metadata": {"name": "shop"}}]}
    with ApiDouble(objects) as api:
        yield api


def _kubeconfig(kwa: Kwa, url: str) -> str:
    # Two contexts on the double, one on a port nothing listens on (a cluster that cannot be reached).
    return write_kubeconfig(kwa.tmp / "kubeconfig", {"eu": url, "us": url, "gone": "http://127.0.0.1:9"})


def test_fleet_prints_its_table_not_prefects_lines(kwa: Kwa, double: ApiDouble) -> None:
    got = kwa("fleet", "--contexts", "eu,us,gone", "--kubeconfig", _kubeconfig(kwa, double.url),
              "--check", "SEC-001,REL-001")  # fmt: skip
    assert got.code == 4, got.text  # one cluster failed
    assert_no_traceback(got.out, got.err)
    assert_absent([TOKEN], got.out, got.err, sqlite_dump(got.db_path))
    assert not PREFECT_LINE.search(got.text), got.text
    for chatter in CHATTER:
        assert chatter not in got.text
    assert "fleet: 2 completed, 0 partial, 1 failed, 0 aborted" in got.out
    rows = {r["cluster_id"]: r for r in got.runs()}
    assert {c: r["state"] for c, r in rows.items()} == {"eu": "completed", "us": "completed", "gone": "failed"}
    for cluster, run in rows.items():
        assert re.search(rf"│ {cluster} +│ {run['state']} +│ .* │ {run['run_id']} │", got.out), got.out
    # Why the failed cluster failed: what `kwa run` prints under its table, here one line per cluster.
    assert "gone: failed: cannot reach the Kubernetes API server at http://127.0.0.1:9" in got.out


def test_fleet_json_is_only_json_and_verbose_brings_prefect_back(kwa: Kwa, double: ApiDouble) -> None:
    kubeconfig = _kubeconfig(kwa, double.url)
    got = kwa("fleet", "--contexts", "eu", "--kubeconfig", kubeconfig, "--check", "SEC-001", "-o", "json")
    assert got.code == 0, got.text
    summary = json.loads(got.out)  # nothing else on stdout
    assert summary["completed"] == 1 and summary["clusters"][0]["cluster_id"] == "eu"
    assert not PREFECT_LINE.search(got.err)
    loud = kwa("fleet", "--contexts", "us", "--kubeconfig", kubeconfig, "--check", "SEC-001", "--verbose")
    assert loud.code == 0, loud.text
    assert PREFECT_LINE.search(loud.text) and "Finished in state" in loud.text
    assert_no_traceback(got.out, got.err, loud.out, loud.err)


def test_fleet_pushes_each_assessed_clusters_metrics(kwa: Kwa, double: ApiDouble) -> None:
    from tests.metrics.test_export import Receiver

    receiver = Receiver()
    try:
        got = kwa("fleet", "--contexts", "eu,us", "--kubeconfig", _kubeconfig(kwa, double.url), "--check", "SEC-001",
                  "--push-metrics", f"http://127.0.0.1:{receiver.port}")  # fmt: skip
    finally:
        receiver.close()
    assert got.code == 0, got.text
    assert sorted(r["path"] for r in receiver.requests) == [
        "/metrics/job/kwa/cluster/eu",
        "/metrics/job/kwa/cluster/us",
    ]
    assert "metrics of cluster eu pushed" in got.err and "metrics of cluster us pushed" in got.err
    refused = kwa("fleet", "--contexts", "eu", "--kubeconfig", _kubeconfig(kwa, double.url),
                  "--push-metrics", "ftp://nowhere")  # fmt: skip
    assert refused.code == 2 and len(refused.runs()) == 2, refused.text  # no run of its own
