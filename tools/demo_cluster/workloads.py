"""Controllers with their children: a Deployment with its ReplicaSets and their pods, a DaemonSet
with one pod per node, and the status fields the controllers would have written.

(StatefulSets, CronJobs and Jobs appear once or twice each and are made inline in their scenes.)
"""

from __future__ import annotations

import copy

from .pods import PodMakers
from .podspec import default_pod_spec
from .world import Obj, ts


class WorkloadMakers(PodMakers):
    def deployment(
        self,
        ns: str,
        name: str,
        *,
        age: float,
        labels: dict[str, str],
        pod_labels: dict[str, str],
        spec: Obj,
        replicas: int,
        revisions: list[Obj],
        annotations: dict[str, str] | None = None,
        pod_annotations: dict[str, str] | None = None,
        strategy: Obj | None = None,
        history: int = 10,
        managed: list[Obj] | None = None,
        selector: dict[str, str] | None = None,
    ) -> Obj:
        """A Deployment with its ReplicaSets and their pods.

        ``revisions``: oldest first; each ``{"age", "pods": [(node, state, age, restarts, usage)],
        "spec": optional pod spec override, "replicas": RS replicas}``.
        """
        template_spec = default_pod_spec(spec)
        dep_meta = self.meta(
            name,
            ns,
            created=ts(age),
            labels=labels,
            annotations={"deployment.kubernetes.io/revision": str(len(revisions)), **(annotations or {})},
            generation=len(revisions) + (1 if managed else 0),
        )
        if managed:
            dep_meta["managedFields"] = managed
        dep: Obj = {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": dep_meta,
            "spec": {
                "progressDeadlineSeconds": 600,
                "replicas": replicas,
                "revisionHistoryLimit": history,
                "selector": {"matchLabels": dict(selector or pod_labels)},
                "strategy": strategy
                or {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
                "template": {
                    "metadata": {"creationTimestamp": None, "labels": dict(pod_labels)},
                    "spec": template_spec,
                },
            },
        }
        if pod_annotations:
            dep["spec"]["template"]["metadata"]["annotations"] = dict(pod_annotations)
        self.add(dep)
        total = ready = updated = new_ready = 0
        for number, rev in enumerate(revisions, start=1):
            rs_spec = default_pod_spec(rev["spec"]) if "spec" in rev else template_spec
            pod_hash = self.rng.choice("5678") + self.suffix(9)
            rs_labels = {**pod_labels, "pod-template-hash": pod_hash}
            rs_selector = {**(selector or pod_labels), "pod-template-hash": pod_hash}
            rs_name = f"{name}-{pod_hash}"
            pods = rev.get("pods", [])
            rs_replicas = rev.get("replicas", len(pods))
            rs_ready = sum(1 for p in pods if p[1] == "running")
            rs = self.add(
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": self.meta(
                        rs_name,
                        ns,
                        created=ts(rev["age"]),
                        labels=rs_labels,
                        annotations={
                            "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + max(1, -(-replicas // 4))),
                            "deployment.kubernetes.io/revision": str(number),
                        },
                        owner=dep,
                        generation=2 if number < len(revisions) else 1,
                    ),
                    "spec": {
                        "replicas": rs_replicas,
                        "selector": {"matchLabels": rs_selector},
                        "template": {
                            "metadata": {
                                "creationTimestamp": None,
                                "labels": dict(rs_labels),
                                **({"annotations": dict(pod_annotations)} if pod_annotations else {}),
                            },
                            "spec": rs_spec,
                        },
                    },
                    "status": _rs_status(rs_replicas, len(pods), rs_ready),
                }
            )
            for node, state, pod_age, restarts, usage in pods:
                if state != "evicted":
                    total += 1
                    ready += state == "running"
                    updated += number == len(revisions)
                    new_ready += number == len(revisions) and state == "running"
                self.pod(
                    ns,
                    f"{rs_name}-{self.suffix()}",
                    generate_name=f"{rs_name}-",
                    template_spec=rs_spec,
                    labels=rs_labels,
                    annotations=pod_annotations,
                    owner=rs,
                    node=node,
                    age=pod_age,
                    state=state,
                    restarts=restarts,
                    usage=usage,
                )
        dep["status"] = _workload_status(dep, total, ready, updated, new_ready, replicas, revisions, rs_name)
        return dep

    def daemonset(
        self,
        ns: str,
        name: str,
        *,
        age: float,
        labels: dict[str, str],
        pod_labels: dict[str, str],
        spec: Obj,
        pods: list[tuple[str, float, Obj | None]],
        annotations: dict[str, str] | None = None,
    ) -> Obj:
        template_spec = default_pod_spec(spec)
        ds = self.add(
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "metadata": self.meta(
                    name,
                    ns,
                    created=ts(age),
                    labels=labels,
                    annotations={"deprecated.daemonset.template.generation": "1", **(annotations or {})},
                    generation=1,
                ),
                "spec": {
                    "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": dict(pod_labels)},
                    "template": {
                        "metadata": {"creationTimestamp": None, "labels": dict(pod_labels)},
                        "spec": template_spec,
                    },
                    "updateStrategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"},
                },
            }
        )
        revision_hash = self.rng.choice("5678") + self.suffix(9)
        pod_labels_live = {**pod_labels, "controller-revision-hash": revision_hash, "pod-template-generation": "1"}
        for node, pod_age, usage in pods:
            pod_spec = copy.deepcopy(template_spec)
            pod_spec["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
                        ]
                    }
                }
            }
            tolerations = pod_spec.setdefault("tolerations", [])
            for key, effect in (
                ("node.kubernetes.io/not-ready", "NoExecute"),
                ("node.kubernetes.io/unreachable", "NoExecute"),
                ("node.kubernetes.io/disk-pressure", "NoSchedule"),
                ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                ("node.kubernetes.io/pid-pressure", "NoSchedule"),
                ("node.kubernetes.io/unschedulable", "NoSchedule"),
            ) + ((("node.kubernetes.io/network-unavailable", "NoSchedule"),) if pod_spec.get("hostNetwork") else ()):
                tolerations.append({"effect": effect, "key": key, "operator": "Exists"})
            self.pod(
                ns,
                f"{name}-{self.suffix()}",
                generate_name=f"{name}-",
                template_spec=pod_spec,
                labels=pod_labels_live,
                owner=ds,
                node=node,
                age=pod_age,
                usage=usage,
            )
        n = len(pods)
        ds["status"] = {
            "currentNumberScheduled": n,
            "desiredNumberScheduled": n,
            "numberAvailable": n,
            "numberMisscheduled": 0,
            "numberReady": n,
            "observedGeneration": 1,
            "updatedNumberScheduled": n,
        }
        return ds


