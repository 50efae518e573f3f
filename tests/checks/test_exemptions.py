"""Exemptions: annotations, config rules, shipped defaults, the audit, and safety over real inputs."""

from __future__ import annotations

import copy
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from checks.config import Config, ConfigError
from checks.exemptions import (
    DEFAULTS_FILE,
    SOURCE_SYSTEM_NAMESPACE,
    Exemptions,
    annotation_grants,
    default_rules,
)
from checks.model import Result, Status
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import K8sObject, Snapshot
from checks.sources.demo import load_demo
from checks.sources.manifests import load_manifests

TODAY = date.today()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()
NEXT_YEAR = (TODAY + timedelta(days=365)).isoformat()


def deployment(
    name: str = "web",
    namespace: str = "shop",
    *,
    annotations: dict[str, str] | None = None,
    template_annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
    kind: str = "Deployment",
) -> dict[str, Any]:
    """A workload whose containers are privileged unless told otherwise (SEC-001 fails it)."""
    containers = containers or [{"name": "app", "image": "app:1", "securityContext": {"privileged": True}}]
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}, "annotations": annotations or {}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": template_annotations or {}},
                "spec": {"containers": containers},
            },
        },
    }


def snap_of(*raws: dict[str, Any]) -> Snapshot:
    return Snapshot(objects=[K8sObject(copy.deepcopy(r), "inline.yaml", i) for i, r in enumerate(raws)])


def run(check_id: str, snap: Snapshot, config: Config | None = None) -> dict[str, Result]:
    results = evaluate(load_all().by_id(check_id), snap, config or Config())
    return {f"{r.namespace}/{r.name}": r for r in results if r.kind}


def config(**data: Any) -> Config:
    return Config.from_dict(data)


# ---- annotations --------------------------------------------------------------------------------

def test_annotation_on_the_object_exempts_listed_checks_only() -> None:
    snap = snap_of(
        deployment(annotations={"kwa.io/exempt": "SEC-001, REL-004", "kwa.io/exempt-reason": "GPU driver installer"})
    )
    r = run("SEC-001", snap)["shop/web"]
    assert r.status is Status.SKIPPED and r.reason == "exempt:annotation"
    assert "GPU driver installer" in r.message and "was failing" in r.message
    assert r.details["exemption"]["original_status"] == "failing"
    assert r.details["exemption"]["source"] == "annotation"
    assert run("SEC-002", snap)["shop/web"].status is not Status.SKIPPED  # not listed


def test_pod_template_annotation_exempts_the_deployment() -> None:
    snap = snap_of(deployment(template_annotations={"kwa.io/exempt": "SEC-001", "kwa.io/exempt-reason": "legacy"}))
    r = run("SEC-001", snap)["shop/web"]
    assert (r.status, r.reason) == (Status.SKIPPED, "exempt:annotation")
    assert "pod template" in r.message


def test_annotation_all_and_pillar_names() -> None:
    snap = snap_of(deployment(annotations={"kwa.io/exempt": "all"}))
    for check_id in ("SEC-001", "REL-001", "PERF-001"):
        r = run(check_id, snap)["shop/web"]
        assert r.reason == "exempt:annotation", check_id
        assert "no kwa.io/exempt-reason given" in r.message
    snap = snap_of(deployment(annotations={"kwa.io/exempt": "reliability"}))
    assert run("REL-001", snap)["shop/web"].reason == "exempt:annotation"
    assert run("SEC-001", snap)["shop/web"].status is Status.FAILING


