"""The bundled demo cluster: it parses cleanly, hangs together like a real dump, holds no secret
values, is reproduced byte for byte by its generator, and every registered check runs over it."""

from __future__ import annotations

import importlib.util
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import pytest

from checks.model import Status
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import Snapshot
from checks.sources.demo import DEMO_METRICS_PATH, DEMO_PATH, load_demo

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tools" / "make_demo_cluster.py"


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return load_demo()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo_cluster", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loads_as_a_live_snapshot_without_problems(snap: Snapshot) -> None:
    assert snap.problems == []
    assert snap.is_live
    assert snap.cluster_id == "demo-prod"
    assert snap.server_version == "1.29.4"
    assert "demo-prod" in snap.description and "no kubeconfig" in snap.description
    assert all(o.api_version and o.kind and o.name and o.uid for o in snap.objects)


def test_size_and_kinds(snap: Snapshot) -> None:
    assert 100 <= len(snap.objects) <= 300
    kinds = set(snap.kinds())
    expected = {
        "Namespace", "Node", "Deployment", "ReplicaSet", "Pod", "StatefulSet", "DaemonSet", "CronJob", "Job",
        "Service", "EndpointSlice", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler",
        "ResourceQuota", "LimitRange", "ConfigMap", "Secret", "ServiceAccount", "Role", "RoleBinding",
        "ClusterRole", "ClusterRoleBinding", "PriorityClass", "StorageClass", "PersistentVolume",
        "PersistentVolumeClaim", "APIService", "ValidatingWebhookConfiguration",
    }  # fmt: skip
    assert expected <= kinds, expected - kinds


def test_names_are_unique(snap: Snapshot) -> None:
    keys = Counter((o.kind, o.namespace, o.name) for o in snap.objects)
    assert [k for k, n in keys.items() if n > 1] == []
    uids = Counter(o.uid for o in snap.objects)
    assert [u for u, n in uids.items() if n > 1] == []


def test_every_referenced_namespace_exists(snap: Snapshot) -> None:
    namespaces = {o.name for o in snap.of_kind("Namespace")}
    assert {"kube-system", "default", "shop", "payments", "legacy", "staging"} <= namespaces
    referenced = {o.namespace for o in snap.objects if o.namespace}
    for binding in snap.of_kind("RoleBinding", "ClusterRoleBinding"):
        referenced.update(s["namespace"] for s in binding.raw.get("subjects") or [] if s.get("namespace"))
    for pv in snap.of_kind("PersistentVolume"):
        referenced.add(pv.spec["claimRef"]["namespace"])
    for api in snap.of_kind("APIService"):
        referenced.add(api.spec["service"]["namespace"])
    assert referenced - namespaces == set()
    assert snap.namespaces() == sorted(namespaces)


def test_owner_references_resolve_by_uid_and_name(snap: Snapshot) -> None:
    owned = [o for o in snap.objects if o.owner_refs]
    assert len(owned) > 50
    for obj in owned:
        for ref in obj.owner_refs:
            owner = snap.by_uid(ref["uid"])
            assert owner is not None, f"{obj.ref}: owner uid {ref['uid']} not in the dump"
            assert (owner.kind, owner.name, owner.namespace) == (ref["kind"], ref["name"], obj.namespace), obj.ref
            assert owner.api_version == ref["apiVersion"], obj.ref
            assert ref.get("controller") is True, obj.ref


def test_pods_roll_up_to_their_workloads(snap: Snapshot) -> None:
    workloads = snap.workloads()
    assert all(w.obj.controller_ref is None for w in workloads)
    by_kind = Counter(w.kind for w in workloads)
    assert by_kind["Pod"] == 1  # the one bare debug pod
    assert by_kind["ReplicaSet"] == 0 and by_kind["Job"] == 1  # the standalone migration Job only
    for pod in snap.of_kind("Pod"):
        if pod.controller_ref is None:
            continue
        top = snap.top_owner(pod)
        assert top.kind in ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"), pod.ref
        assert top.controller_ref is None
        assert pod in snap.pods_of(top)
    for dep in snap.of_kind("Deployment"):
        running = [p for p in snap.pods_of(dep) if p.status.get("phase") != "Failed"]
        assert len(running) >= dep.spec["replicas"], dep.ref


def test_no_secret_carries_values(snap: Snapshot) -> None:
    secrets = snap.of_kind("Secret")
    assert secrets
    for secret in secrets:
        assert set(secret.raw) == {"apiVersion", "kind", "metadata", "type"}, secret.ref


def test_generator_is_deterministic(tmp_path: Path) -> None:
    _generator().write(tmp_path)
    assert (tmp_path / DEMO_PATH.name).read_bytes() == DEMO_PATH.read_bytes(), (
        "checks/data/demo-cluster.yaml is stale: run tools/make_demo_cluster.py"
    )
    assert (tmp_path / DEMO_METRICS_PATH.name).read_bytes() == DEMO_METRICS_PATH.read_bytes()