def _rs_status(replicas: int, pods: int, ready: int) -> Obj:
    status: Obj = {"observedGeneration": 1 if replicas else 2, "replicas": replicas}
    if replicas:
        status.update({"availableReplicas": ready, "fullyLabeledReplicas": replicas, "readyReplicas": ready})
        if not ready:
            del status["availableReplicas"], status["readyReplicas"]
    return status


def _workload_status(
    dep: Obj, total: int, ready: int, updated: int, new_ready: int, replicas: int, revisions: list[Obj], new_rs: str
) -> Obj:
    created = dep["metadata"]["creationTimestamp"]
    last_rev_age = revisions[-1]["age"]
    status: Obj = {"observedGeneration": dep["metadata"]["generation"], "replicas": total}
    if replicas == 0:
        status = {"observedGeneration": dep["metadata"]["generation"]}
    else:
        status.update({"availableReplicas": ready, "readyReplicas": ready, "updatedReplicas": updated})
        if ready < total:
            status["unavailableReplicas"] = total - ready
        if ready == 0:
            del status["availableReplicas"], status["readyReplicas"]
    available = ready >= replicas - max(0, replicas // 4) if replicas else True
    # Progressing turns False only while a rollout is stuck: old pods still serve, new ones never got ready.
    progressing_ok = not (total > updated and new_ready < replicas)
    status["conditions"] = [
        {
            "lastTransitionTime": created if available else ts(0, hours=4),
            "lastUpdateTime": created if available else ts(0, hours=4),
            "message": "Deployment has minimum availability."
            if available
            else "Deployment does not have minimum availability.",
            "reason": "MinimumReplicasAvailable" if available else "MinimumReplicasUnavailable",
            "status": "True" if available else "False",
            "type": "Available",
        },
        {
            "lastTransitionTime": ts(last_rev_age) if progressing_ok else ts(max(0, last_rev_age - 0.007)),
            "lastUpdateTime": ts(last_rev_age, seconds=-37) if progressing_ok else ts(max(0, last_rev_age - 0.007)),
            "message": f'ReplicaSet "{new_rs}" has successfully progressed.'
            if progressing_ok
            else f'ReplicaSet "{new_rs}" has timed out progressing.',
            "reason": "NewReplicaSetAvailable" if progressing_ok else "ProgressDeadlineExceeded",
            "status": "True" if progressing_ok else "False",
            "type": "Progressing",
        },
    ]
    return status