def test_expired_annotation_no_longer_applies_and_is_audited() -> None:
    snap = snap_of(deployment(annotations={"kwa.io/exempt": "SEC-001", "kwa.io/exempt-until": YESTERDAY}))
    assert run("SEC-001", snap)["shop/web"].status is Status.FAILING
    audit = Config().exemptions.audit(snap)
    assert [(a["status"], a["object"], a["until"]) for a in audit] == [("expired", "Deployment/shop/web", YESTERDAY)]
    # Still valid on its last day and after.
    snap = snap_of(deployment(annotations={"kwa.io/exempt": "SEC-001", "kwa.io/exempt-until": NEXT_YEAR}))
    r = run("SEC-001", snap)["shop/web"]
    assert r.reason == "exempt:annotation" and f"until {NEXT_YEAR}" in r.message
    snap = snap_of(deployment(annotations={"kwa.io/exempt": "SEC-001", "kwa.io/exempt-until": TODAY.isoformat()}))
    assert run("SEC-001", snap)["shop/web"].reason == "exempt:annotation"


def test_invalid_annotations_are_not_applied_and_are_audited() -> None:
    snap = snap_of(
        deployment("a", annotations={"kwa.io/exempt": "SEC-001", "kwa.io/exempt-until": "soon"}),
        deployment("b", annotations={"kwa.io/exempt": "SEC-001,SEC-999"}),
    )
    results = run("SEC-001", snap)
    assert results["shop/a"].status is Status.FAILING
    assert results["shop/b"].status is Status.FAILING  # a typo must not half-apply
    audit = {a["object"]: a for a in Config().exemptions.audit(snap)}
    assert audit["Deployment/shop/a"]["status"] == "invalid" and "ISO date" in audit["Deployment/shop/a"]["message"]
    assert audit["Deployment/shop/b"]["status"] == "invalid" and "'SEC-999'" in audit["Deployment/shop/b"]["message"]


def test_annotation_exemptions_can_be_disallowed() -> None:
    snap = snap_of(deployment(annotations={"kwa.io/exempt": "all"}))
    cfg = config(allow_annotation_exemptions=False)
    assert run("SEC-001", snap, cfg)["shop/web"].status is Status.FAILING
    (entry,) = cfg.exemptions.audit(snap)
    assert entry["status"] == "disallowed" and entry["object"] == "Deployment/shop/web"


def test_annotation_grants_read_cronjob_templates() -> None:
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "shop"},
        "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"annotations": {"kwa.io/exempt": "SEC-003"}}}}}},
    }
    (grant,) = annotation_grants(K8sObject(cron))
    assert grant.where == "pod template" and grant.checks.covers("SEC-003") and not grant.checks.covers("SEC-001")


# ---- config rules -------------------------------------------------------------------------------

def test_config_rule_by_namespace_and_name_globs() -> None:
    snap = snap_of(deployment("batch-1", "legacy-a"), deployment("web", "legacy-b"), deployment("batch-2", "shop"))
    cfg = config(exemptions=[{"name": "legacy batch", "namespaces": ["legacy-*"], "names": ["batch-*"],
                              "checks": ["SEC-001"], "reason": "migrating", "until": NEXT_YEAR}])
    results = run("SEC-001", snap, cfg)
    r = results["legacy-a/batch-1"]
    assert (r.status, r.reason) == (Status.SKIPPED, "exempt:config")
    assert "config exemption 'legacy batch'" in r.message and "migrating" in r.message
    assert results["legacy-b/web"].status is Status.FAILING
    assert results["shop/batch-2"].status is Status.FAILING


def test_config_rule_by_kind_is_case_insensitive() -> None:
    snap = snap_of(deployment("a"), deployment("b", kind="StatefulSet"))
    results = run("SEC-001", snap, config(exemptions=[{"kinds": ["statefulset"], "checks": ["security"]}]))
    assert results["shop/b"].reason == "exempt:config" and results["shop/a"].status is Status.FAILING


def test_config_rule_by_label_selector() -> None:
    snap = snap_of(
        deployment("a", labels={"tier": "infra", "team": "platform"}),
        deployment("b", labels={"tier": "infra", "team": "payments"}),
        deployment("c", labels={"tier": "web"}),
    )
    rule = {
        "selector": {
            "matchLabels": {"tier": "infra"},
            "matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["payments"]}],
        },
        "checks": "SEC-001",
    }
    results = run("SEC-001", snap, config(exemptions=[rule]))
    assert results["shop/a"].reason == "exempt:config"
    assert results["shop/b"].status is Status.FAILING and results["shop/c"].status is Status.FAILING


