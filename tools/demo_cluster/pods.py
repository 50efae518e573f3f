"""Pods as the kubelet reports them: the live spec (token volume, tolerations, priority) and a
status for each story state (running, crash-looping, image-pull back-off, pending, completed, evicted).
"""

from __future__ import annotations

import copy

from .base import Gen
from .podspec import qos_class
from .world import Obj, ts


def pod_ready(pod: Obj) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


class PodMakers(Gen):
    def pod(
        self,
        ns: str,
        name: str,
        *,
        template_spec: Obj,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        owner: Obj | None,
        node: str | None,
        age: float,
        state: str = "running",
        generate_name: str | None = None,
        restarts: int = 0,
        usage: dict[str, tuple[float, float]] | None = None,
    ) -> Obj:
        """A pod as the kubelet reports it. ``state``: running, crashloop, imagepull, pending,
        succeeded, evicted. ``usage``: container -> (cpu cores, memory MiB) for the metrics file."""
        spec = copy.deepcopy(template_spec)
        sa_name = spec.get("serviceAccountName") or "default"
        spec["serviceAccountName"] = sa_name
        spec["serviceAccount"] = sa_name
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        spec["priority"] = self.priority.get(spec.get("priorityClassName", ""), 0)
        if node is not None:
            spec["nodeName"] = node
        tolerations = spec.setdefault("tolerations", [])
        if not any(t.get("operator") == "Exists" and "key" not in t for t in tolerations):
            for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                if not any(t.get("key") == key for t in tolerations):
                    tolerations.append(
                        {"effect": "NoExecute", "key": key, "operator": "Exists", "tolerationSeconds": 300}
                    )
        sa = self.service_accounts.get((ns, sa_name)) or {}
        automount = spec.get("automountServiceAccountToken", sa.get("automountServiceAccountToken", True))
        if automount:
            vol_name = f"kube-api-access-{self.suffix()}"
            spec.setdefault("volumes", []).append(
                {
                    "name": vol_name,
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                            {
                                "downwardAPI": {
                                    "items": [
                                        {
                                            "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                            "path": "namespace",
                                        }
                                    ]
                                }
                            },
                        ],
                    },
                }
            )
            for c in spec["containers"] + (spec.get("initContainers") or []):
                c.setdefault("volumeMounts", []).append(
                    {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": vol_name, "readOnly": True}
                )
        created = ts(age)
        started = ts(age, seconds=-3)
        meta = self.meta(
            name, ns, created=created, labels=labels, annotations=annotations, owner=owner, generate_name=generate_name
        )
        pod: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        pod["status"] = self.pod_status(pod, node, age, state, restarts, started)
        self.pods.append(pod)
        if usage and state == "running":
            self.metrics_plan[(ns, name)] = usage
        return self.add(pod)

    def pod_status(self, pod: Obj, node: str | None, age: float, state: str, restarts: int, started: str) -> Obj:
        spec = pod["spec"]
        containers = spec["containers"]
        qos = qos_class(containers + (spec.get("initContainers") or []))
        if state == "pending":
            return {
                "conditions": [
                    {
                        "lastProbeTime": None,
                        "lastTransitionTime": ts(age),
                        "message": "0/4 nodes are available: 1 node(s) were unschedulable, 3 node(s) didn't match "
                        "Pod's node affinity/selector. preemption: 0/4 nodes are available: 4 Preemption is not "
                        "helpful for scheduling.",
                        "reason": "Unschedulable",
                        "status": "False",
                        "type": "PodScheduled",
                    }
                ],
                "phase": "Pending",
                "qosClass": qos,
            }
        host_network = spec.get("hostNetwork", False)
        ip = self.node_ip(node) if host_network else self.pod_ip(node)  # type: ignore[arg-type]
        ready = state == "running"
        done = state in ("succeeded", "evicted")

        def cond(type_: str, ok: bool, reason: str | None = None, when: str = started) -> Obj:
            c: Obj = {
                "lastProbeTime": None,
                "lastTransitionTime": when,
                "status": "True" if ok else "False",
                "type": type_,
            }
            if reason:
                c["reason"] = reason
            return c

        not_ready_reason = "PodCompleted" if state == "succeeded" else "ContainersNotReady"
        conditions = [
            cond("PodReadyToStartContainers", not done),
            cond("Initialized", True, "PodCompleted" if state == "succeeded" else None),
            cond(
                "Ready", ready, None if ready else not_ready_reason, ts(age, seconds=-12) if ready else ts(0, minutes=7)
            ),
            cond(
                "ContainersReady",
                ready,
                None if ready else not_ready_reason,
                ts(age, seconds=-12) if ready else ts(0, minutes=7),
            ),
            cond("PodScheduled", True, when=ts(age)),
        ]
        if not ready and state in ("crashloop", "imagepull"):
            for c in conditions[2:4]:
                c["message"] = f"containers with unready status: [{containers[0]['name']}]"
        statuses = []
        for i, c in enumerate(containers):
            image = c["image"]
            if "/" not in image.split(":")[0] or "." not in image.split("/")[0]:
                image = "docker.io/" + (image if "/" in image else f"library/{image}")
            if ":" not in image.rsplit("/", 1)[-1]:
                image += ":latest"
            digest = f"sha256:{self.hexstr(64)}"
            cs: Obj = {
                "containerID": f"containerd://{self.hexstr(64)}",
                "image": image,
                "imageID": f"{image.rsplit(':', 1)[0]}@{digest}",
                "lastState": {},
                "name": c["name"],
                "ready": ready,
                "restartCount": restarts if i == 0 else 0,
                "started": ready,
                "state": {"running": {"startedAt": started}},
            }
            if state == "running" and restarts and i == 0:
                cs["lastState"] = {
                    "terminated": {
                        "containerID": f"containerd://{self.hexstr(64)}",
                        "exitCode": 137,
                        "finishedAt": ts(3, hours=2),
                        "reason": "OOMKilled",
                        "startedAt": ts(6),
                    }
                }
                cs["state"] = {"running": {"startedAt": ts(3, hours=2, seconds=-1)}}
            elif state == "crashloop" and i == 0:
                cs["lastState"] = {
                    "terminated": {
                        "containerID": cs["containerID"],
                        "exitCode": 1,
                        "finishedAt": ts(0, minutes=3, seconds=41),
                        "reason": "Error",
                        "startedAt": ts(0, minutes=3, seconds=44),
                    }
                }
                cs["started"] = False
                cs["state"] = {
                    "waiting": {
                        "message": f"back-off 5m0s restarting failed container={c['name']} "
                        f"pod={pod['metadata']['name']}_{pod['metadata']['namespace']}({pod['metadata']['uid']})",
                        "reason": "CrashLoopBackOff",
                    }
                }
            elif state == "imagepull":
                del cs["containerID"]
                cs["imageID"] = ""
                cs["image"] = c["image"]
                cs["started"] = False
                cs["state"] = {
                    "waiting": {
                        "message": f'Back-off pulling image "{c["image"]}"',
                        "reason": "ImagePullBackOff",
                    }
                }
            elif done:
                finished = ts(age, seconds=-95)
                cs["started"] = False
                cs["state"] = {
                    "terminated": {
                        "containerID": cs["containerID"],
                        "exitCode": 0 if state == "succeeded" else 137,
                        "finishedAt": finished,
                        "reason": "Completed" if state == "succeeded" else "Error",
                        "startedAt": started,
                    }
                }
            statuses.append(cs)
        status: Obj = {
            "conditions": conditions,
            "containerStatuses": statuses,
            "hostIP": self.node_ip(node),  # type: ignore[arg-type]
            "hostIPs": [{"ip": self.node_ip(node)}],  # type: ignore[arg-type]
            "phase": {"succeeded": "Succeeded", "evicted": "Failed"}.get(
                state, "Running" if state != "imagepull" else "Pending"
            ),
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "qosClass": qos,
            "startTime": ts(age),
        }
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                {
                    "containerID": f"containerd://{self.hexstr(64)}",
                    "image": ic["image"],
                    "imageID": f"{ic['image'].rsplit(':', 1)[0]}@sha256:{self.hexstr(64)}",
                    "lastState": {},
                    "name": ic["name"],
                    "ready": True,
                    "restartCount": 0,
                    "started": False,
                    "state": {
                        "terminated": {
                            "containerID": f"containerd://{self.hexstr(64)}",
                            "exitCode": 0,
                            "finishedAt": ts(age, seconds=-2),
                            "reason": "Completed",
                            "startedAt": ts(age, seconds=-1),
                        }
                    },
                }
                for ic in spec["initContainers"]
            ]
        if state == "evicted":
            status["message"] = (
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91364Ki. Container "
                f"{containers[0]['name']} was using 2318412Ki, request is 0, has larger consumption of memory. "
            )
            status["reason"] = "Evicted"
            status["conditions"] = [
                cond("DisruptionTarget", True, "TerminationByKubelet", ts(age - 0.5)),
                *conditions,
            ]
        if state == "imagepull":
            status["phase"] = "Pending"
        return status
