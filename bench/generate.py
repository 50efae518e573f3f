"""Synthetic cluster dumps of a given size, as ``kubectl get -A -o yaml`` would print them.

Usage: ``python -m bench.generate --objects 10000 [--seed 7] [--out-dir DIR]`` writes
``cluster-<objects>.yaml`` (multi-document YAML) and ``cluster-<objects>.json`` (one ``kind: List``).

The cluster is built from team namespaces until the requested object count is reached. Each
namespace gets a profile that decides how well it is run:

* ``good`` (30 %): restricted Pod Security labels, default-deny NetworkPolicy plus an allow rule,
  hardened pods (non-root, read-only root filesystem, no privilege escalation, dropped
  capabilities), probes, requests and limits, digests or pinned tags, PDBs and HPAs, quota and
  LimitRange, one ServiceAccount per app;
* ``mixed`` (50 %): some of the above, some missing, an occasional crash-looping or pending pod;
* ``bad`` (20 %): root and ``latest`` tags, no probes or resources, a privileged pod mounting the
  host, a wildcard Role bound to the default ServiceAccount, an Ingress without TLS, HPAs with
  ``min == max`` and PDBs that allow no disruption.

Every Deployment comes with its ReplicaSet (sometimes an old one scaled to zero) and its Pods
(with status: phase, conditions, container statuses, restart counts), every Service with an
EndpointSlice; StatefulSets with claims, DaemonSets with one pod per node, nodes with capacity,
allocatable and conditions, cluster RBAC. Secrets carry metadata and ``type`` only, as kwa reads
them. The output is deterministic for a given ``--objects`` and ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]

Obj = dict[str, Any]
NOW = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")
PROFILES = (("good", 0.3), ("mixed", 0.5), ("bad", 0.2))
APPS = ("api", "web", "worker", "auth", "search", "cart", "billing", "events", "gateway", "report", "notify", "cache")
PODS_PER_NODE = 40
DAEMONSETS = ("aws-node", "kube-proxy", "node-exporter")


def ts(rng: random.Random, max_days: int = 200) -> str:
    return (NOW - timedelta(seconds=rng.randint(600, max_days * 86400))).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Cluster:
    """The objects generated so far, plus the state that ties them together."""

    rng: random.Random
    objects: list[Obj] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    rv: int = 4_800_000
    pod_slot: int = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def meta(self, name: str, namespace: str | None = None, labels: Obj | None = None, **extra: Any) -> Obj:
        self.rv += 1
        meta: Obj = {"name": name}
        if namespace is not None:
            meta["namespace"] = namespace
        meta.update(uid=self.uid(), resourceVersion=str(self.rv), creationTimestamp=ts(self.rng))
        if labels:
            meta["labels"] = dict(labels)
        meta.update(extra)
        return meta

    def add(self, api_version: str, kind: str, metadata: Obj, **body: Any) -> Obj:
        obj = {"apiVersion": api_version, "kind": kind, "metadata": metadata, **body}
        self.objects.append(obj)
        return obj

    def next_node(self) -> str:
        self.pod_slot += 1
        return self.nodes[(self.pod_slot // 7) % len(self.nodes)]

    def hash(self) -> str:
        return "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(10))


def owner(obj: Obj, controller: bool = True) -> Obj:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": controller,
        "blockOwnerDeletion": True,
    }


# ---- pod specs ------------------------------------------------------------------------------------


def container(c: Cluster, app: str, profile: str) -> Obj:
    rng = c.rng
    good = profile == "good" or (profile == "mixed" and rng.random() < 0.6)
    if profile == "bad" and rng.random() < 0.5:
        image = f"{app}:latest" if rng.random() < 0.5 else app
    elif good and rng.random() < 0.4:
        image = f"{REGISTRY}/{app}@sha256:{rng.getrandbits(256):064x}"
    else:
        image = f"{REGISTRY}/{app}:1.{rng.randint(0, 40)}.{rng.randint(0, 9)}"
    spec: Obj = {
        "name": app,
        "image": image,
        "imagePullPolicy": "IfNotPresent" if good else "Always",
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "env": [
            {"name": "APP_ENV", "value": "production"},
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_HOST", "valueFrom": {"configMapKeyRef": {"name": f"{app}-config", "key": "db_host"}}},
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [{"mountPath": "/etc/app", "name": "config", "readOnly": True}],
    }
    if profile == "bad" and rng.random() < 0.3:
        spec["env"].append({"name": "DB_PASSWORD", "value": "hunter2"})
    if good or rng.random() < 0.3:
        cpu = rng.choice(("50m", "100m", "250m", "500m"))
        mem = rng.choice(("128Mi", "256Mi", "512Mi", "1Gi"))
        spec["resources"] = {"requests": {"cpu": cpu, "memory": mem}, "limits": {"memory": mem}}
        if good and rng.random() < 0.3:
            spec["resources"]["limits"]["cpu"] = "1"
    else:
        spec["resources"] = {}
    if good or rng.random() < 0.25:
        probe = {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "periodSeconds": 10}
        spec["readinessProbe"] = {**probe, "failureThreshold": 3, "timeoutSeconds": 1, "successThreshold": 1}
        if rng.random() < 0.8:
            spec["livenessProbe"] = {**probe, "initialDelaySeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3}
    if good:
        spec["securityContext"] = {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    elif profile == "bad" and rng.random() < 0.05:
        spec["securityContext"] = {"privileged": True, "runAsUser": 0}
    elif rng.random() < 0.4:
        spec["securityContext"] = {"allowPrivilegeEscalation": False}
    return spec


def pod_spec(c: Cluster, app: str, profile: str, service_account: str) -> Obj:
    rng = c.rng
    containers = [container(c, app, profile)]
    if rng.random() < 0.15:
        sidecar = container(c, "envoy", profile)
        sidecar["ports"] = [{"containerPort": 15001, "name": "proxy", "protocol": "TCP"}]
        containers.append(sidecar)
    spec: Obj = {
        "containers": containers,
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {"runAsNonRoot": True, "fsGroup": 10001} if profile == "good" else {},
        "serviceAccountName": service_account,
        "terminationGracePeriodSeconds": 30,
        "volumes": [{"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}}],
    }
    if profile == "good":
        spec["automountServiceAccountToken"] = False
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app": app}},
            }
        ]
        spec["priorityClassName"] = "business-critical"
    if profile == "bad" and rng.random() < 0.1:
        spec["hostNetwork"] = True
        spec["volumes"].append({"name": "docker", "hostPath": {"path": "/var/run/docker.sock", "type": "Socket"}})
    return spec


def runtime_pod_spec(c: Cluster, template_spec: Obj, node: str) -> Obj:
    """A pod as the API server returns it: the template plus defaults, node and the token volume."""
    spec = json.loads(json.dumps(template_spec))  # cheap deep copy of plain data
    spec.update(
        nodeName=node,
        serviceAccount=spec["serviceAccountName"],
        enableServiceLinks=True,
        preemptionPolicy="PreemptLowerPriority",
        priority=1000000 if spec.get("priorityClassName") else 0,
        tolerations=[
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
            {
                "effect": "NoExecute",
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "tolerationSeconds": 300,
            },
        ],
    )
    token = f"kube-api-access-{c.hash()[:5]}"
    spec["volumes"].append(
        {
            "name": token,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                ],
            },
        }
    )
    for ctr in spec["containers"]:
        ctr.setdefault("volumeMounts", []).append(
            {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": token, "readOnly": True}
        )
    return spec


def pod_status(c: Cluster, spec: Obj, trouble: str | None) -> Obj:
    rng = c.rng
    started = ts(rng, 60)
    ready = trouble is None
    statuses = []
    for ctr in spec["containers"]:
        st: Obj = {
            "name": ctr["name"],
            "image": ctr["image"],
            "imageID": f"{ctr['image'].split('@')[0].split(':')[0]}@sha256:{rng.getrandbits(256):064x}",
            "containerID": f"containerd://{rng.getrandbits(256):064x}",
            "ready": ready,
            "started": ready,
            "restartCount": rng.choice((0, 0, 0, 0, 1, 2)),
            "state": {"running": {"startedAt": started}},
        }
        if trouble == "crashloop":
            st["restartCount"] = rng.randint(20, 400)
            st["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed"}}
            st["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": started}}
        statuses.append(st)
    cond = "True" if ready else "False"
    status: Obj = {
        "phase": "Running",
        "hostIP": f"10.0.{rng.randint(0, 63)}.{rng.randint(1, 254)}",
        "podIP": f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "qosClass": "Burstable",
        "startTime": started,
        "conditions": [
            {"type": t, "status": s, "lastProbeTime": None, "lastTransitionTime": started}
            for t, s in (("Initialized", "True"), ("Ready", cond), ("ContainersReady", cond), ("PodScheduled", "True"))
        ],
        "containerStatuses": statuses,
    }
    if trouble == "pending":
        status = {
            "phase": "Pending",
            "qosClass": "Burstable",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": "0/12 nodes are available: 12 Insufficient cpu.",
                    "lastProbeTime": None,
                    "lastTransitionTime": (NOW - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            ],
        }
    return status


def trouble_for(c: Cluster, profile: str) -> str | None:
    roll = c.rng.random()
    if profile == "good":
        return None
    if roll < (0.03 if profile == "mixed" else 0.08):
        return "crashloop"
    if roll < (0.04 if profile == "mixed" else 0.1):
        return "pending"
    return None


def pods(c: Cluster, owner_obj: Obj, template: Obj, names: list[str], profile: str) -> None:
    for name in names:
        trouble = trouble_for(c, profile)
        spec = runtime_pod_spec(c, template["spec"], c.next_node())
        if trouble == "pending":
            spec.pop("nodeName")
        meta = c.meta(
            name,
            owner_obj["metadata"]["namespace"],
            template["metadata"]["labels"],
            ownerReferences=[owner(owner_obj)],
        )
        if name.startswith(owner_obj["metadata"]["name"]):
            meta["generateName"] = name.rsplit("-", 1)[0] + "-"
        c.add("v1", "Pod", meta, spec=spec, status=pod_status(c, spec, trouble))


# ---- namespace contents ---------------------------------------------------------------------------


def deployment(c: Cluster, ns: str, app: str, profile: str, sa: str) -> tuple[Obj, int]:
    rng = c.rng
    replicas = rng.choice((1, 2, 2, 3, 3, 4)) if profile != "bad" else rng.choice((1, 1, 2))
    labels = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns}
    if profile != "bad":
        labels.update({"team": ns, "cost-center": f"cc-{rng.randint(100, 999)}"})
    template = {"metadata": {"labels": {"app": app}}, "spec": pod_spec(c, app, profile, sa)}
    dep = c.add(
        "apps/v1",
        "Deployment",
        c.meta(app, ns, labels, annotations={"deployment.kubernetes.io/revision": "3"}, generation=3),
        spec={
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "selector": {"matchLabels": {"app": app}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": template,
        },
        status={
            "observedGeneration": 3,
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    )
    if rng.random() < 0.3:  # an old ReplicaSet kept by revisionHistoryLimit, scaled to zero
        old_hash = c.hash()
        old_template = {"metadata": {"labels": {"app": app, "pod-template-hash": old_hash}}, "spec": template["spec"]}
        c.add(
            "apps/v1",
            "ReplicaSet",
            c.meta(f"{app}-{old_hash}", ns, old_template["metadata"]["labels"], ownerReferences=[owner(dep)]),
            spec={
                "replicas": 0,
                "selector": {"matchLabels": old_template["metadata"]["labels"]},
                "template": old_template,
            },
            status={"replicas": 0, "observedGeneration": 2},
        )
    pod_hash = c.hash()
    rs_labels = {"app": app, "pod-template-hash": pod_hash}
    rs_template = {"metadata": {"labels": rs_labels}, "spec": template["spec"]}
    rs = c.add(
        "apps/v1",
        "ReplicaSet",
        c.meta(f"{app}-{pod_hash}", ns, rs_labels, ownerReferences=[owner(dep)]),
        spec={"replicas": replicas, "selector": {"matchLabels": rs_labels}, "template": rs_template},
        status={
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "observedGeneration": 3,
        },
    )
    pods(c, rs, rs_template, [f"{app}-{pod_hash}-{c.hash()[:5]}" for _ in range(replicas)], profile)
    return dep, replicas


def service(c: Cluster, ns: str, app: str, profile: str) -> None:
    rng = c.rng
    kind = "LoadBalancer" if profile == "bad" and rng.random() < 0.3 else "ClusterIP"
    selector = {"app": app if rng.random() > 0.03 else f"{app}-old"}  # a few select nothing
    svc = c.add(
        "v1",
        "Service",
        c.meta(app, ns, {"app": app}),
        spec={
            "type": kind,
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "clusterIP": f"172.20.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "sessionAffinity": "None",
        },
        status={"loadBalancer": {}},
    )
    c.add(
        "discovery.k8s.io/v1",
        "EndpointSlice",
        c.meta(f"{app}-{c.hash()[:5]}", ns, {"kubernetes.io/service-name": app}, ownerReferences=[owner(svc)]),
        addressType="IPv4",
        endpoints=[{"addresses": [f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}"], "conditions": {"ready": True}}],
        ports=[{"name": "http", "port": 8080, "protocol": "TCP"}],
    )


def app_extras(c: Cluster, ns: str, app: str, profile: str, replicas: int) -> None:
    rng = c.rng
    c.add("v1", "ConfigMap", c.meta(f"{app}-config", ns, {"app": app}), data={"db_host": f"{app}-db.{ns}.svc"})
    c.add("v1", "Secret", c.meta(f"{app}-credentials", ns, {"app": app}), type="Opaque")
    if rng.random() < (0.7 if profile == "good" else 0.35):
        min_r = max(2, replicas) if profile == "good" else replicas
        max_r = min_r if profile == "bad" else min_r * 3
        c.add(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            c.meta(app, ns),
            spec={
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app},
                "minReplicas": min_r,
                "maxReplicas": max_r,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                    }
                ],
            },
            status={"currentReplicas": replicas, "desiredReplicas": replicas},
        )
    if rng.random() < (0.8 if profile == "good" else 0.4):
        budget = {"maxUnavailable": 0} if profile == "bad" else {"minAvailable": 1}
        c.add(
            "policy/v1",
            "PodDisruptionBudget",
            c.meta(app, ns),
            spec={**budget, "selector": {"matchLabels": {"app": app}}},
            status={"currentHealthy": replicas, "desiredHealthy": 1, "disruptionsAllowed": max(0, replicas - 1)},
        )


def statefulset(c: Cluster, ns: str, profile: str) -> None:
    name = "db"
    sa = "default"
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec(c, name, profile, sa)}
    replicas = 3 if profile == "good" else 2
    sts = c.add(
        "apps/v1",
        "StatefulSet",
        c.meta(name, ns, {"app": name}),
        spec={
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": template,
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "gp3",
                        "resources": {"requests": {"storage": "20Gi"}},
                    },
                }
            ],
        },
        status={"replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas},
    )
    pods(c, sts, template, [f"{name}-{i}" for i in range(replicas)], profile)
    for i in range(replicas):
        c.add(
            "v1",
            "PersistentVolumeClaim",
            c.meta(f"data-{name}-{i}", ns, {"app": name}),
            spec={
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "gp3",
                "resources": {"requests": {"storage": "20Gi"}},
            },
            status={"phase": "Bound", "capacity": {"storage": "20Gi"}},
        )


def namespace(c: Cluster, index: int) -> None:
    rng = c.rng
    profile = rng.choices([p for p, _ in PROFILES], [w for _, w in PROFILES])[0]
    ns = f"team-{index:05d}"
    labels = {"kubernetes.io/metadata.name": ns, "team": ns}
    if profile == "good":
        labels["pod-security.kubernetes.io/enforce"] = "restricted"
    c.add("v1", "Namespace", c.meta(ns, None, labels), spec={"finalizers": ["kubernetes"]}, status={"phase": "Active"})
    c.add("v1", "ServiceAccount", c.meta("default", ns))
    apps = rng.sample(APPS, rng.randint(4, 7))
    for app in apps:
        sa = "default"
        if profile == "good" or (profile == "mixed" and rng.random() < 0.5):
            sa = app
            c.add("v1", "ServiceAccount", c.meta(app, ns, {"app": app}), automountServiceAccountToken=False)
        _, replicas = deployment(c, ns, app, profile, sa)
        service(c, ns, app, profile)
        app_extras(c, ns, app, profile, replicas)
    if profile == "good" or (profile == "mixed" and rng.random() < 0.5):
        c.add(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            c.meta("default-deny", ns),
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        )
        c.add(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            c.meta("allow-web", ns),
            spec={
                "podSelector": {"matchLabels": {"app": apps[0]}},
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}}]}
                ],
                "policyTypes": ["Ingress"],
            },
        )
    tls = profile == "good" or rng.random() < 0.5
    ingress: Obj = {
        "ingressClassName": "alb",
        "rules": [
            {
                "host": f"{apps[0]}.{ns}.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": apps[0], "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }
    if tls:
        ingress["tls"] = [{"hosts": [f"{apps[0]}.{ns}.example.com"], "secretName": f"{apps[0]}-tls"}]
    c.add("networking.k8s.io/v1", "Ingress", c.meta(apps[0], ns), spec=ingress, status={"loadBalancer": {}})
    verbs = ["*"] if profile == "bad" else ["get", "list", "watch"]
    resources = ["*"] if profile == "bad" else ["configmaps", "pods"]
    c.add(
        "rbac.authorization.k8s.io/v1",
        "Role",
        c.meta("app-reader", ns),
        rules=[{"apiGroups": [""], "resources": resources, "verbs": verbs}],
    )
    c.add(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        c.meta("app-reader", ns),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app-reader"},
        subjects=[{"kind": "ServiceAccount", "name": "default" if profile == "bad" else apps[0], "namespace": ns}],
    )
    if profile == "good":
        c.add(
            "v1",
            "ResourceQuota",
            c.meta("compute", ns),
            spec={"hard": {"requests.cpu": "20", "requests.memory": "40Gi", "limits.memory": "60Gi"}},
        )
        c.add(
            "v1",
            "LimitRange",
            c.meta("defaults", ns),
            spec={"limits": [{"type": "Container", "default": {"memory": "512Mi"}, "defaultRequest": {"cpu": "100m"}}]},
        )
    if index % 2 == 0:
        statefulset(c, ns, profile)


# ---- cluster-wide -----------------------------------------------------------------------------


def node(c: Cluster, index: int) -> None:
    zone = ZONES[index % len(ZONES)]
    name = f"ip-10-0-{index // 250}-{index % 250 + 1}.eu-west-1.compute.internal"
    c.nodes.append(name)
    old = index % 17 == 16  # an old node group on the previous kubelet
    labels = {
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name,
        "node.kubernetes.io/instance-type": "m5.2xlarge",
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": "eu-west-1",
        "eks.amazonaws.com/capacityType": "SPOT" if index % 5 == 0 else "ON_DEMAND",
        "eks.amazonaws.com/nodegroup": "general-v2" if old else "general-v3",
    }
    since = ts(c.rng, 90)
    c.add(
        "v1",
        "Node",
        c.meta(name, None, labels),
        spec={
            "providerID": f"aws:///{zone}/i-{c.rng.getrandbits(64):017x}",
            **({"unschedulable": True} if old else {}),
        },
        status={
            "capacity": {"cpu": "8", "memory": "32408784Ki", "pods": "58", "ephemeral-storage": "104845292Ki"},
            "allocatable": {"cpu": "7910m", "memory": "31391952Ki", "pods": "58", "ephemeral-storage": "95551679124"},
            "conditions": [
                {"type": t, "status": "False", "reason": r, "lastHeartbeatTime": since, "lastTransitionTime": since}
                for t, r in (
                    ("MemoryPressure", "KubeletHasSufficientMemory"),
                    ("DiskPressure", "KubeletHasNoDiskPressure"),
                    ("PIDPressure", "KubeletHasSufficientPID"),
                )
            ]
            + [{"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": since}],
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "kubeletVersion": "v1.28.8-eks-ae9a62a" if old else "v1.29.4-eks-1552ad0",
                "containerRuntimeVersion": "containerd://1.7.11",
                "osImage": "Amazon Linux 2",
            },
            "addresses": [{"type": "InternalIP", "address": f"10.0.{index // 250}.{index % 250 + 1}"}],
        },
    )


def system(c: Cluster) -> None:
    """kube-system, its DaemonSets (one pod per node) and cluster-wide RBAC, storage and priority."""
    ns = "kube-system"
    c.add("v1", "Namespace", c.meta(ns, None, {"kubernetes.io/metadata.name": ns}), status={"phase": "Active"})
    for name in DAEMONSETS:
        template = {"metadata": {"labels": {"k8s-app": name}}, "spec": pod_spec(c, name, "mixed", name)}
        template["spec"]["hostNetwork"] = name != "node-exporter"
        template["spec"]["priorityClassName"] = "system-node-critical"
        if name == "aws-node":
            template["spec"]["containers"][0]["securityContext"] = {"privileged": True}
        ds = c.add(
            "apps/v1",
            "DaemonSet",
            c.meta(name, ns, {"k8s-app": name}),
            spec={
                "selector": {"matchLabels": {"k8s-app": name}},
                "template": template,
                "updateStrategy": {"type": "RollingUpdate"},
            },
            status={"desiredNumberScheduled": len(c.nodes), "numberReady": len(c.nodes)},
        )
        c.add("v1", "ServiceAccount", c.meta(name, ns))
        for node_name in c.nodes:
            spec = runtime_pod_spec(c, template["spec"], node_name)
            meta = c.meta(f"{name}-{c.hash()[:5]}", ns, template["metadata"]["labels"], ownerReferences=[owner(ds)])
            c.add("v1", "Pod", meta, spec=spec, status=pod_status(c, spec, None))
    rbac = "rbac.authorization.k8s.io/v1"
    c.add(
        rbac, "ClusterRole", c.meta("cluster-admin"), rules=[{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    )
    c.add(
        rbac,
        "ClusterRole",
        c.meta("view"),
        rules=[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
    )
    c.add(
        rbac,
        "ClusterRoleBinding",
        c.meta("ci-deployer-admin"),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        subjects=[{"kind": "User", "name": "ci-deployer", "apiGroup": "rbac.authorization.k8s.io"}],
    )
    for name in DAEMONSETS:
        c.add(
            rbac,
            "ClusterRole",
            c.meta(name),
            rules=[{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
        )
        c.add(
            rbac,
            "ClusterRoleBinding",
            c.meta(name),
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            subjects=[{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        )
    c.add(
        "storage.k8s.io/v1",
        "StorageClass",
        c.meta("gp3", None, annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
        provisioner="ebs.csi.aws.com",
        reclaimPolicy="Delete",
        volumeBindingMode="WaitForFirstConsumer",
        allowVolumeExpansion=True,
    )
    c.add("scheduling.k8s.io/v1", "PriorityClass", c.meta("business-critical"), value=1000000, globalDefault=False)
    c.add("networking.k8s.io/v1", "IngressClass", c.meta("alb"), spec={"controller": "ingress.k8s.aws/alb"})


def generate(objects: int, seed: int = 7) -> list[Obj]:
    """About ``objects`` objects (the last namespace is completed, so a few dozen more)."""
    c = Cluster(random.Random(seed))
    # Nodes sized for the pods to come: about one pod in three objects.
    for i in range(max(3, objects // 3 // PODS_PER_NODE)):
        node(c, i)
    system(c)
    index = 0
    while len(c.objects) < objects:
        namespace(c, index)
        index += 1
    return c.objects


def write(objects: list[Obj], out_dir: Path, stem: str) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    yaml_path, json_path = out_dir / f"{stem}.yaml", out_dir / f"{stem}.json"
    with open(yaml_path, "w", encoding="utf-8") as fh:
        yaml.dump_all(objects, fh, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)
    with open(json_path, "w", encoding="utf-8") as fh:
        json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects}, fh)
    return yaml_path, json_path


def ensure(objects: int, out_dir: Path, seed: int = 7) -> tuple[Path, Path, int]:
    """The dump files for a size (generated once, then reused); returns the paths and the object count."""
    stem = f"cluster-{objects}-s{seed}"
    yaml_path, json_path, count_path = out_dir / f"{stem}.yaml", out_dir / f"{stem}.json", out_dir / f"{stem}.count"
    if not (yaml_path.exists() and json_path.exists() and count_path.exists()):
        generated = generate(objects, seed)
        write(generated, out_dir, stem)
        count_path.write_text(str(len(generated)))
    return yaml_path, json_path, int(count_path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=Path("."))
    args = parser.parse_args()
    yaml_path, json_path, count = ensure(args.objects, args.out_dir, args.seed)
    print(f"{count} objects: {yaml_path} ({yaml_path.stat().st_size / 1e6:.1f} MB), {json_path}")


if __name__ == "__main__":
    main()