def test_container_rule_only_exempts_results_about_that_container() -> None:
    sidecar = {"name": "istio-proxy", "image": "istio/proxyv2:1.20", "securityContext": {"privileged": True}}
    app = {"name": "app", "image": "app:1", "securityContext": {"privileged": True}}
    clean = {"name": "app", "image": "app:1"}
    snap = snap_of(deployment("mesh-only", containers=[clean, sidecar]), deployment("both", containers=[app, sidecar]))
    cfg = config(exemptions=[{"containers": ["istio-*"], "checks": ["SEC-001"], "reason": "mesh sidecar"}])
    results = run("SEC-001", snap, cfg)
    assert results["shop/mesh-only"].reason == "exempt:config"
    # The app container is privileged too: exempting the sidecar must not hide it.
    assert results["shop/both"].status is Status.FAILING


def test_container_rule_does_not_exempt_object_level_results() -> None:
    snap = snap_of(deployment(containers=[{"name": "app", "image": "app:1"}]))
    cfg = config(exemptions=[{"containers": ["app"], "checks": "all"}])
    # REL-005 (single replica) is about the object, not a container.
    assert run("REL-005", snap, cfg)["shop/web"].status is Status.WARNING


def test_namespace_rule_covers_the_namespace_object_itself() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "legacy"}}
    snap = snap_of(ns, deployment("web", "legacy"))
    results = run("COST-009", snap, config(exemptions=[{"namespaces": ["legacy"], "checks": ["cost"]}]))
    assert results["None/legacy"].reason == "exempt:config"


def test_expired_config_rule_does_not_apply_and_is_audited() -> None:
    snap = snap_of(deployment())
    cfg = config(exemptions=[{"name": "old", "namespaces": "shop", "checks": "all", "until": YESTERDAY}])
    assert run("SEC-001", snap, cfg)["shop/web"].status is Status.FAILING
    (entry,) = cfg.exemptions.audit(snap)
    assert (entry["status"], entry["name"], entry["until"], entry["objects"]) == ("expired", "old", YESTERDAY, 1)


def test_audit_lists_unmatched_config_rules_and_counts_results() -> None:
    snap = snap_of(deployment("web"), deployment("api"))
    cfg = config(exemptions=[
        {"name": "typo", "namespaces": ["shpo"], "checks": "all"},
        {"name": "used", "names": ["web"], "checks": ["SEC-001"]},
        {"name": "idle", "names": ["api"], "checks": ["SEC-031"]},
    ])
    audit = {a["name"]: a for a in cfg.exemptions.audit(snap)}
    assert audit["typo"]["status"] == "unmatched" and audit["typo"]["objects"] == 0
    assert set(audit) == {"typo"}  # without results, a rule that selects objects is fine
    results = evaluate(load_all().by_id("SEC-001"), snap, cfg)
    audit = {a["name"]: a for a in cfg.exemptions.audit(snap, results)}
    assert audit["idle"]["status"] == "unmatched" and "exempted no result" in audit["idle"]["message"]
    assert "used" not in audit
    active = {a["name"]: a for a in cfg.exemptions.audit(snap, results, include_active=True)}
    assert active["used"]["status"] == "active" and active["used"]["results"] == 1


def test_rule_checks_all_except() -> None:
    snap = snap_of(deployment())
    cfg = config(exemptions=[{"namespaces": ["shop"], "checks": "all", "except": ["SEC-001", "reliability"]}])
    assert run("SEC-001", snap, cfg)["shop/web"].status is Status.FAILING
    assert run("REL-005", snap, cfg)["shop/web"].status is Status.WARNING
    assert run("SEC-002", snap, cfg)["shop/web"].reason == "exempt:config"


