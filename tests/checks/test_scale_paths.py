"""Fast paths taken for large clusters give the answers of the paths they replace."""

from __future__ import annotations

from bench import crowded
from bench.generate import generate
from checks.cost.unused import _build_refs, _pod_claims
from checks.snapshot import K8sObject, Snapshot


def test_live_claims_from_pod_volumes_equal_the_full_walk() -> None:
    objects = generate(2000, seed=11)
    pods = [o for o in objects if o["kind"] == "Pod"]
    # A generic ephemeral volume and a claim in a pod outside any workload, besides the generated ones.
    pods[0]["spec"].setdefault("volumes", []).append({"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}})
    pods[1]["spec"].setdefault("volumes", []).append({"name": "data", "persistentVolumeClaim": {"claimName": "x"}})
    snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(objects)], mode="live")
    walked = _build_refs(snap, pods_only_for_pvcs=True)
    fast = _pod_claims(snap)
    assert fast.pvcs == walked.pvcs and fast.pvcs
    assert fast.any_ns["pvcs"] == walked.any_ns["pvcs"]
    assert fast.any_name["pvcs"] == walked.any_name["pvcs"]


def test_result_values_equal_row_values_of_the_row_for_every_kind_of_result() -> None:
    from checks.config import Config
    from checks.model import Result, Status
    from checks.registry import load_all
    from checks.runner import evaluate
    from storage.result_rows import result_values, row_values

    snap = Snapshot(objects=[K8sObject(o, "gen.yaml", i) for i, o in enumerate(generate(800, seed=5))]).prepare()
    config = Config()
    results = [r for check in load_all().all() for r in evaluate(check, snap, config)]
    results += [
        Result(Status.ERROR, "failed: token=abc.def.ghi Authorization: Bearer s3cr3t", kind="Pod", name="x"),
        Result(Status.TIMEOUT, "timed out", details={"seconds": 30, "nested": [1, None, "ü"]}),
        Result(Status.FAILING, "", details="text", remediation="own", line=3, end_line=9, field_path="a", field_line=4),
    ]
    assert {r.status for r in results} >= {Status.PASSING, Status.FAILING, Status.WARNING, Status.SKIPPED}
    for r in results:
        assert result_values(r) == row_values(r.as_row())


def test_spec_hygiene_reads_a_workloads_ports_once_however_many_services_select_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """OPS-008 compares each Service's numeric targetPorts with the named ports of the workloads it
    selects: read per Service, a pod of 3,000 containers selected by 2,000 Services took past the
    check's 30 s timeout. Each workload's ports are now read once."""
    from checks.config import Config
    from checks.operations import hygiene
    from checks.registry import load_all
    from checks.runner import evaluate

    containers = [{"name": f"c{i}", "image": "nginx:1.27", "ports": [{"name": f"p{i}", "containerPort": 1000 + i}]}
                  for i in range(50)]  # fmt: skip
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "wide", "namespace": "a"},
        "spec": {"selector": {"matchLabels": {"app": "w"}},
                 "template": {"metadata": {"labels": {"app": "w"}}, "spec": {"containers": containers}}},
    }  # fmt: skip
    services = [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "namespace": "a"},
         "spec": {"selector": {"app": "w"}, "ports": [{"port": 80, "targetPort": 1000 + i % 50}]}}
        for i in range(200)
    ]  # fmt: skip
    snap = Snapshot(objects=[K8sObject(o, "wide.yaml", i) for i, o in enumerate([deployment, *services])]).prepare()
    reads = []
    original = hygiene._named_ports
    monkeypatch.setattr(hygiene, "_named_ports", lambda w: reads.append(w.name) or original(w))
    results = evaluate(load_all().by_id("OPS-008"), snap, Config())
    assert reads == ["wide"]
    warned = [r for r in results if r.kind == "Service" and r.status.value == "warning"]
    assert len(warned) == 200 and "the container names it 'p7'" in next(r.message for r in warned if r.name == "s7")