def test_metrics_shape(snap: Snapshot) -> None:
    metrics = snap.metrics
    assert metrics is not None and set(metrics) == {"pods", "nodes"}
    assert set(metrics["nodes"]) == {n.name for n in snap.of_kind("Node")}
    for usage in metrics["nodes"].values():
        assert set(usage) == {"cpu", "memory"} and all(isinstance(v, float) and v > 0 for v in usage.values())
    running = {f"{p.namespace}/{p.name}": p for p in snap.of_kind("Pod") if p.status.get("phase") == "Running"}
    assert metrics["pods"]
    for key, containers in metrics["pods"].items():
        assert isinstance(key, str) and key in running, key
        assert set(containers) == {c["name"] for c in running[key].spec["containers"]}, key
        for usage in containers.values():
            assert set(usage) == {"cpu", "memory"}
            assert all(isinstance(v, float) for v in usage.values())
            assert 0 < usage["cpu"] < 4 and 2**20 <= usage["memory"] < 16 * 2**30


def test_the_story_is_in_the_dump(snap: Snapshot) -> None:
    """The deliberate problems the checks are meant to find (a guard against generator edits)."""
    waiting = Counter()
    restarts = 0
    for pod in snap.of_kind("Pod"):
        for cs in pod.status.get("containerStatuses") or []:
            reason = (cs["state"].get("waiting") or {}).get("reason")
            if reason:
                waiting[reason] += 1
            restarts = max(restarts, cs["restartCount"])
    assert waiting == {"CrashLoopBackOff": 1, "ImagePullBackOff": 1} and restarts == 14
    assert any(p.status.get("reason") == "Evicted" for p in snap.of_kind("Pod"))
    assert [c.status["phase"] for c in snap.of_kind("PersistentVolumeClaim")].count("Pending") == 1
    assert any(pv.status["phase"] == "Released" for pv in snap.of_kind("PersistentVolume"))
    nodes = snap.of_kind("Node")
    assert len(nodes) == 4 and all(n.labels["kubernetes.io/arch"] == "amd64" for n in nodes)
    assert len({n.labels["topology.kubernetes.io/zone"] for n in nodes}) == 2
    assert sum(1 for n in nodes if n.spec.get("unschedulable")) == 1
    assert snap.get("Namespace", None, "staging").labels["env"] == "staging"
    lb = snap.get("Service", "legacy", "old-admin")
    assert lb.spec["type"] == "LoadBalancer"
    assert not snap.select_workloads("legacy", {"matchLabels": lb.spec["selector"]})
    assert snap.get("Deployment", "legacy", "report-worker").spec["replicas"] == 0
    hpa = snap.get("HorizontalPodAutoscaler", "payments", "payments-api")
    assert hpa.spec["minReplicas"] == hpa.spec["maxReplicas"]
    assert snap.get("PodDisruptionBudget", "payments", "payments-api").spec["maxUnavailable"] == 0
    assert snap.get("StorageClass", None, "gp2").raw["reclaimPolicy"] == "Retain"
    hook = snap.get("ValidatingWebhookConfiguration", None, "legacy-ingress-validator").raw["webhooks"][0]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Fail", 30)
    api = snap.get("APIService", None, "v1beta1.metrics.k8s.io")
    assert api.status["conditions"][0]["type"] == "Available" and api.status["conditions"][0]["status"] == "True"
    assert {b.raw["roleRef"]["name"] for b in snap.of_kind("ClusterRoleBinding")
            if any(s["name"] == "ci-deployer" for s in b.raw["subjects"])} == {"cluster-admin"}  # fmt: skip


def test_every_registered_check_runs(snap: Snapshot) -> None:
    registry = load_all()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    raised, errors = [], []
    for check in registry.all():
        try:
            results = evaluate(check, snap)
        except Exception as exc:  # collect every failure, then report them together
            raised.append(f"{check.id}: {type(exc).__name__}: {exc}")
            continue
        counts[check.pillar.value].update(r.status.value for r in results)
        errors += [
            f"{check.id} {r.kind}/{r.namespace}/{r.name}: {r.message}" for r in results if r.status is Status.ERROR
        ]
    for pillar, statuses in counts.items():
        print(f"{pillar:24} " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    assert raised == [], "checks raised on the demo cluster:\n" + "\n".join(raised)
    assert errors == [], "checks could not evaluate the demo cluster:\n" + "\n".join(errors)
    # Deliberate problems in every pillar, and well-run objects too, so scores mean something.
    for pillar, statuses in counts.items():
        assert statuses[Status.PASSING.value] > 0, pillar
        assert statuses[Status.FAILING.value] + statuses[Status.WARNING.value] > 0, pillar
