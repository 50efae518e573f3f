"""--run-timeout covers reading the cluster: the deadline reaches the live source, and a run that
passes it while reading ends failed, saying so."""

from __future__ import annotations

import time
from typing import Any

import pytest

from checks.sources import resolve
from checks.sources.resolve import SourceSpec

pytestmark = pytest.mark.prefect


def test_load_passes_the_deadline_to_the_live_source(monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.sources.live as live

    seen: dict[str, Any] = {}

    def with_deadline(kubeconfig, context, *, request_timeout=10.0, deadline=None):  # type: ignore[no-untyped-def]
        seen.update(deadline=deadline)
        return "snapshot"

    spec = SourceSpec("live", context="prod")
    monkeypatch.setattr(live, "load_live", with_deadline)
    assert resolve.load(spec, deadline=123.0) == "snapshot" and seen["deadline"] == 123.0


def test_a_run_that_passes_its_deadline_while_reading_the_cluster_fails(
    prefect_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows import steps
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    def slow_cluster(spec: SourceSpec, deadline: float | None = None, limits: Any = None) -> Any:
        assert deadline is not None and deadline - time.monotonic() <= 1.5
        time.sleep(max(0.0, deadline - time.monotonic()) + 0.1)
        raise TimeoutError("the API server stopped sending")  # what a bounded live read raises

    monkeypatch.setattr(steps, "load", slow_cluster)
    monkeypatch.setattr(steps.SourceSpec, "default_cluster_id", lambda self: "deadline-test")
    started = time.monotonic()
    state = assessment(source={"kind": "live", "context": "prod"}, checks=["SEC-001"], run_timeout=1.5,
                       return_state=True)
    run = summary_of_state(state)["run"]
    assert run["state"] == "failed" and state.is_failed()
    assert run["error"] == "run-level timeout of 1.5s exceeded while reading the cluster"
    assert time.monotonic() - started < 30


def test_a_run_that_passes_its_deadline_while_reading_manifests_fails_without_reading_on(
    prefect_api: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest input is asked between batches: the run fails at its deadline, not once every
    document has been read."""
    from checks.sources import manifests
    from flows.assessment import assessment
    from flows.ending import summary_of_state

    parsed = [0]
    parse = manifests._parse_chunk

    def counted(chunk: str, limits: Any, vetted: bool) -> list:
        parsed[0] += 1
        return parse(chunk, limits, vetted)

    monkeypatch.setattr(manifests, "_parse_chunk", counted)
    monkeypatch.setattr(manifests, "PARALLEL_MIN_CHARS", 10**12)  # serial: every group counted here

    one = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm-{}, namespace: a}}\ndata: {{k: v}}\n"
    many = tmp_path / "many.yaml"
    many.write_text("".join(one.format(i) for i in range(150_000)))  # well over 1.5 s to read here
    started = time.monotonic()
    state = assessment(source={"kind": "manifests", "paths": [str(many)]}, checks=["SEC-001"], run_timeout=1.5,
                       cluster_id="deadline-manifests", return_state=True)  # fmt: skip
    took = time.monotonic() - started
    run = summary_of_state(state)["run"]
    assert run["state"] == "failed" and state.is_failed()
    assert run["error"] == "run-level timeout of 1.5s exceeded while reading the manifests"
    assert took < 15, f"{took:.1f}s"
    assert parsed[0] < 150_000  # reading stopped at the deadline