def test_errors_and_skips_are_never_exempted() -> None:
    ex = Exemptions(Config.from_dict({"exemptions": [{"checks": "all"}]}).exemption_rules)
    snap = snap_of(deployment())
    check = load_all().by_id("SEC-001")
    kept = [
        Result(Status.ERROR, "boom", kind="Deployment", namespace="shop", name="web"),
        Result(Status.TIMEOUT, "slow", kind="Deployment", namespace="shop", name="web"),
        Result(Status.SKIPPED, "n/a", kind="Deployment", namespace="shop", name="web", reason="not-applicable"),
        Result(Status.FAILING, "check-level row"),
    ]
    assert ex.apply(check, snap, kept) == kept


# ---- shipped defaults ---------------------------------------------------------------------------

KUBE_PROXY = deployment(
    "kube-proxy",
    "kube-system",
    kind="DaemonSet",
    containers=[{"name": "kube-proxy", "image": "registry.k8s.io/kube-proxy:v1.31.0",
                 "securityContext": {"privileged": True}}],
)
TOOLBOX = deployment("toolbox", "kube-system")


def test_system_namespace_default_exempts_privileged_daemonset() -> None:
    r = run("SEC-001", snap_of(KUBE_PROXY))["kube-system/kube-proxy"]
    assert (r.status, r.reason) == (Status.SKIPPED, "exempt:system-namespace")
    assert "system-namespaces" in r.message and "was failing" in r.message


def test_system_namespace_default_keeps_checks_about_system_namespaces() -> None:
    # OPS-002 exists to flag user workloads in kube-system; exempting it would silence it.
    assert run("OPS-002", snap_of(TOOLBOX))["kube-system/toolbox"].status is Status.WARNING


def test_defaults_can_be_switched_off_wholesale_or_by_name() -> None:
    snap = snap_of(KUBE_PROXY)
    assert run("SEC-001", snap, config(default_exemptions=False))["kube-system/kube-proxy"].status is Status.FAILING
    # Without the namespace-wide entry, the per-component entry (Polaris-style) still applies.
    r = run("SEC-001", snap, config(default_exemptions={"disable": ["system-namespaces"]}))["kube-system/kube-proxy"]
    assert (r.reason, r.details["exemption"]["name"]) == ("exempt:default", "control-plane")
    off = config(default_exemptions={"disable": ["system-namespaces", "control-plane"]})
    assert run("SEC-001", snap, off)["kube-system/kube-proxy"].status is Status.FAILING


def test_defaults_can_keep_chosen_checks() -> None:
    cfg = config(default_exemptions={"except": ["SEC-001"]})
    snap = snap_of(KUBE_PROXY)
    assert run("SEC-001", snap, cfg)["kube-system/kube-proxy"].status is Status.FAILING
    assert run("SEC-002", snap, cfg)["kube-system/kube-proxy"].reason == "exempt:system-namespace"


def test_system_namespaces_setting_drives_the_default_exemption() -> None:
    snap = snap_of(deployment("agent", "platform-system"))
    cfg = config(thresholds={"system_namespaces": ["kube-system", "platform-*"]})
    assert run("SEC-001", snap, cfg)["platform-system/agent"].reason == "exempt:system-namespace"
    none = config(thresholds={"system_namespaces": []})
    assert run("SEC-001", snap_of(KUBE_PROXY), none)["kube-system/kube-proxy"].reason == "exempt:default"


def test_config_rule_wins_over_defaults_in_the_message() -> None:
    cfg = config(exemptions=[{"name": "ours", "namespaces": ["kube-system"], "checks": ["SEC-001"], "reason": "ok"}])
    assert run("SEC-001", snap_of(KUBE_PROXY), cfg)["kube-system/kube-proxy"].reason == "exempt:config"


