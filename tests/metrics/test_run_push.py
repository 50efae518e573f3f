"""``kwa run --push-metrics`` / ``$KWA_PUSHGATEWAY``: the run's cluster is pushed once it is stored;
a dead or refusing Pushgateway is a warning and changes neither the run's state nor its exit code."""

from __future__ import annotations

import socket
from pathlib import Path

from kwa.exit_codes import state_exit
from tests.faults.harness import Kwa, assert_no_traceback
from tests.faults.test_gates_ci import privileged
from tests.metrics.helpers import parse, value
from tests.metrics.test_export import Receiver

ARGS = ("run", "--manifests", "k8s", "--check", "SEC-001", "--cluster-id", "shop", "--ci")


def _apps(tmp: Path) -> None:
    (tmp / "k8s").mkdir(parents=True, exist_ok=True)
    (tmp / "k8s" / "apps.yaml").write_text("---\n".join([privileged("web-1"), privileged("web-2", on=False)]))


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_pushgateway_warns_and_leaves_the_run_as_it_ended(kwa: Kwa) -> None:
    _apps(kwa.tmp)
    got = kwa(*ARGS, "--push-metrics", f"http://ci:gateway-secret-9@127.0.0.1:{_dead_port()}")
    run = got.run()
    assert run["state"] == "completed", got.text
    assert got.code == state_exit(run["state"]), got.text
    assert "warning: cannot push metrics to http://127.0.0.1:" in got.err
    assert "(the run itself is recorded as it ended)" in got.err
    assert "gateway-secret-9" not in got.text
    assert_no_traceback(got.text)


def test_the_pushgateway_from_the_environment_receives_the_runs_cluster(kwa: Kwa) -> None:
    _apps(kwa.tmp)
    receiver = Receiver()
    try:
        got = kwa(*ARGS, KWA_PUSHGATEWAY=f"http://127.0.0.1:{receiver.port}")
    finally:
        receiver.close()
    assert got.code == 0, got.text
    assert [(r["method"], r["path"]) for r in receiver.requests] == [("PUT", "/metrics/job/kwa/cluster/shop")]
    samples = parse(receiver.requests[0]["body"])
    failing = value(samples, "kwa_findings", cluster="shop", pillar="security", severity="critical", status="failing")
    passing = value(samples, "kwa_findings", cluster="shop", pillar="security", severity="critical", status="passing")
    assert (failing, passing) == (1.0, 1.0)  # web-1 privileged, web-2 not
    assert value(samples, "kwa_last_run_state", cluster="shop", state="completed") == 1.0
    assert "metrics of cluster shop pushed to" in got.err


def test_a_bad_pushgateway_url_is_a_usage_error_before_any_run(kwa: Kwa) -> None:
    _apps(kwa.tmp)
    got = kwa(*ARGS, "--push-metrics", "ftp://somewhere")
    assert got.code == 2, got.text
    assert "--push-metrics: not a Pushgateway URL" in got.err
    assert got.runs() == []
