"""CI cannot pass on nothing: a run that assessed no object is its own outcome, exit 9.

Each case runs the real ``kwa run`` (issue 11: ``true | kwa run --manifests - --ci --fail-on
critical`` exited 0 having read nothing) and asserts the exit code, the run as stored (state,
the facts that say what was read), the results kept, what the user reads (what was read and why
nothing was assessed; the gate not applied), that ``kwa runs get`` shows the outcome, and that no
traceback and no credential reached the user.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.faults.harness import Kwa, Outcome, assert_absent, assert_no_traceback, permissions_hold, sqlite_dump
from tests.faults.parsing_docs import deployment
from tests.sources.fault_double import ApiDouble
from tests.sources.k8s_double import TOKEN, write_kubeconfig

NOTHING = 9
CHECKS = "SEC-001,REL-004,OPS-001"
JUDGED = ("passing", "failing", "warning")


def assert_nothing_assessed(kwa: Kwa, got: Outcome, why: str, state: str = "completed") -> dict:
    """Exit 9, stored in ``state`` with the facts, no verdict on any object, said on the terminal
    and by ``kwa runs get``; no traceback, no credential."""
    assert got.code == NOTHING, got.text
    run = got.run()
    assert run["state"] == state, run
    assert [r for r in got.results() if r["status"] in JUDGED] == []
    assert f"nothing was assessed: {why}" in got.text, got.text
    assert "gate rejected" not in got.text and "gate passed" not in got.text
    shown = kwa("runs", "get", run["run_id"])
    assert shown.code == 0, shown.text
    assert f"nothing was assessed: {why}" in shown.out, shown.out
    detail = json.loads(kwa("runs", "get", run["run_id"], "-o", "json").out)
    assert detail["warnings"][0].startswith("nothing was assessed: "), detail["warnings"]
    for text in (got.out, got.err, shown.out):
        assert_no_traceback(text)
    assert_absent([TOKEN], got.out, got.err, sqlite_dump(got.db_path))
    return run


def test_an_empty_stdin_under_ci_exits_9_not_0(kwa: Kwa) -> None:
    """The issue's own command: `true | kwa run --manifests - --ci --fail-on critical`."""
    got = kwa("run", "--manifests", "-", "--ci", "--fail-on", "critical", input="")

    run = assert_nothing_assessed(kwa, got, "manifests: <stdin>: no Kubernetes objects: the input is empty")
    assert run["trigger"] == "ci" and run["cluster_id"] == "stdin"
    assert "gate not applied: nothing was assessed (exit 9)" in got.err
    assert json.loads(run["summary"])["objects"] == 0


def test_json_output_carries_the_outcome_and_the_gate_not_applied(kwa: Kwa) -> None:
    got = kwa("run", "--manifests", "-", "--check", CHECKS, "--fail-on", "high", "-o", "json", input="\n---\n")

    assert got.code == NOTHING, got.text
    view = json.loads(got.out)
    assert view["nothing_assessed"].endswith("no document in them (blank or comments only)"), view
    assert view["gate"] == {"applied": False, "passed": None, "reason": "nothing was assessed", "violations": []}
    assert "nothing was assessed: manifests: <stdin>" in got.err  # CI logs show it beside the JSON
    assert_no_traceback(got.out, got.err)


def test_an_empty_directory(kwa: Kwa) -> None:
    (kwa.tmp / "k8s").mkdir()
    got = kwa("run", "--manifests", "k8s", "--check", CHECKS, "--ci")

    why = "manifests: k8s: no Kubernetes objects: no .yaml, .yml or .json files in k8s"
    run = assert_nothing_assessed(kwa, got, why)
    assert run["cluster_id"] == "k8s"


