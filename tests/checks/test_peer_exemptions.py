"""The peers' suppression annotations (Polaris, kube-score, kube-linter, Checkov) as kwa exemptions.

Expectations are derived from the checks' ``peers:`` metadata, never listed by hand: a peer
annotation must exempt exactly the kwa checks that map its rule id, and leave every other result
as it was without the annotation.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from checks.config import Config, ConfigError
from checks.model import Result, Status
from checks.peer_exemptions import (
    NO_REASON,
    PEER_SOURCES,
    PeerIndex,
    annotation_maps,
    peer_annotations,
)
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import K8sObject, Snapshot
from checks.sources.manifests import load_manifests

EXEMPTIBLE = {Status.PASSING, Status.FAILING, Status.WARNING}


def workload(
    name: str = "web",
    *,
    annotations: dict[Any, Any] | None = None,
    template_annotations: dict[Any, Any] | None = None,
    kind: str = "Deployment",
) -> dict[str, Any]:
    """A workload with a privileged container on a mutable tag, no probes and no resources: many
    checks of every peer's mapping fail or warn on it."""
    container = {"name": "app", "image": "app:latest", "securityContext": {"privileged": True}}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations or {}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": template_annotations or {}},
                "spec": {"containers": [container]},
            },
        },
    }


def snap_of(*raws: dict[str, Any]) -> Snapshot:
    return Snapshot(objects=[K8sObject(copy.deepcopy(r), "inline.yaml", i) for i, r in enumerate(raws)])


def verdicts(snap: Snapshot, config: Config, name: str = "web") -> dict[str, Result]:
    """Each check's result about the workload ``name`` (one per check on this input)."""
    out: dict[str, Result] = {}
    for check in load_all().all():
        for r in evaluate(check, snap, config):
            if r.kind == "Deployment" and r.name == name:
                out[check.id] = r
    return out


def mapped(peer: str, rule: str) -> set[str]:
    """The kwa checks whose metadata lists ``rule`` for ``peer``."""
    return {c.id for c in load_all().all() if rule in c.peers.get(peer, ())}


def every_mapped(peer: str) -> set[str]:
    return {c.id for c in load_all().all() if c.peers.get(peer)}


def plain() -> Config:
    return Config.from_dict({"peer_exemptions": False, "default_exemptions": False})


def config(**data: Any) -> Config:
    return Config.from_dict({"default_exemptions": False, **data})


def assert_exempts_exactly(
    annotations: dict[str, Any], peer: str, expected: set[str], **where: Any
) -> dict[str, Result]:
    """With ``annotations`` (on the object, or ``template=True``), the checks in ``expected`` that
    judged the workload are ``skipped exempt:<peer>``; every other result is what it was without."""
    on_template = where.get("template", False)
    raw = workload(**({"template_annotations": annotations} if on_template else {"annotations": annotations}))
    extra = where.get("config", {})
    before = verdicts(snap_of(raw), config(**extra, peer_exemptions=False))
    after = verdicts(snap_of(raw), config(**extra))
    assert before.keys() == after.keys()
    judged = {cid for cid, r in before.items() if r.status in EXEMPTIBLE}
    assert judged & expected, "the fixture must give the mapped checks something to exempt"
    for cid, r in after.items():
        if cid in expected and cid in judged:
            assert r.status is Status.SKIPPED and r.reason == f"exempt:{peer}", (cid, r.status, r.reason)
            info = r.details["exemption"]
            assert info["source"] == peer and info["original_status"] == before[cid].status.value
            assert info["original_message"] == before[cid].message
            assert ("pod template" if on_template else "metadata") in info["name"]
        else:
            assert (r.status, r.reason, r.message) == (before[cid].status, before[cid].reason, before[cid].message), cid
    return after


# ---- each peer ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
def test_polaris_check_exempt_annotation(value: Any) -> None:
    after = assert_exempts_exactly(
        {"polaris.fairwinds.com/runAsPrivileged-exempt": value}, "polaris", mapped("polaris", "runAsPrivileged")
    )
    sec001 = after["SEC-001"]
    assert "polaris.fairwinds.com/runAsPrivileged-exempt" in sec001.message and "was failing" in sec001.message
    assert sec001.details["exemption"]["peer_rules"] == ["runAsPrivileged"]


def test_polaris_exempt_covers_every_polaris_mapped_check() -> None:
    assert_exempts_exactly({"polaris.fairwinds.com/exempt": "true"}, "polaris", every_mapped("polaris"))