def test_many_identical_budgets_and_policies_cost_one_selection_and_a_bounded_message() -> None:
    """Thousands of PDBs (or NetworkPolicies) with one selector over the same pods made REL-007 to
    REL-009 and SEC-023 quadratic (4,000 of each over 4,000 pods: three checks past their 30 s
    timeout), and REL-009's message named every other budget for every pod. Identical selectors now
    share one selection, and REL-009 names at most five pods and five other budgets each."""
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    count = 300
    pods = [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"p{i}", "namespace": "a", "labels": {"tier": "x"}},
             "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}} for i in range(count)]  # fmt: skip
    pdbs = [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": {"name": f"b{i}", "namespace": "a"},
             "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"tier": "x"}}}}
            for i in range(count)]  # fmt: skip
    policies = [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                 "metadata": {"name": f"n{i}", "namespace": "a"},
                 "spec": {"podSelector": {"matchLabels": {"tier": "x"}}, "policyTypes": ["Ingress", "Egress"]}}
                for i in range(count)]  # fmt: skip
    objects = [*pods, *pdbs, *policies]
    snap = Snapshot(objects=[K8sObject(o, "dense.yaml", i) for i, o in enumerate(objects)], mode="live").prepare()
    registry = load_all()
    overlap = {r.name: r for r in evaluate(registry.by_id("REL-009"), snap, Config())}
    assert len(overlap) == count and all(r.status.value == "failing" for r in overlap.values())
    message = overlap["b0"].message
    assert message.startswith("Pod/p0 is also selected by PDB b1, b2, b3, b4, b5 and 294 more; ")
    assert message.endswith(f"{count - 5} more selected workload(s) are also selected by other PDBs")
    assert len(message) < 600
    isolation = evaluate(registry.by_id("SEC-023"), snap, Config())
    assert [r.status.value for r in isolation] == ["passing"] * count


def test_many_services_with_one_selector_share_one_selection() -> None:
    """4,000 LoadBalancer Services with one selector over 4,000 pods timed COST-005 and OPS-008 out
    (a selection and a scan of every selected pod per Service); they now share one."""
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    count = 300
    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "a", "labels": {"app": "x"}},
             "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                                      "ports": [{"name": "http", "containerPort": 80}]}]}}
            for i in range(count)]  # fmt: skip
    services = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{i}", "namespace": "a"},
                 "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 80}]}}
                for i in range(count)]  # fmt: skip
    objects = [*pods, *services]
    snap = Snapshot(objects=[K8sObject(o, "lb.yaml", i) for i, o in enumerate(objects)]).prepare()
    registry = load_all()
    idle = evaluate(registry.by_id("COST-005"), snap, Config())
    assert {(r.status.value, r.message) for r in idle} == {("passing", "selects Pod/a/p0")}
    hygiene = [r for r in evaluate(registry.by_id("OPS-008"), snap, Config()) if r.kind == "Service"]
    assert len(hygiene) == count
    assert {r.message for r in hygiene} == {"numeric targetPort 80: the container names it 'http'"}