def test_a_directory_of_only_non_kubernetes_yaml_without_ci_exits_9_too(kwa: Kwa) -> None:
    docs = kwa.tmp / "docs"
    docs.mkdir()
    (docs / "mkdocs.yml").write_text("site_name: handbook\nnav:\n  - index.md\n")
    (docs / "values.yaml").write_text("replicaCount: 2\nimage: {repository: nginx}\n---\n- a\n- list\n")

    got = kwa("run", "--manifests", "docs", "--check", CHECKS)

    assert_nothing_assessed(kwa, got, "manifests: docs: no Kubernetes objects: none of the 3 documents read is one")
    assert "skipped input docs/mkdocs.yml (document 0): not a Kubernetes object" in got.out, got.out


@pytest.fixture
def locked(kwa: Kwa) -> Iterator[Kwa]:
    """``kwa`` for which permissions hold: itself when not root, else root without the capabilities
    that read through them. Skipped when neither can be arranged."""
    probe = kwa.tmp / "probe"
    probe.write_text("x")
    probe.chmod(0)
    if not permissions_hold(probe):
        pytest.skip("this process cannot run kwa as a user whom file permissions stop (root with no CAP_SETPCAP)")
    yield Kwa(kwa.tmp, kwa.prefect_url, kwa.env, honour_permissions=os.geteuid() == 0)


def test_an_unreadable_directory(locked: Kwa) -> None:
    secret = locked.tmp / "sealed"
    secret.mkdir()
    (secret / "app.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    secret.chmod(0)
    try:
        got = locked("run", "--manifests", "sealed", "--check", CHECKS, "--ci", "--fail-on", "critical")
    finally:
        secret.chmod(0o755)

    assert_nothing_assessed(locked, got, "manifests: sealed: no Kubernetes objects: no .yaml, .yml or .json files")
    assert "skipped input sealed: cannot read directory: Permission denied" in got.out, got.out


def test_an_unreadable_file(locked: Kwa) -> None:
    app = locked.tmp / "app.yaml"
    app.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n")
    app.chmod(0)

    got = locked("run", "--manifests", "app.yaml", "--check", CHECKS, "--ci", "--fail-on", "critical")

    assert_nothing_assessed(locked, got, "manifests: app.yaml: no Kubernetes objects: no input could be read")
    assert "skipped input app.yaml: cannot read file: Permission denied" in got.out, got.out


def test_a_cluster_that_lists_no_object(kwa: Kwa) -> None:
    with ApiDouble({}) as api:
        kubeconfig = write_kubeconfig(kwa.tmp / "kubeconfig", {"empty": api.url})
        got = kwa("run", "--kubeconfig", kubeconfig, "--check", CHECKS, "--ci", "--fail-on", "critical")

    run = assert_nothing_assessed(
        kwa, got, "live cluster empty: no objects listed: the cluster holds none of the kinds kwa reads"
    )
    assert run["cluster_id"] == "empty"


def test_objects_no_check_judges_are_nothing_assessed(kwa: Kwa) -> None:
    """Read, but not one verdict: a ConfigMap for checks that look at workloads only."""
    (kwa.tmp / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n")

    got = kwa("run", "--manifests", "cm.yaml", "--check", "SEC-001", "--ci", "--fail-on", "critical")

    assert_nothing_assessed(
        kwa, got, "manifests: cm.yaml: 1 object read, but no check judged any of them "
        "(none is of a kind the selected checks assess)"
    )  # fmt: skip


def test_a_run_that_assessed_something_keeps_its_code(kwa: Kwa) -> None:
    (kwa.tmp / "app.yaml").write_text(deployment("web"))
    got = kwa("run", "--manifests", "app.yaml", "--check", "SEC-001", "--ci", "--fail-on", "critical")

    assert got.code == 0, got.text
    assert [r["status"] for r in got.results()] == ["passing"]
    assert "nothing was assessed" not in got.text
    shown = kwa("runs", "get", got.run()["run_id"])
    assert "nothing was assessed" not in shown.out
    assert_no_traceback(got.out, got.err, shown.out)