@pytest.mark.parametrize("value", ["false", "False", "yes", "1", ""])
def test_polaris_values_other_than_true_exempt_nothing(value: Any) -> None:
    raw = workload(
        annotations={"polaris.fairwinds.com/exempt": value, "polaris.fairwinds.com/runAsPrivileged-exempt": value}
    )
    assert verdicts(snap_of(raw), config()) == verdicts(snap_of(raw), plain())
    audit = config().exemptions.audit(snap_of(raw))
    if value.lower() == "false":
        assert audit == []  # "false" says "not exempt": nothing to look at
    else:
        assert {a["status"] for a in audit} == {"invalid"} and len(audit) == 2
        assert all("Polaris honours only 'true'" in a["message"] for a in audit)


def test_polaris_other_annotations_are_not_exemptions() -> None:
    raw = workload(annotations={"polaris.fairwinds.com/owner": "true", "polaris.fairwinds.com/-exempt": "true"})
    assert peer_annotations(annotation_maps(snap_of(raw).objects[0]), PeerIndex(load_all().all())) == []


def test_kube_score_ignore_list_with_spaces_and_implied_test() -> None:
    expected = mapped("kube-score", "container-resources") | mapped("kube-score", "pod-probes")
    # kube-score: ignoring container-resources ignores the ephemeral-storage test too (PERF-006, opt-in).
    expected |= mapped("kube-score", "container-ephemeral-storage-request-and-limit")
    ephemeral = mapped("kube-score", "container-ephemeral-storage-request-and-limit")
    after = assert_exempts_exactly(
        {"kube-score/ignore": " container-resources ,pod-probes"},
        "kube-score",
        expected,
        config={"enabled": sorted(ephemeral)},
    )
    assert all(after[c].reason == "exempt:kube-score" for c in ephemeral if c in after)
    assert after["REL-001"].details["exemption"]["peer_rules"] == ["pod-probes"]


def test_kube_score_star_covers_every_kube_score_mapped_check() -> None:
    assert_exempts_exactly({"kube-score/ignore": "*"}, "kube-score", every_mapped("kube-score"))


def test_kube_score_ids_are_case_sensitive_as_in_kube_score() -> None:
    raw = workload(annotations={"kube-score/ignore": "Container-Resources"})
    assert verdicts(snap_of(raw), config()) == verdicts(snap_of(raw), plain())
    [entry] = config().exemptions.audit(snap_of(raw))
    assert entry["status"] == "unmapped" and entry["rule"] == "Container-Resources"


def test_kube_linter_ignore_check_with_reason() -> None:
    after = assert_exempts_exactly(
        {"ignore-check.kube-linter.io/privileged-container": "GPU driver installer (SEC-REVIEW-42)"},
        "kube-linter",
        mapped("kube-linter", "privileged-container"),
    )
    assert "GPU driver installer (SEC-REVIEW-42)" in after["SEC-001"].message
    assert after["SEC-001"].details["exemption"]["reason"] == "GPU driver installer (SEC-REVIEW-42)"


def test_kube_linter_empty_reason_and_ignore_all() -> None:
    after = assert_exempts_exactly(
        {"ignore-check.kube-linter.io/latest-tag": ""}, "kube-linter", mapped("kube-linter", "latest-tag")
    )
    assert after["REL-004"].details["exemption"]["reason"] == NO_REASON
    assert_exempts_exactly({"kube-linter.io/ignore-all": "vendor chart"}, "kube-linter", every_mapped("kube-linter"))


def test_checkov_skip_with_and_without_comment() -> None:
    annotations = {
        "checkov.io/skip1": "CKV_K8S_16=needs the host's devices",
        "checkov.io/skip7": "CKV_K8S_14",
        "bridgecrew.io/skip2": " CKV_K8S_9 = probes come from the sidecar",
    }
    expected = mapped("checkov", "CKV_K8S_16") | mapped("checkov", "CKV_K8S_14") | mapped("checkov", "CKV_K8S_9")
    after = assert_exempts_exactly(annotations, "checkov", expected)
    assert "needs the host's devices" in after["SEC-001"].message
    assert after["REL-004"].details["exemption"]["reason"] == NO_REASON
    assert after["REL-001"].details["exemption"]["reason"] == "probes come from the sidecar"


@pytest.mark.parametrize(
    "value", ["", "=only a reason", "CKV_K8S_16,CKV_K8S_20", "CKV K8S 16", "CKV_K8S_16 CKV_K8S_20=x"]
)
def test_checkov_malformed_values_exempt_nothing_and_are_listed(value: Any) -> None:
    raw = workload(annotations={"checkov.io/skip1": value})
    assert verdicts(snap_of(raw), config()) == verdicts(snap_of(raw), plain())
    [entry] = config().exemptions.audit(snap_of(raw))
    assert entry["status"] == "invalid" and entry["object"] == "Deployment/shop/web"
    assert entry["name"] == "checkov.io/skip1 (metadata)" and "not applied" in entry["message"]


