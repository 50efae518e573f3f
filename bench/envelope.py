"""The Kubernetes scalability envelope as a dump: a cluster of the shape SIG Scalability supports, scaled.

Usage: ``python -m bench.envelope --objects 400000 [--seed 7] [--out-dir DIR]`` writes
``envelope-<objects>-s<seed>.json`` (one ``kind: List``, compact as an API server sends it), its
object count and its kind histogram (``.kinds.json``).

At 400,000 objects the shape is the envelope's thresholds: 5,000 nodes, about 150,000 pods (one pod
per node for each of 3 DaemonSets, the rest owned by Deployments' ReplicaSets and StatefulSets),
about 10,000 namespaces and 10,000 Services, with what such a cluster holds alongside: an
EndpointSlice and an Endpoints per Service, about 3 Deployments per namespace with their current
and old ReplicaSets, ConfigMaps (every namespace's ``kube-root-ca.crt`` included), Secrets (Helm
release records included), ServiceAccounts, Roles and RoleBindings, HPAs, PDBs, NetworkPolicies,
Ingresses and quotas. Smaller ``--objects`` keep the same proportions (nodes = objects / 80).

Pod specs, statuses and the good/mixed/bad namespace profiles come from ``bench.generate``'s
builders, so checks see the same varied objects as there; every object is then passed through
``bench.realistic`` (managedFields, last-applied or Helm ownership, ``generation``, the status bulk
of nodes and pods). Secrets carry metadata and ``type`` only, as kwa reads them. Objects are
written as each namespace completes, so memory stays flat whatever the size. Deterministic for a
given ``--objects`` and ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from bench import generate as g
from bench.realistic import decorate, sized_status

Obj = dict[str, Any]
OBJECTS_PER_NODE = 80  # 400,000 / 5,000
# The self-signed cluster CA every namespace's kube-root-ca.crt ConfigMap carries (about 1.1 kB).
CA_PEM = "-----BEGIN CERTIFICATE-----\n" + "\n".join(
    ["MIIC/jCCAeagAwIBAgIBADANBgkqhkiG9w0BAQsFADAVMRMwEQYDVQQDEwprdWJl"] * 17
)
CA_PEM += "\n-----END CERTIFICATE-----\n"
CHARTS = {"api": "backend", "web": "frontend", "worker": "backend", "cache": "redis"}


def helm_labels(app: str, release: str) -> tuple[Obj, Obj]:
    """Labels and annotations Helm puts on what a release owns."""
    chart = CHARTS.get(app, app)
    labels = {
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/instance": release,
        "helm.sh/chart": f"{chart}-4.{len(app)}.2",
        "app.kubernetes.io/version": "1.27.3",
    }
    annotations = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": release}
    return labels, annotations


def deployment(c: g.Cluster, ns: str, app: str, profile: str, sa: str, helm: bool) -> int:
    """A Deployment, its current ReplicaSet and 0-2 old ones scaled to zero, and its pods."""
    rng = c.rng
    replicas = rng.choice((2, 3, 3, 4, 4, 5, 6, 6, 8, 9)) if profile != "bad" else rng.choice((1, 2, 3, 4))
    labels: Obj = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns}
    annotations: Obj = {"deployment.kubernetes.io/revision": "3"}
    if profile != "bad":
        labels.update({"team": ns, "cost-center": f"cc-{rng.randint(100, 999)}"})
    if helm:
        h_labels, h_annotations = helm_labels(app, ns)
        labels.update(h_labels)
        annotations.update(h_annotations)
    spec = g.pod_spec(c, app, profile, sa)
    for ctr in spec["containers"]:  # real workloads carry a dozen settings in their environment
        ctr["env"].extend({"name": f"{app.upper()}_SETTING_{i}", "value": f"value-{i}"} for i in range(8))
    template = {"metadata": {"labels": {"app": app}}, "spec": spec}
    dep = c.add(
        "apps/v1",
        "Deployment",
        c.meta(app, ns, labels, annotations=annotations, generation=3),
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
    for _ in range(rng.choice((0, 0, 1, 1, 2))):  # old ReplicaSets kept by revisionHistoryLimit
        old = {"app": app, "pod-template-hash": c.hash()}
        c.add(
            "apps/v1",
            "ReplicaSet",
            c.meta(f"{app}-{old['pod-template-hash']}", ns, old, ownerReferences=[g.owner(dep)]),
            spec={
                "replicas": 0,
                "selector": {"matchLabels": old},
                "template": {"metadata": {"labels": old}, "spec": spec},
            },
            status={"replicas": 0, "observedGeneration": 2},
        )
    rs_labels = {"app": app, "pod-template-hash": c.hash()}
    rs_template = {"metadata": {"labels": rs_labels}, "spec": spec}
    rs = c.add(
        "apps/v1",
        "ReplicaSet",
        c.meta(f"{app}-{rs_labels['pod-template-hash']}", ns, rs_labels, ownerReferences=[g.owner(dep)]),
        spec={"replicas": replicas, "selector": {"matchLabels": rs_labels}, "template": rs_template},
        status={"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
    )
    names = [f"{rs['metadata']['name']}-{c.hash()[:5]}" for _ in range(replicas)]
    g.pods(c, rs, rs_template, names, profile)
    return replicas


def endpoints(c: g.Cluster, ns: str, app: str) -> None:
    """The legacy Endpoints object the endpoints controller still writes next to each EndpointSlice."""
    rng = c.rng
    c.add(
        "v1",
        "Endpoints",
        c.meta(app, ns, {"app": app}),
        subsets=[
            {
                "addresses": [{"ip": f"10.1.{rng.randint(0, 255)}.{rng.randint(1, 254)}"} for _ in range(2)],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            }
        ],
    )


def team(c: g.Cluster, index: int) -> None:
    """One team namespace: about 40 objects, 13 of them pods, one Service on average."""
    rng = c.rng
    profile = rng.choices([p for p, _ in g.PROFILES], [w for _, w in g.PROFILES])[0]
    ns = f"team-{index:05d}"
    helm = rng.random() < 0.4
    labels = {"kubernetes.io/metadata.name": ns, "team": ns}
    if profile == "good":
        labels["pod-security.kubernetes.io/enforce"] = "restricted"
    c.add("v1", "Namespace", c.meta(ns, None, labels), spec={"finalizers": ["kubernetes"]}, status={"phase": "Active"})
    c.add("v1", "ServiceAccount", c.meta("default", ns))
    c.add("v1", "ConfigMap", c.meta("kube-root-ca.crt", ns), data={"ca.crt": CA_PEM})
    apps = rng.sample(g.APPS, rng.choice((1, 2, 3, 3, 4, 5)))
    for app in apps:
        sa = "default"
        if profile == "good" or (profile == "mixed" and rng.random() < 0.3):
            sa = app
            c.add("v1", "ServiceAccount", c.meta(app, ns, {"app": app}), automountServiceAccountToken=False)
        replicas = deployment(c, ns, app, profile, sa, helm)
        if rng.random() < 0.5:
            g.app_extras(c, ns, app, profile, replicas)
    exposed = apps[: rng.choice((0, 1, 1, 1, 2))]
    for app in exposed:
        g.service(c, ns, app, profile)
        endpoints(c, ns, app)
    if exposed and rng.random() < 0.5:
        host = f"{exposed[0]}.{ns}.example.com"
        backend = {"service": {"name": exposed[0], "port": {"number": 80}}}
        ingress: Obj = {
            "ingressClassName": "alb",
            "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}],
        }
        if profile == "good" or rng.random() < 0.5:
            ingress["tls"] = [{"hosts": [host], "secretName": f"{exposed[0]}-tls"}]
        c.add("networking.k8s.io/v1", "Ingress", c.meta(exposed[0], ns), spec=ingress, status={"loadBalancer": {}})
    if helm:
        for revision in range(1, rng.choice((2, 3)) + 1):
            c.add(
                "v1",
                "Secret",
                c.meta(
                    f"sh.helm.release.v1.{ns}.v{revision}",
                    ns,
                    {"owner": "helm", "name": ns, "status": "deployed" if revision > 1 else "superseded"},
                ),
                type="helm.sh/release.v1",
            )
    verbs = ["*"] if profile == "bad" else ["get", "list", "watch"]
    resources = ["*"] if profile == "bad" else ["configmaps", "pods"]
    rbac = "rbac.authorization.k8s.io/v1"
    rules = [{"apiGroups": [""], "resources": resources, "verbs": verbs}]
    c.add(rbac, "Role", c.meta("app-reader", ns), rules=rules)
    c.add(
        rbac,
        "RoleBinding",
        c.meta("app-reader", ns),
        roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app-reader"},
        subjects=[{"kind": "ServiceAccount", "name": "default" if profile == "bad" else apps[0], "namespace": ns}],
    )
    if profile == "good" or (profile == "mixed" and rng.random() < 0.5):
        c.add(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            c.meta("default-deny", ns),
            spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        )
    if profile == "good":
        c.add(
            "v1", "ResourceQuota", c.meta("compute", ns), spec={"hard": {"requests.cpu": "20", "limits.memory": "60Gi"}}
        )
    if index % 8 == 0:
        g.statefulset(c, ns, profile)


def write_items(c: g.Cluster, fh: TextIO, kinds: Counter[str], first: bool) -> bool:
    """Decorate and write the objects built since the last call, then forget them."""
    for obj in c.objects:
        kinds[obj["kind"]] += 1
        if obj["kind"] in ("Node", "Pod"):
            sized_status(obj)
        fh.write(("" if first else ",") + json.dumps(decorate(obj), separators=(",", ":")))
        first = False
    c.objects.clear()
    return first


def build(objects: int, fh: TextIO, seed: int = 7) -> Counter[str]:
    """Write about ``objects`` envelope-shaped objects as a ``kind: List`` to ``fh``; their kind histogram."""
    c = g.Cluster(random.Random(seed))
    kinds: Counter[str] = Counter()
    fh.write('{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[')
    for i in range(max(3, round(objects / OBJECTS_PER_NODE))):
        g.node(c, i)
    g.system(c)  # kube-system: its DaemonSets with one pod per node, cluster RBAC and classes
    first = write_items(c, fh, kinds, True)
    index = 0
    while sum(kinds.values()) < objects:
        team(c, index)
        index += 1
        first = write_items(c, fh, kinds, first)
    fh.write("]}")
    return kinds


def ensure(objects: int, out_dir: Path, seed: int = 7) -> tuple[Path, int, dict[str, int]]:
    """The envelope dump for a size (generated once, then reused): path, object count, kind histogram."""
    stem = f"envelope-{objects}-s{seed}"
    json_path, kinds_path = out_dir / f"{stem}.json", out_dir / f"{stem}.kinds.json"
    if not (json_path.exists() and kinds_path.exists()):
        out_dir.mkdir(parents=True, exist_ok=True)
        partial = json_path.with_suffix(".json.partial")
        with open(partial, "w", encoding="utf-8") as fh:
            kinds = build(objects, fh, seed)
        os.replace(partial, json_path)
        kinds_path.write_text(json.dumps(dict(kinds.most_common()), indent=1))
    kinds = json.loads(kinds_path.read_text())
    return json_path, sum(kinds.values()), kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    path, count, kinds = ensure(args.objects, args.out_dir, args.seed)
    print(f"{count:,} objects in {time.perf_counter() - started:.1f} s: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    for kind, n in kinds.items():
        print(f"  {kind:32} {n:>8,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