def _one_namespace(pods: int, services: int, seed: int, probed: float = 0.5) -> list[dict]:
    """A namespace of ``pods`` Deployments' pods and ``services`` Services, labels drawn so that
    Services select one app, a tier, several apps' common label, nothing, or are ExternalName."""
    import random

    rng = random.Random(seed)
    out: list[dict] = []
    for i in range(pods):
        labels = {"app": f"app{rng.randrange(services)}", "tier": f"t{rng.randrange(5)}"}
        if rng.random() < 0.2:
            labels["port"] = rng.choice(["80", "true"])
        container = {"name": "c", "image": "nginx:1.27"}
        if rng.random() < probed:
            container["readinessProbe"] = {"httpGet": {"port": 80}}
        strategy = {"type": rng.choice(["Recreate", "RollingUpdate"])}
        template = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
        spec = {"strategy": strategy, "selector": {"matchLabels": labels}, "template": template}
        out.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"d{i}", "namespace": "big"},
                    "spec": spec})  # fmt: skip
    for j in range(services):
        shape = rng.randrange(6)
        spec = {"ports": [{"port": 80}]}
        if shape == 0:
            spec["selector"] = {"app": f"app{rng.randrange(services)}"}
        elif shape == 1:
            spec["selector"] = {"tier": f"t{rng.randrange(5)}", "app": f"app{rng.randrange(services)}"}
        elif shape == 2:
            spec["selector"] = {"port": rng.choice(["80", "true", "8080"])}
        elif shape == 3:
            spec["selector"] = {}
        elif shape == 4:
            spec.update(type="ExternalName", externalName="x.example", selector={"tier": "t1"})
        else:
            spec["selector"] = {"app": f"app{rng.randrange(services)}", "missing": "x"}
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"s{j}", "namespace": "big"},
                    "spec": spec})  # fmt: skip
    return out


def test_services_routing_to_a_workload_are_what_trying_every_selector_finds() -> None:
    """REL-001 and REL-017 ask whether a Service routes to a workload: answered from the label
    index, it must be the answer of trying every Service's selector on the workload's labels."""
    from checks.config import Config
    from checks.k8s import service_selector_matches
    from checks.registry import load_all
    from checks.reliability.common import _service_selectors
    from checks.runner import evaluate

    for seed in range(6):
        snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(_one_namespace(300, 60, seed))])
        snap.prepare()
        assert not snap.malformed  # every object admitted: each workload has its verdicts
        services = [s.spec for s in snap.of_kind("Service") if s.spec.get("type") != "ExternalName"]
        expected = {
            id(w.obj) for w in snap.workloads()
            if any(service_selector_matches(s.get("selector"), w.pod_labels) for s in services)
        }  # fmt: skip
        assert _service_selectors(snap) == expected and 0 < len(expected) < len(snap.workloads())
        results = {c: evaluate(load_all().by_id(c), snap, Config()) for c in ("REL-001", "REL-017")}
        for r in results["REL-001"]:
            w = snap.workload(r.kind or "", r.namespace, r.name or "")
            assert w is not None
            if r.status.value in ("failing", "warning"):
                assert (r.status.value == "failing") == (id(w.obj) in expected), r.message


def test_one_namespace_of_many_services_and_pods_is_judged_within_the_budget() -> None:
    """Every Service's selector tried on every workload was 33 s for REL-001 in one namespace of
    16,000 pods and 4,000 Services (past its 30 s budget); the label index answers in well under."""
    import time

    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(_one_namespace(12_000, 3_000, 1, probed=0))])
    snap.prepare()
    for check_id in ("REL-001", "REL-017"):
        started = time.perf_counter()
        results = evaluate(load_all().by_id(check_id), snap, Config())
        elapsed = time.perf_counter() - started
        assert len(results) == 12_000 and elapsed < 5.0, f"{check_id}: {elapsed:.1f}s"


def test_many_budgets_and_policies_over_one_namespaces_pods_are_judged_within_the_budget() -> None:
    """REL-010 looked up every selected workload's HPA for each budget, and OPS-009 selected a
    policy's peer pods again for each policy: a namespace of 3,000 of each took 20-40 s per check
    (past the 30 s budget). Each selection is now judged once; REL-010 names at most five
    workloads per budget and counts the rest."""
    import time

    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    # Per app a Deployment, its HPA, a budget and a policy; every other budget, and every policy's
    # peer, picks the label all the pods share.
    snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(crowded.budgets(12_000))]).prepare()
    verdicts = {}
    for check_id in ("REL-010", "OPS-009"):
        started = time.perf_counter()
        verdicts[check_id] = evaluate(load_all().by_id(check_id), snap, Config())
        elapsed = time.perf_counter() - started
        assert len(verdicts[check_id]) == 3_000 and elapsed < 5.0, f"{check_id}: {elapsed:.1f}s"
    assert {r.status.value for r in verdicts["OPS-009"]} == {"passing"}
    broad = [r for r in verdicts["REL-010"] if r.name in ("b1", "b3")]
    # minAvailable 3 (b1) and 2 (b3) over all 3,000 Deployments, each with an HPA of minReplicas 2
    assert [r.status.value for r in broad] == ["failing", "failing"]
    for r in broad:
        assert len(r.details) == 6 and r.details[-1].startswith("2,995 more selected workload(s)"), r.details
        assert len(r.message) < 600
    own = next(r for r in verdicts["REL-010"] if r.name == "b0")  # minAvailable 2 over its own Deployment
    assert own.status.value == "failing" and own.details == ["Deployment/d0: minAvailable 2 ≥ HPA h0 minReplicas 2"]