def test_unmapped_peer_ids_exempt_nothing_and_the_audit_says_so() -> None:
    raw = workload(annotations={"checkov.io/skip1": "CKV_K8S_999=not a kwa check", "kube-score/ignore": "no-such-test"})
    assert verdicts(snap_of(raw), config()) == verdicts(snap_of(raw), plain())
    audit = {a["name"]: a for a in config().exemptions.audit(snap_of(raw))}
    assert set(audit) == {"checkov.io/skip: CKV_K8S_999", "kube-score/ignore: no-such-test"}
    assert all(a["status"] == "unmapped" and "exempts nothing" in a["message"] for a in audit.values())


# ---- placement, switches, precedence ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "annotations", "rule"),
    [
        ("polaris", {"polaris.fairwinds.com/runAsPrivileged-exempt": "true"}, "runAsPrivileged"),
        ("kube-score", {"kube-score/ignore": "container-image-tag"}, "container-image-tag"),
        ("kube-linter", {"ignore-check.kube-linter.io/no-liveness-probe": "batch"}, "no-liveness-probe"),
        ("checkov", {"checkov.io/skip3": "CKV_K8S_13=bursty"}, "CKV_K8S_13"),
    ],
)
def test_each_peer_annotation_on_the_pod_template(peer: str, annotations: dict[str, str], rule: str) -> None:
    assert_exempts_exactly(annotations, peer, mapped(peer, rule), template=True)


def test_a_pod_reads_only_its_own_annotations() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "shop", "annotations": {"kube-score/ignore": "pod-probes"}},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
    }
    [found] = peer_annotations(annotation_maps(snap_of(pod).objects[0]), PeerIndex(load_all().all()))
    assert found.where == "metadata" and found.checks == frozenset(mapped("kube-score", "pod-probes"))


ALL_PEERS = {
    "polaris.fairwinds.com/exempt": "true",
    "kube-score/ignore": "*",
    "kube-linter.io/ignore-all": "legacy",
    "checkov.io/skip1": "CKV_K8S_16",
}


@pytest.mark.parametrize("switch", [{"peer_exemptions": False}, {"allow_annotation_exemptions": False}])
def test_one_switch_turns_every_peer_off_and_the_audit_says_so(switch: dict[str, bool]) -> None:
    raw = workload(annotations=ALL_PEERS)
    after = verdicts(snap_of(raw), config(**switch))
    assert after == verdicts(snap_of(raw), plain())
    assert not any(r.reason and r.reason.startswith("exempt:") for r in after.values())
    audit = [a for a in config(**switch).exemptions.audit(snap_of(raw)) if a["source"] in PEER_SOURCES]
    assert {a["source"] for a in audit} == set(PEER_SOURCES)
    assert {a["status"] for a in audit} == {"disallowed"}
    assert all(next(iter(switch)) in a["message"] for a in audit)


def test_peer_exemptions_is_on_by_default_and_validated() -> None:
    assert Config().peer_exemptions is True and Config.from_dict({}).describe()["peer_exemptions"] is True
    assert Config.from_dict({"peer_exemptions": False}).describe()["peer_exemptions"] is False
    with pytest.raises(ConfigError, match="peer_exemptions: expected true or false, got 'no'"):
        Config.from_dict({"peer_exemptions": "no"})


def test_kwa_annotation_comes_first_and_non_verdicts_are_never_exempted() -> None:
    raw = workload(annotations={**ALL_PEERS, "kwa.io/exempt": "SEC-001", "kwa.io/exempt-reason": "reviewed"})
    after = verdicts(snap_of(raw), config())
    assert after["SEC-001"].reason == "exempt:annotation"
    check = load_all().by_id("SEC-001")
    kept = [
        Result(Status.ERROR, "boom", kind="Deployment", namespace="shop", name="web"),
        Result(Status.SKIPPED, "n/a", kind="Deployment", namespace="shop", name="web", reason="not-applicable"),
    ]
    assert config().exemptions.apply(check, snap_of(raw), kept) == kept


