"""Every check's verdicts on a list of raw objects: what ingest changes (slimming, sharing) must not."""

from __future__ import annotations

from checks.config import Config
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import K8sObject, Snapshot


def all_verdicts(objects: list[dict]) -> dict[str, list[tuple]]:
    """``check id -> sorted (status, kind, namespace, name, message)`` of every check on ``objects``."""
    snapshot = Snapshot(objects=[K8sObject(o, "dump.json", i) for i, o in enumerate(objects)], mode="live").prepare()
    config = Config()
    config.exemptions.prepare(snapshot)
    out = {}
    for check in load_all().all():
        results = evaluate(check, snapshot, config)
        out[check.id] = sorted(
            (r.status.value, r.kind or "", r.namespace or "", r.name or "", r.message or "") for r in results
        )
    return out