def test_default_rules_are_visible_and_valid() -> None:
    rules = default_rules()
    names = [r.name for r in rules]
    assert names[0] == "system-namespaces" and len(names) == len(set(names))
    system = rules[0]
    assert system.source == SOURCE_SYSTEM_NAMESPACE
    assert set(system.namespaces) == {"kube-system", "kube-public", "kube-node-lease"}
    known = {c.id for c in load_all().all()}
    for rule in rules:
        assert rule.reason != "no reason given", rule.name
        assert rule.checks.ids <= known and rule.checks.except_ids <= known, rule.name
        described = rule.describe()
        assert described["name"] == rule.name and described["checks"]
    assert DEFAULTS_FILE.name == "default-exemptions.yaml"
    shown = Config().describe()["exemptions"]
    assert [e["name"] for e in shown] == names


def test_kube_system_fixture_file_is_exempted(tmp_path: Path) -> None:
    path = tmp_path / "kube-system.yaml"
    path.write_text(
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: cilium, namespace: kube-system}\n"
        "spec:\n  selector: {matchLabels: {k8s-app: cilium}}\n  template:\n"
        "    metadata: {labels: {k8s-app: cilium}}\n    spec:\n      hostNetwork: true\n"
        "      containers:\n        - name: agent\n          image: quay.io/cilium/cilium:v1.16.0\n"
        "          securityContext: {privileged: true}\n"
    )
    r = run("SEC-001", load_manifests([str(path)]))["kube-system/cilium"]
    assert r.reason == "exempt:system-namespace" and r.source == f"{path}#0"


# ---- real inputs: nothing raises, exemptions stay cheap -----------------------------------------

def _evaluate_all(snap: Snapshot, cfg: Config) -> list[Result]:
    out = []
    for check in load_all().all():
        out.extend(evaluate(check, snap, cfg))
    return out


def test_every_check_over_the_demo_with_default_config() -> None:
    snap = load_demo().prepare()
    cfg = Config()
    results = _evaluate_all(snap, cfg)
    exempt = [r for r in results if (r.reason or "").startswith("exempt:system-namespace")]
    assert exempt and all(r.namespace in ("kube-system", "kube-public", "kube-node-lease") or r.kind == "Namespace"
                          for r in exempt)
    assert not any(r.status is Status.ERROR and "exempt" in r.message for r in results)
    assert isinstance(cfg.exemptions.audit(snap, results), list)


def test_every_check_over_the_corpus_with_default_config(corpus: Path) -> None:
    cfg = Config()
    for directory in sorted(p for p in corpus.iterdir() if p.is_dir()):
        snap = load_manifests([str(directory)]).prepare()
        results = _evaluate_all(snap, cfg)
        assert results, directory.name
        cfg.exemptions.audit(snap, results)


def test_exemptions_resolve_each_object_once_on_a_large_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    base = load_demo()
    objects = []
    for i in range(20):  # ~5k objects: the demo copied into 20 sets of namespaces
        for o in base.objects:
            raw = copy.deepcopy(o.raw)
            if o.namespace and o.namespace != "kube-system":
                raw["metadata"]["namespace"] = f"{o.namespace}-{i}"
            objects.append(K8sObject(raw, o.source, o.index))
    snap = Snapshot(objects=objects, mode="manifest").prepare()
    rules = [{"namespaces": [f"payments-{i}"], "names": ["*-api"], "checks": "all"} for i in range(20)]
    cfg = Config.from_dict({"exemptions": rules})
    calls = 0
    resolve = Exemptions._resolve

    def counting(self: Exemptions, *args: Any) -> Any:
        nonlocal calls
        calls += 1
        return resolve(self, *args)

    monkeypatch.setattr(Exemptions, "_resolve", counting)
    raw_results = []
    plain = Config.from_dict({"default_exemptions": False, "allow_annotation_exemptions": False})
    for check_id in ("SEC-001", "SEC-003", "REL-001", "PERF-001", "OPS-003", "COST-011"):
        check = load_all().by_id(check_id)
        raw_results.append((check, evaluate(check, snap, plain)))
    calls = 0
    start = time.perf_counter()
    applied = [cfg.exemptions.apply(check, snap, results) for check, results in raw_results]
    elapsed = time.perf_counter() - start
    subjects = {(r.kind, r.namespace, r.name) for _, results in raw_results for r in results if r.kind}
    assert calls == len(subjects)  # memoised: one resolution per object, however many checks
    assert sum(len(a) for a in applied) == sum(len(r) for _, r in raw_results) > 2000  # nothing dropped
    assert any(r.reason == "exempt:config" for a in applied for r in a)
    assert elapsed < 2.0, f"applying exemptions to {sum(len(a) for a in applied)} results took {elapsed:.2f}s"


