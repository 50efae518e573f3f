"""Fast paths taken for large clusters give the answers of the paths they replace."""

from __future__ import annotations

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
