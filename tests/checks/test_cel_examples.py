"""The example CEL checks of examples/checks/: each against its pass and fail fixtures, exact
statuses (and, for failing results, messages) per object."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks.cel.files import load_paths
from checks.config import Config
from checks.model import CheckDefinition
from checks.registry import Registry, load_all
from checks.runner import evaluate
from checks.snapshot import Snapshot
from checks.sources.resolve import SourceSpec, load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "checks"
FIXTURES = EXAMPLES / "fixtures"

# check -> fixture -> {kind/namespace/name: [(status, message), ...]}
EXPECTED: dict[str, dict[str, dict[str, list[tuple[str, str]]]]] = {
    "CUS-001": {
        "pass": {"Deployment/shop/web": [("passing", "")], "StatefulSet/shop/db": [("passing", "")]},
        "fail": {
            "Deployment/shop/web": [("failing", "no team label")],
            "StatefulSet/shop/db": [("failing", "no team label")],
        },
    },
    "CUS-002": {
        "pass": {
            "Deployment/shop/api": [("passing", "")],
            "Deployment/shop/single": [("passing", "")],
            "Deployment/None/worker": [("passing", "")],
        },
        "fail": {
            "Deployment/shop/api": [("failing", "3 replicas and no PodDisruptionBudget selects them")],
            "Deployment/shop/other": [("failing", "2 replicas and no PodDisruptionBudget selects them")],
        },
    },
    "CUS-003": {
        "pass": {
            "Service/shop/web": [("passing", "")],
            "Service/shop/external": [("passing", "")],
            "Service/None/queue": [("passing", "")],
        },
        "fail": {
            "Service/shop/webb": [("failing", "selector {app: webb} matches no workload in namespace shop")],
            "Service/other/wrong-ns": [("failing", "selector {app: web} matches no workload in namespace other")],
            "Service/None/cache": [("failing", "selector {app: cache} matches no workload in its (unnamed) namespace")],
        },
    },
    "CUS-004": {
        "pass": {"Deployment/shop/pinned": [("passing", "")]},
        "fail": {
            "Deployment/shop/latest": [("failing", "floating image tag in container(s) app")],
            "Deployment/shop/untagged": [("failing", "floating image tag in container(s) app")],
        },
    },
    "CUS-005": {
        "pass": {"Deployment/shop/pod-level": [("passing", "")], "DaemonSet/shop/container-level": [("passing", "")]},
        "fail": {
            "Deployment/shop/unset": [("failing", "a container may run as root (runAsNonRoot is not true)")],
            "Job/shop/override": [("failing", "a container may run as root (runAsNonRoot is not true)")],
        },
    },
    "CUS-006": {
        "pass": {"Deployment/shop/small": [("passing", "")]},
        "fail": {
            "Deployment/shop/nolimit": [("failing", "a container has no memory limit")],
            "Deployment/shop/huge": [("failing", "a container's memory limit is above 4Gi")],
            "Deployment/shop/both": [
                ("failing", "a container has no memory limit"),
                ("failing", "a container's memory limit is above 4Gi"),
            ],
        },
    },
    "CUS-007": {
        "pass": {"Deployment/shop/modest": [("passing", "")]},
        "fail": {"Deployment/shop/greedy": [("failing", "a container requests more than 2 CPU cores")]},
    },
    "CUS-008": {
        "pass": {"Deployment/shop/probed": [("passing", "")]},
        "fail": {"Deployment/shop/unprobed": [("failing", "no readinessProbe: app, metrics")]},
    },
    "CUS-009": {
        "pass": {"Deployment/dev-shop/web": [("passing", "")]},
        "fail": {"Deployment/dev-shop/web": [("failing", "3 replicas in development namespace dev-shop")]},
    },
    "CUS-010": {
        "pass": {"Ingress/shop/secure": [("passing", "")]},
        "fail": {
            "Ingress/shop/plain": [("failing", "hosts without TLS: shop.example.com, api.example.com")],
            "Ingress/shop/partial": [("failing", "hosts without TLS: api.example.com")],
        },
    },
    "CUS-011": {
        "pass": {"Deployment/shop/documented": [("passing", "")], "Deployment/shop/undocumented": [("passing", "")]},
        "fail": {
            "Deployment/shop/http": [("failing", "kwa.io/runbook is not an absolute https URL")],
            "Deployment/shop/relative": [("failing", "kwa.io/runbook is not an absolute https URL")],
        },
    },
    "CUS-012": {
        "pass": {"Deployment/shop/tidy": [("passing", "")]},
        "fail": {
            "Deployment/shop/messy": [
                ("failing", "a container name is not lower-case"),
                ("failing", "a container declares the same port twice"),
            ]
        },
    },
}


@pytest.fixture(scope="module")
def examples() -> dict[str, CheckDefinition]:
    load_all()
    return {d.id: d for d in load_paths([EXAMPLES], Registry())}


def snapshot_of(path: Path) -> Snapshot:
    snap = load(SourceSpec.from_dict({"kind": "manifests", "paths": [str(path)]}))
    return snap.prepare()


def test_every_example_has_expectations_and_fixtures(examples: dict[str, CheckDefinition]) -> None:
    assert len(examples) >= 10
    assert sorted(examples) == sorted(EXPECTED)
    pillars = {d.pillar.value for d in examples.values()}
    assert len(pillars) >= 5, pillars
    for check_id in examples:
        assert (FIXTURES / check_id / "pass.yaml").is_file() and (FIXTURES / check_id / "fail.yaml").is_file()


@pytest.mark.parametrize("case", ["pass", "fail"])
@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_example_statuses_per_object(examples: dict[str, CheckDefinition], check_id: str, case: str) -> None:
    fixture = FIXTURES / check_id / f"{case}.yaml"
    results = evaluate(examples[check_id], snapshot_of(fixture), Config())
    got: dict[str, list[tuple[str, str]]] = {}
    for r in results:
        got.setdefault(f"{r.kind}/{r.namespace}/{r.name}", []).append((r.status.value, r.message))
        # Every verdict points at its object in the fixture, like a built-in's.
        assert r.source and r.source.split("#")[0].endswith(f"{check_id}/{case}.yaml") and r.line, r
    assert got == EXPECTED[check_id][case]


def test_the_minimal_file_of_the_issue_is_an_example_as_written() -> None:
    text = (EXAMPLES / "cus-001-team-label.yaml").read_text()
    assert "match: {kinds: [Deployment, StatefulSet]}" in text
    assert "- expression: \"has(object.metadata.labels) && 'team' in object.metadata.labels\"" in text


def test_no_example_errs_on_the_real_manifests_of_the_corpus(
    examples: dict[str, CheckDefinition], corpus: Path
) -> None:
    """Real manifests leave fields out (a namespace, most often): an example check, copied as the
    start of a team's own, answers each object with a verdict, never an evaluation error."""
    snapshot = load(SourceSpec.from_dict({"kind": "manifests", "paths": [str(corpus)]})).prepare()
    errors = [
        f"{check_id} {r.kind}/{r.namespace}/{r.name}: {r.message}"
        for check_id, definition in sorted(examples.items())
        for r in evaluate(definition, snapshot, Config())
        if r.status.value == "error"
    ]
    assert errors == []