def test_odd_annotation_shapes_never_crash() -> None:
    # The input boundary quarantines objects whose annotations are not a mapping of strings (and
    # drops null values), so a snapshot never holds these; the reader must not trust it anyway.
    index = PeerIndex(load_all().all())
    odd: dict[Any, Any] = {
        1: "x",
        "kube-score/ignore": {"a": 1},
        "polaris.fairwinds.com/exempt": ["true"],
        "polaris.fairwinds.com/runAsPrivileged-exempt": None,
        "checkov.io/skip1": 16,
        "kube-linter.io/ignore-all": None,
    }
    raw = workload(annotations=odd)
    raw["spec"]["template"]["metadata"]["annotations"] = ["not", "a", "mapping"]
    found = peer_annotations(annotation_maps(K8sObject(raw, "inline.yaml", 0)), index)
    by_key = {p.key: p for p in found}
    assert set(by_key) == {k for k in odd if isinstance(k, str)}
    assert [k for k, p in by_key.items() if not p.problem] == ["kube-linter.io/ignore-all"]  # any value is a reason
    assert all(not p.checks for p in found if p.problem)


def test_empty_names_and_lists_are_invalid_not_crashes() -> None:
    raw = workload(annotations={"ignore-check.kube-linter.io/": "no name", "kube-score/ignore": " , "})
    snap = snap_of(raw)
    assert verdicts(snap, config()) == verdicts(snap, plain())
    audit = config().exemptions.audit(snap)
    assert len(audit) == 2 and {a["status"] for a in audit} == {"invalid"}


# ---- the audit ---------------------------------------------------------------------------------------


def test_audit_lists_honoured_peer_rules_once_with_objects_and_results() -> None:
    annotations = {"kube-score/ignore": "container-image-tag", "checkov.io/skip1": "CKV_K8S_14=pinned elsewhere"}
    snap = snap_of(
        workload("web", annotations=annotations, template_annotations={"kube-score/ignore": "container-image-tag"}),
        workload("api", annotations=annotations),
        workload("db"),
    )
    cfg = config()
    results = [r for check in load_all().all() for r in evaluate(check, snap, cfg)]
    audit = {a["name"]: a for a in cfg.exemptions.audit(snap, results)}
    assert set(audit) == {"kube-score/ignore: container-image-tag", "checkov.io/skip: CKV_K8S_14"}
    kube_score = audit["kube-score/ignore: container-image-tag"]
    assert kube_score["status"] == "active" and kube_score["source"] == "kube-score"
    assert kube_score["objects"] == 2  # on web's metadata and template: one object
    assert kube_score["examples"] == ["Deployment/shop/web", "Deployment/shop/api"]
    assert kube_score["checks"] == ", ".join(sorted(mapped("kube-score", "container-image-tag")))
    exempted = [r for r in results if r.reason == "exempt:kube-score"]
    assert kube_score["results"] == len(exempted) > 0
    # Both annotations map to the same check: the first one written wins, the other exempted nothing here.
    assert audit["checkov.io/skip: CKV_K8S_14"]["results"] == sum(r.reason == "exempt:checkov" for r in results)


# ---- through the manifest reader ---------------------------------------------------------------------


def test_peer_annotations_in_a_manifest_file(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(
        """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  annotations:
    polaris.fairwinds.com/runAsPrivileged-exempt: "True"
    checkov.io/skip1: CKV_K8S_14=pinned by the release process
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations:
        kube-score/ignore: pod-probes
    spec:
      containers:
        - name: app
          image: app:latest
          securityContext: {privileged: true}
"""
    )
    snap = load_manifests([str(path)])
    judged = {cid for cid, r in verdicts(snap, plain()).items() if r.status in EXEMPTIBLE}
    after = verdicts(snap, config())
    by_reason = {cid: r.reason for cid, r in after.items() if r.reason and r.reason.startswith("exempt:")}
    expected = {c: "exempt:polaris" for c in mapped("polaris", "runAsPrivileged")}
    expected |= {c: "exempt:checkov" for c in mapped("checkov", "CKV_K8S_14") if c not in expected}
    expected |= {c: "exempt:kube-score" for c in mapped("kube-score", "pod-probes") if c not in expected}
    assert by_reason == {c: reason for c, reason in expected.items() if c in judged}
    assert {"SEC-001", "REL-004", "REL-001"} <= set(by_reason)


def test_the_documented_example_maps_as_documented() -> None:
    # docs/configuration.md's example says, for each annotation, which checks it exempts and as what.
    text = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text()
    block = text.split("### Peers' annotations", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    index = PeerIndex(load_all().all())
    lines = [line for line in block.splitlines() if "# →" in line]
    assert len(lines) == 4
    for line in lines:
        code, claim = line.split("# →")
        key, value = (part.strip() for part in code.split(": ", 1))
        *ids, reason = (part.strip() for part in claim.split(","))
        [found] = peer_annotations([("metadata", {key: value.strip('"')})], index)
        assert found.checks == frozenset(ids) and reason == f"exempt:{found.peer}", line