def test_config_error_for_shipped_name_typo_lists_shipped_names() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict({"default_exemptions": {"disable": ["kubeproxy"]}})
    assert "system-namespaces" in str(info.value) and "control-plane" in str(info.value)


def test_candidate_rules_are_the_rules_whose_kind_and_namespace_select_the_place() -> None:
    """The per-kind, then per-namespace filtering picks exactly what ``selects_place`` picks."""
    config = Config.from_dict(
        {
            "exemptions": [
                {"checks": "all", "kinds": ["Pod", "Deploy*"], "namespaces": ["team-*"]},
                {"checks": "all", "kinds": ["pod"]},
                {"checks": "all", "namespaces": ["kube-system", "team-a"], "names": ["api-*"]},
                {"checks": "all", "names": ["web"], "until": "2000-01-01"},
                {"checks": "all"},
            ]
        }
    )
    rules = [*config.exemption_rules, *default_rules()]
    ex = Exemptions(rules)
    today = ex.today
    for kind in ("Pod", "Deployment", "Service", "Namespace", "ConfigMap"):
        for place in (None, "team-a", "team-b", "kube-system", "default"):
            plain = tuple(r for r in rules if not r.expired(today) and r.selects_place(kind, place))
            assert ex._candidates(kind, place, today).rules == plain


def test_applying_to_a_prepared_snapshot_grants_what_resolving_each_result_grants() -> None:
    """``apply`` reads a prepared snapshot's answers from its cache; the verdicts must be the
    ones resolving every result afresh gives, and a second snapshot must not see the first's."""
    sidecar = {"name": "istio-proxy", "image": "istio/proxyv2:1.20", "securityContext": {"privileged": True}}
    app = {"name": "app", "image": "app:1", "securityContext": {"privileged": True}}
    rules = [
        {"containers": ["istio-*"], "checks": ["SEC-001"], "reason": "mesh sidecar"},
        {"names": ["legacy"], "checks": "all", "reason": "retired next quarter"},
    ]
    check = load_all().by_id("SEC-001")
    plain = Config.from_dict({"default_exemptions": False, "allow_annotation_exemptions": False})

    def verdicts(snap: Snapshot, cfg: Config) -> list[tuple[str | None, str, str | None]]:
        applied = cfg.exemptions.apply(check, snap, evaluate(check, snap, plain))
        return [(r.name, r.status.value, r.reason) for r in applied]

    def snapshot() -> Snapshot:
        return snap_of(
            deployment("mesh-only", containers=[{"name": "app", "image": "app:1"}, sidecar]),
            deployment("both", containers=[app, sidecar]),
            deployment("legacy", containers=[app]),
        )

    fresh = verdicts(snapshot(), config(exemptions=rules))
    first, second = snapshot(), snapshot()
    cfg = config(exemptions=rules)
    cfg.exemptions.prepare(first)
    assert verdicts(first, cfg) == fresh
    assert verdicts(second, cfg) == fresh  # not prepared: resolved as it goes, not the first's answers
    assert dict((name, reason) for name, _, reason in fresh) == {
        "mesh-only": "exempt:config",
        "both": None,
        "legacy": "exempt:config",
    }