def test_the_first_workload_a_selector_picks_is_the_first_of_all_it_picks() -> None:
    from checks.k8s import selector_key

    snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(_one_namespace(400, 80, 3))]).prepare()
    selectors = [{"matchLabels": s.spec["selector"]} for s in snap.of_kind("Service") if s.spec.get("selector")]
    selectors += [{}, {"matchExpressions": [{"key": "port", "operator": "Exists"}]}, {"matchLabels": {"no": "such"}}]
    assert len({selector_key(s) for s in selectors}) > 40
    for selector in selectors:
        every = snap.select_workloads("big", selector)
        first = snap.first_workload("big", selector)
        assert first is (every[0] if every else None)
    assert snap.first_workload("elsewhere", {}) is None and snap.first_workload("big", None) is None


def test_many_services_over_the_same_pods_are_judged_within_the_budget() -> None:
    """REL-013 selected every pod a Service picks to learn whether it picks one: 4,000 Services
    over the same 4,000 pods were 16 million matches (9 s). It now stops at the first, once per
    distinct selector, live (where pods count too) and on manifests."""
    import time

    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    # Services s0..s3999 selecting app=x and shard=0 or 1; pods p0..p3999, all of shard 0.
    objects = crowded.services(8_000)
    for mode in ("manifest", "live"):
        snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(objects)], mode=mode).prepare()
        started = time.perf_counter()
        results = evaluate(load_all().by_id("REL-013"), snap, Config())
        elapsed = time.perf_counter() - started
        assert len(results) == 4_000 and elapsed < 3.0, f"{mode}: {elapsed:.1f}s"
        by_shard = {r.name: r.status.value for r in results}
        assert by_shard["s0"] != by_shard["s1"]  # shard 1 selects nothing: failing live, a warning on manifests
        assert by_shard["s1"] == ("failing" if mode == "live" else "warning")
        # SUS-008 sums the replicas behind each Service: once per distinct selector (16 million
        # workloads summed, 10 s, before).
        started = time.perf_counter()
        traffic = evaluate(load_all().by_id("SUS-008"), snap, Config())
        elapsed = time.perf_counter() - started
        assert len(traffic) == 4_000 and elapsed < 3.0, f"SUS-008 {mode}: {elapsed:.1f}s"
        behind = {r.name: r for r in traffic}
        assert behind["s0"].status.value == "warning" and behind["s0"].message.startswith("4000 replicas")
        assert behind["s1"].status.value == "skipped"


