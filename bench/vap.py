"""What auditing one admission policy costs: a policy over 10,000 Deployments in 100 namespaces
(its binding selects half of the namespaces), against a built-in check over the same objects.

    python -m bench.vap [--objects 10000] [--repeat 5]      (from the repository's root)

Prints the median wall time of ``checks.runner.evaluate`` (exemptions included) for the policy's
check and for REL-001, and the verdicts each gave.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter
from typing import Any

from checks.config import Config
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import K8sObject, Snapshot
from checks.vap.source import checks_for

GROUP = "admissionregistration.k8s.io/v1"
RULES = [
    {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}
]


def objects(count: int) -> list[K8sObject]:
    policy = {
        "apiVersion": GROUP,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "replicas"},
        "spec": {
            "matchConstraints": {"resourceRules": RULES},
            "validations": [{"expression": "object.spec.replicas <= 5", "message": "too many"}],
        },
    }
    binding = {
        "apiVersion": GROUP,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "replicas"},
        "spec": {
            "policyName": "replicas",
            "validationActions": ["Deny"],
            "matchResources": {"namespaceSelector": {"matchLabels": {"env": "test"}}},
        },
    }
    out = [K8sObject(policy), K8sObject(binding)]
    for n in range(100):
        labels = {"env": "test" if n % 2 == 0 else "prod"}
        out.append(
            K8sObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns{n}", "labels": labels}})
        )
    for i in range(count):
        name = f"d{i}"
        spec: dict[str, Any] = {
            "replicas": i % 8,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1"}]},
            },
        }
        meta = {"name": name, "namespace": f"ns{i % 100}", "labels": {"app": name}}
        out.append(K8sObject({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    registry = load_all()
    snapshot = Snapshot(objects(args.objects)).prepare()
    (policy_check,) = checks_for(snapshot)
    for check in (policy_check, registry.by_id("REL-001")):
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            results = evaluate(check, snapshot, Config())
            times.append(time.perf_counter() - started)
        verdicts = dict(Counter(r.status.value for r in results))
        print(f"{check.id}: median {statistics.median(times) * 1000:.0f} ms over {args.repeat} runs; {verdicts}")


if __name__ == "__main__":
    main()