def test_audit_counts_each_rules_objects_as_matching_every_object_would() -> None:
    """The audit counts the objects each rule selects from the grants the run resolved (one pass),
    not by matching every rule against every object (100 rules x 10,000 objects: 2 s); the counts
    must be the plain ones, for expired rules, label selectors, Namespaces and duplicates too."""
    base = load_demo()
    objects = []
    for i in range(6):
        for o in base.objects:
            raw = copy.deepcopy(o.raw)
            if o.namespace and o.namespace != "kube-system":
                raw["metadata"]["namespace"] = f"{o.namespace}-{i}"
            if o.kind == "Namespace" and o.name != "kube-system":
                raw["metadata"]["name"] = f"{o.name}-{i}"
            objects.append(K8sObject(raw, o.source, o.index))
    objects.append(K8sObject(copy.deepcopy(objects[3].raw), "again.yaml", 0))  # the same object twice
    snap = Snapshot(objects=objects, mode="manifest").prepare()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    rules = [
        {"namespaces": ["payments-1"], "checks": "all", "reason": "r"},
        {"namespaces": ["payments-*"], "names": ["*-api"], "checks": ["SEC-001"], "reason": "r"},
        {"kinds": ["Namespace"], "names": ["payments-2"], "checks": "all", "reason": "r"},
        {"kinds": ["Deployment"], "selector": {"matchLabels": {"app": "payments-api"}}, "checks": "all", "reason": "r"},
        {"namespaces": ["payments-3"], "checks": "all", "reason": "r", "until": yesterday},
        {"names": ["no-such-object"], "checks": "all", "reason": "r"},
        {"kinds": ["*"], "checks": ["SEC-001"], "reason": "everything"},
    ]
    cfg = Config.from_dict({"exemptions": rules})
    cfg.exemptions.prepare(snap)
    audit = cfg.exemptions.audit(snap, [], include_active=True)
    today = cfg.exemptions.today
    for rule in cfg.exemptions.rules:
        if rule.source != "config":
            continue
        plain = sum(1 for o in snap.objects if rule.matches(o.kind, o.namespace, o.name, o.labels))
        (entry,) = [e for e in audit if e["source"] == "config" and e["name"] == rule.name]
        assert entry["objects"] == plain, (rule.name, entry)
        assert (entry["status"] == "expired") == rule.expired(today)
    assert {e["objects"] for e in audit if e["source"] == "config"} >= {0, len(snap.objects)}


def test_auditing_many_rules_over_many_objects_is_one_pass() -> None:
    snap = _large_demo(40)
    rules = [{"namespaces": [f"payments-{i}"], "names": ["*-api", "web*"], "checks": "all", "reason": "r"}
             for i in range(80)]  # fmt: skip
    cfg = Config.from_dict({"exemptions": rules})
    cfg.exemptions.prepare(snap)
    started = time.perf_counter()
    audit = cfg.exemptions.audit(snap, [])
    elapsed = time.perf_counter() - started
    # Given no results, every rule is listed: 40 select no object, 40 select some but exempted nothing.
    assert len(audit) == 80 and elapsed < 0.3, f"{elapsed:.2f}s"
    assert sum(1 for e in audit if e["objects"] == 0) == 40


def _large_demo(copies: int) -> Snapshot:
    """The demo cluster ``copies`` times over, every object's namespace (or a cluster-scoped
    object's name) suffixed with its copy's number: no two objects alike."""
    base = load_demo()
    objects = []
    for i in range(copies):
        for o in base.objects:
            raw = copy.deepcopy(o.raw)
            if o.namespace:
                raw["metadata"]["namespace"] = f"{o.namespace}-{i}"
            else:
                raw["metadata"]["name"] = f"{o.name}-{i}"
            objects.append(K8sObject(raw, o.source, o.index))
    return Snapshot(objects=objects, mode="manifest").prepare()