def test_budgets_and_policies_selecting_by_expressions_are_judged_within_the_budget() -> None:
    """A selector of only ``matchExpressions`` was tried on every workload of its namespace: 4,000
    budgets and policies of ``app In (…)`` over 4,000 Deployments took 16-20 s in each of five
    checks (SEC-023, REL-007 to REL-010). ``In`` values and ``Exists`` keys now narrow the index."""
    import time

    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    objects = []
    for j in range(4_000):
        app = {"app": f"app{j}"}
        template = {"metadata": {"labels": app}, "spec": {"containers": [{"name": "c", "image": "a:1"}]}}
        meta = {"name": f"d{j}", "namespace": "big"}
        objects.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                        "spec": {"replicas": 3, "selector": {"matchLabels": app}, "template": template}})  # fmt: skip
        expr = {"matchExpressions": [{"key": "app", "operator": "In", "values": [f"app{j}", f"app{j + 1}"]}]}
        if j % 3 == 0:
            expr = {"matchExpressions": [{"key": "app", "operator": "Exists"}, {"key": "app", "operator": "In",
                                                                                "values": [f"app{j}"]}]}  # fmt: skip
        objects.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                        "metadata": {"name": f"b{j}", "namespace": "big"},
                        "spec": {"maxUnavailable": 1, "selector": expr}})  # fmt: skip
    snap = Snapshot(objects=[K8sObject(o, "gen", i) for i, o in enumerate(objects)]).prepare()
    for check_id in ("REL-007", "REL-009"):
        started = time.perf_counter()
        results = evaluate(load_all().by_id(check_id), snap, Config())
        elapsed = time.perf_counter() - started
        assert len(results) == 4_000 and elapsed < 4.0, f"{check_id}: {elapsed:.1f}s"
    overlaps = {r.name: r for r in results if r.status.value == "failing"}
    assert "b1" in overlaps and "b0" not in overlaps  # b1 (app1, app2) overlaps b2; b0 (app0 only) does not


def test_a_containers_path_in_a_pod_of_many_is_the_one_a_search_finds() -> None:
    """Past a few dozen containers a workload indexes where each is (by identity and first name);
    the paths must be the linear search's, duplicates, odd entries and shared dicts included."""
    import random

    from checks.k8sobject import Workload, container_path

    rng = random.Random(5)
    for trial in range(40):
        shared = {"name": "same", "image": "i"}
        lists: dict[str, list] = {}
        for key in ("containers", "initContainers", "ephemeralContainers"):
            entries: list = []
            for _ in range(rng.randrange(0, 40)):
                entry = rng.choice([
                    {"name": f"c{rng.randrange(30)}", "image": "i"}, shared, {"name": 7}, {"image": "no-name"},
                    "not-a-container", None, {"name": ["x"]},
                ])  # fmt: skip
                entries.append(entry)
            if rng.random() < 0.9:
                lists[key] = entries
        pod_spec = {**lists, "restartPolicy": "Always"}
        kind = rng.choice(["Pod", "Deployment", "CronJob"])
        w = Workload(K8sObject({"kind": kind, "metadata": {"name": "w"}}), pod_spec, {})
        asked = [c for v in lists.values() for c in v] + [f"c{i}" for i in range(32)]
        asked += ["same", "absent", {"name": "c1"}]
        for container in asked:
            for field in (None, "securityContext.privileged"):
                assert w.container_path(container, field) == container_path(kind, pod_spec, container, field), (
                    trial, container)


def test_checks_of_every_container_in_a_pod_of_thousands_are_linear() -> None:
    """A verdict per container named the container's path by searching the pod for it: a pod of
    4,000 containers cost 16 million steps per check (0.6 s each in five checks, 10 s at 16,000)."""
    import time

    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate

    containers = [{"name": f"c{i}", "image": f"reg.example/app{i}:1"} for i in range(6_000)]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "wide", "namespace": "a"},
           "spec": {"containers": containers}}  # fmt: skip
    snap = Snapshot(objects=[K8sObject(pod, "wide.yaml", 0)]).prepare()
    for check_id in ("PERF-001", "PERF-002", "PERF-003", "SEC-006", "SEC-007"):
        started = time.perf_counter()
        results = evaluate(load_all().by_id(check_id), snap, Config())
        elapsed = time.perf_counter() - started
        assert len(results) >= 1 and elapsed < 0.5, f"{check_id}: {elapsed:.2f}s"
    failing = [r for r in evaluate(load_all().by_id("PERF-001"), snap, Config()) if r.status.value == "failing"]
    assert failing[-1].field_path == "spec.containers[5999].resources.requests.cpu"
