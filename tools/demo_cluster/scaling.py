"""PodDisruptionBudgets and HorizontalPodAutoscalers, with the status their controllers compute from
the pods already in the dump (so a scene makes them after the workload they cover).
"""

from __future__ import annotations

from .base import Gen
from .pods import pod_ready
from .podspec import labels_match
from .world import Obj, ts


class ScalingMakers(Gen):
    def pdb(
        self,
        ns: str,
        name: str,
        age: float,
        selector: dict[str, str],
        *,
        min_available: int | str | None = None,
        max_unavailable: int | str | None = None,
        unhealthy_policy: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> Obj:
        spec: Obj = {"selector": {"matchLabels": dict(selector)}}
        if min_available is not None:
            spec["minAvailable"] = min_available
        if max_unavailable is not None:
            spec["maxUnavailable"] = max_unavailable
        if unhealthy_policy:
            spec["unhealthyPodEvictionPolicy"] = unhealthy_policy
        pods = [
            p
            for p in self.pods
            if p["metadata"]["namespace"] == ns
            and p["status"].get("phase") in ("Running", "Pending")
            and labels_match(selector, p["metadata"]["labels"])
        ]
        expected = len(pods)
        healthy = sum(1 for p in pods if pod_ready(p))
        if min_available is not None:
            desired = int(min_available)
        else:
            desired = max(0, expected - int(max_unavailable or 0))
        allowed = max(0, healthy - desired) if expected else 0
        condition = {
            "lastTransitionTime": ts(age),
            "message": "",
            "observedGeneration": 1,
            "reason": "SufficientPods" if allowed else "InsufficientPods",
            "status": "True" if allowed else "False",
            "type": "DisruptionAllowed",
        }
        return self.add(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": self.meta(name, ns, created=ts(age), labels=labels, generation=1),
                "spec": spec,
                "status": {
                    "conditions": [condition],
                    "currentHealthy": healthy,
                    "desiredHealthy": desired,
                    "disruptionsAllowed": allowed,
                    "expectedPods": expected,
                    "observedGeneration": 1,
                },
            }
        )

    def hpa(
        self,
        ns: str,
        name: str,
        age: float,
        target: Obj,
        *,
        min_r: int,
        max_r: int,
        cpu: int,
        current: int | None,
        labels: dict[str, str] | None = None,
        failing: str | None = None,
    ) -> Obj:
        replicas = target["spec"]["replicas"]
        conditions = [
            {
                "lastTransitionTime": ts(age),
                "message": "recommended size matches current size",
                "reason": "ReadyForNewScale",
                "status": "True",
                "type": "AbleToScale",
            },
        ]
        if failing:
            conditions.append(
                {
                    "lastTransitionTime": ts(age),
                    "message": failing,
                    "reason": "FailedGetResourceMetric",
                    "status": "False",
                    "type": "ScalingActive",
                }
            )
        else:
            conditions.append(
                {
                    "lastTransitionTime": ts(age),
                    "message": "the HPA was able to successfully calculate a replica count "
                    "from cpu resource utilization (percentage of request)",
                    "reason": "ValidMetricFound",
                    "status": "True",
                    "type": "ScalingActive",
                }
            )
            limited = replicas <= min_r
            conditions.append(
                {
                    "lastTransitionTime": ts(age / 2),
                    "message": "the desired count is within the acceptable range"
                    if not limited
                    else "the desired replica count is less than the minimum replica count",
                    "reason": "DesiredWithinRange" if not limited else "TooFewReplicas",
                    "status": "False" if not limited else "True",
                    "type": "ScalingLimited",
                }
            )
        status: Obj = {"conditions": conditions, "currentReplicas": replicas, "desiredReplicas": replicas}
        if current is not None:
            status["currentMetrics"] = [
                {"resource": {"current": {"averageUtilization": current}, "name": "cpu"}, "type": "Resource"}
            ]
            status["lastScaleTime"] = ts(age / 3)
        else:
            status["currentMetrics"] = None
        return self.add(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": self.meta(name, ns, created=ts(age), labels=labels),
                "spec": {
                    "behavior": {
                        "scaleDown": {
                            "policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}],
                            "selectPolicy": "Max",
                            "stabilizationWindowSeconds": 300,
                        },
                        "scaleUp": {
                            "policies": [
                                {"periodSeconds": 15, "type": "Pods", "value": 4},
                                {"periodSeconds": 15, "type": "Percent", "value": 100},
                            ],
                            "selectPolicy": "Max",
                            "stabilizationWindowSeconds": 0,
                        },
                    },
                    "maxReplicas": max_r,
                    "metrics": [
                        {
                            "resource": {"name": "cpu", "target": {"averageUtilization": cpu, "type": "Utilization"}},
                            "type": "Resource",
                        }
                    ],
                    "minReplicas": min_r,
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": target["metadata"]["name"],
                    },
                },
                "status": status,
            }
        )
