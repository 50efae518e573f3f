"""Checks in one crowded namespace: ``python -m bench.crowded [--size N] [--shapes a,b] [--out-dir DIR]``.

The envelope (``bench.envelope``) spreads 400,000 objects over 10,000 team namespaces of about 40
objects each, so a check that compares everything in a namespace with everything else stays
cheap there. A real cluster may instead hold one namespace of tens of thousands of pods, and
thousands of Services, budgets or policies over the same pods. This builds such namespaces, runs
the whole catalogue on each at ``--size`` and at four times it (in this process, the snapshot
prepared as a run prepares it), and reports every check's seconds at both sizes and their ratio:
a check whose cost is linear grows about 4x, one that compares pairs about 16x. A check over
:data:`FLAG_S` at the larger size that grew more than :data:`FLAG_RATIO` times is flagged.

Shapes (each object count is about ``--size``):

* ``services``: Services whose selectors pick the same pods (two distinct selectors in all);
* ``routing``: Deployments, their pods, one Service, budget and NetworkPolicy per app, without
  readiness probes (so REL-001 asks whether a Service routes to each);
* ``budgets``: per app a Deployment, HPA, budget and NetworkPolicy; every other budget and every
  policy's peer picks the label all pods share;
* ``expressions``: budgets and policies that select by ``matchExpressions`` only;
* ``teams``: one namespace holding what a team namespace holds, thousands of times over
  (ConfigMaps, Secrets, ServiceAccounts, claims, Ingresses, Roles and bindings referencing
  each other);
* ``containers``: one Deployment of thousands of containers, each mounting a ConfigMap of its own.

Results: ``<out-dir>/<date>-crowded.json`` and ``.md`` (default ``bench/results``).
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run import RESULTS, machine

Obj = dict[str, Any]
FLAG_S = 0.5
FLAG_RATIO = 8.0
NS = "big"


def _meta(name: str, labels: dict[str, str] | None = None, **more: Any) -> Obj:
    return {"name": name, "namespace": NS, **({"labels": labels} if labels else {}), **more}


def _template(labels: dict[str, str], **spec: Any) -> Obj:
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}], **spec}}


def _deployment(name: str, labels: dict[str, str], replicas: int = 2, pods: Obj | None = None, **spec: Any) -> Obj:
    """A Deployment selecting ``labels``; its pods carry ``pods`` (default: the same labels)."""
    template = _template(pods or labels, **spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(name),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template}}  # fmt: skip


def _service(name: str, selector: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta(name),
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]}}  # fmt: skip


def _budget(name: str, selector: Obj, min_available: int | None = None) -> Obj:
    spec: Obj = {"selector": selector}
    spec.update({"minAvailable": min_available} if min_available is not None else {"maxUnavailable": 1})
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(name), "spec": spec}


def _policy(name: str, selector: Obj, peer: Obj | None = None) -> Obj:
    spec: Obj = {"podSelector": selector, "policyTypes": ["Ingress"]}
    if peer is not None:
        spec["ingress"] = [{"from": [{"podSelector": peer}]}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(name), "spec": spec}


def services(n: int) -> list[Obj]:
    out: list[Obj] = []
    for i in range(n // 2):
        out.append(_service(f"s{i}", {"app": "x", "shard": str(i % 2)}))
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": _meta(f"p{i}", {"app": "x", "shard": "0"}),
                    "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}})  # fmt: skip
    return out


def routing(n: int) -> list[Obj]:
    out: list[Obj] = []
    apps = n // 8
    for j in range(apps):
        app = {"app": f"app{j}"}
        out += [_deployment(f"d{j}", app), _service(f"s{j}", app), _budget(f"b{j}", {"matchLabels": app}),
                _policy(f"n{j}", {"matchLabels": app})]  # fmt: skip
        for r in range(4):  # bare pods: each is a workload of its own
            pod = {"containers": [{"name": "c", "image": "nginx:1.27"}]}
            out.append({"apiVersion": "v1", "kind": "Pod", "metadata": _meta(f"d{j}-{r}", {**app, "tier": "web"}),
                        "spec": pod, "status": {"phase": "Running"}})  # fmt: skip
    return out


def budgets(n: int) -> list[Obj]:
    out: list[Obj] = []
    for j in range(n // 4):
        app = {"app": f"app{j}"}
        out.append(_deployment(f"d{j}", app, pods={**app, "tier": "web"}))
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"d{j}"}
        out.append({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": _meta(f"h{j}"),
                    "spec": {"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 5}})  # fmt: skip
        out.append(_budget(f"b{j}", {"matchLabels": {"tier": "web"} if j % 2 else app}, 2 + j % 3))
        out.append(_policy(f"n{j}", {"matchLabels": app}, {"matchLabels": {"tier": "web"}}))
    return out


def expressions(n: int) -> list[Obj]:
    out: list[Obj] = []
    for j in range(n // 3):
        out.append(_deployment(f"d{j}", {"app": f"app{j}"}, replicas=3))
        expr = {"matchExpressions": [{"key": "app", "operator": "In", "values": [f"app{j}", f"app{j + 1}"]}]}
        out += [_budget(f"b{j}", expr), _policy(f"n{j}", expr, expr)]
    return out


def teams(n: int) -> list[Obj]:
    out: list[Obj] = []
    rbac = "rbac.authorization.k8s.io/v1"
    for j in range(n // 14):
        app = {"app": f"app{j}"}
        refs = [{"configMapRef": {"name": f"cm{j}"}}, {"secretRef": {"name": f"sec{j}"}}]
        mounts = [{"name": "v", "mountPath": "/v"}]
        container = {"name": "c", "image": "nginx:1.27", "envFrom": refs, "volumeMounts": mounts}
        claim = {"claimName": f"pvc{j}"}
        volumes = [{"name": "v", "configMap": {"name": f"cm{j}"}}, {"name": "p", "persistentVolumeClaim": claim}]
        deployment = _deployment(f"d{j}", app, serviceAccountName=f"sa{j}", volumes=volumes)
        deployment["spec"]["template"]["spec"]["containers"] = [container]
        backend = {"service": {"name": f"s{j}", "port": {"number": 80}}}
        out += [
            deployment,
            _service(f"s{j}", app),
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"cm{j}"), "data": {"k": "v"}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": _meta(f"sec{j}"), "type": "Opaque"},
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(f"sa{j}")},
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _meta(f"pvc{j}"),
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
            _budget(f"b{j}", {"matchLabels": app}),
            _policy(f"n{j}", {"matchLabels": app}),
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": _meta(f"i{j}"),
             "spec": {"rules": [{"host": f"h{j}.example.com", "http": {"paths": [
                 {"path": "/", "pathType": "Prefix", "backend": backend}]}}]}},
            {"apiVersion": rbac, "kind": "Role", "metadata": _meta(f"r{j}"),
             "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
            {"apiVersion": rbac, "kind": "RoleBinding", "metadata": _meta(f"rb{j}"),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"r{j}"},
             "subjects": [{"kind": "ServiceAccount", "name": f"sa{j}", "namespace": NS}]},
        ]  # fmt: skip
    return out


def containers(n: int) -> list[Obj]:
    """One Deployment of ``n / 2`` containers (each with env, a port and a mount of its own ConfigMap)."""
    count = max(1, n // 2)
    listed = [{"name": f"c{i}", "image": f"reg.example/app{i}:1.{i}", "ports": [{"containerPort": 1000 + i}],
               "env": [{"name": f"E{j}", "value": "x"} for j in range(10)],
               "volumeMounts": [{"name": f"v{i}", "mountPath": f"/m{i}"}]} for i in range(count)]  # fmt: skip
    volumes = [{"name": f"v{i}", "configMap": {"name": f"cm{i}"}} for i in range(count)]
    wide = _deployment("wide", {"app": "wide"}, volumes=volumes)
    wide["spec"]["template"]["spec"]["containers"] = listed
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}
    return [wide, *({**config_map, "metadata": _meta(f"cm{i}")} for i in range(count))]


SHAPES: dict[str, Callable[[int], list[Obj]]] = {
    "services": services, "routing": routing, "budgets": budgets, "expressions": expressions, "teams": teams,
    "containers": containers,
}  # fmt: skip


def timed(objects: list[Obj], mode: str) -> dict[str, float]:
    """Seconds of each check over ``objects`` in one namespace (and the namespace itself)."""
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.snapshot import K8sObject, Snapshot

    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
    raws = [namespace, *objects]
    live = mode == "live"
    wrapped = [K8sObject(o, "api" if live else "crowded.json", None if live else i) for i, o in enumerate(raws)]
    # The checks first, as a run loads them: their modules register the indexes prepare() builds.
    checks = load_all(include_plugins=False).all()
    snap = Snapshot(objects=wrapped, mode=mode)
    snap.prepare()
    config = Config()
    config.exemptions.prepare(snap)
    # As a run does once its snapshot is built: the collector no longer walks the snapshot, so a
    # check's seconds are its own, not a collection's that happened to fall in it.
    gc.collect()
    gc.freeze()
    out = {}
    try:
        for check in checks:
            started = time.perf_counter()
            evaluate(check, snap, config)
            out[check.id] = round(time.perf_counter() - started, 3)
    finally:
        gc.unfreeze()
    return out


def measure(shape: str, size: int, mode: str) -> Obj:
    small, large = SHAPES[shape](size), SHAPES[shape](size * 4)
    before, after = timed(small, mode), timed(large, mode)
    rows = []
    for check_id, seconds in after.items():
        ratio = seconds / before[check_id] if before[check_id] > 0.001 else None
        rows.append({"check": check_id, "small_s": before[check_id], "large_s": seconds,
                     "ratio": None if ratio is None else round(ratio, 1),
                     "flagged": seconds > FLAG_S and ratio is not None and ratio > FLAG_RATIO})  # fmt: skip
    rows.sort(key=lambda r: -r["large_s"])
    return {"shape": shape, "mode": mode, "objects": [len(small) + 1, len(large) + 1],
            "total_s": [round(sum(before.values()), 2), round(sum(after.values()), 2)], "checks": rows}  # fmt: skip


def markdown(results: list[Obj]) -> str:
    lines = ["# Checks in one crowded namespace", "",
             f"`python -m bench.crowded`; flagged: over {FLAG_S} s at the larger size and grown more than "
             f"{FLAG_RATIO:g}x for 4x the objects.", "",
             "| shape | mode | objects | all checks | slowest checks at the larger size (s, growth) | flagged |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for r in results:
        slowest = ", ".join(f"{c['check']} {c['large_s']:.2f} ({c['ratio'] or '-'}x)" for c in r["checks"][:3])
        flagged = ", ".join(c["check"] for c in r["checks"] if c["flagged"]) or "none"
        lines.append(f"| {r['shape']} | {r['mode']} | {r['objects'][0]:,} → {r['objects'][1]:,} | "
                     f"{r['total_s'][0]} → {r['total_s'][1]} s | {slowest} | {flagged} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4000, help="objects of the smaller namespace (default 4000)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of: {', '.join(SHAPES)}")
    parser.add_argument("--modes", default="manifest,live", help="manifest, live or both")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        parser.error(f"unknown shape(s) {', '.join(unknown)}")
    if not shapes or not modes or any(m not in ("manifest", "live") for m in modes):
        parser.error("--shapes names at least one shape, --modes is manifest, live or both")
    if args.size < 1:
        parser.error("--size must be at least 1")
    results = []
    for shape in shapes:
        for mode in modes:
            result = measure(shape, args.size, mode)
            results.append(result)
            print(markdown([result]).splitlines()[-1], flush=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine(), "size": args.size, "results": results}
    (args.out_dir / f"{stamp}-crowded.json").write_text(json.dumps(report, indent=1) + "\n")
    (args.out_dir / f"{stamp}-crowded.md").write_text(markdown(results))
    return 1 if any(c["flagged"] for r in results for c in r["checks"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
