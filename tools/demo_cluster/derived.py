"""What is derived from the rest of the dump once the scenes are done: ResourceQuota usage,
an EndpointSlice for every Service (from the pods its selector picks) and the metrics.k8s.io snapshot.
"""

from __future__ import annotations

from .base import Gen
from .pods import pod_ready
from .podspec import labels_match
from .world import NODES, REGION, Obj, ts


class DerivedMakers(Gen):
    def quota_usage(self, ns: str) -> dict[str, str]:
        """ResourceQuota ``status.used`` for the running pods of a namespace."""
        cpu_m = mem_mi = lim_mi = pods = 0
        for p in self.pods:
            if p["metadata"]["namespace"] != ns or p["status"].get("phase") not in ("Running", "Pending"):
                continue
            pods += 1
            for c in p["spec"]["containers"]:
                r = c.get("resources") or {}
                cpu_m += _millis((r.get("requests") or {}).get("cpu", "0"))
                mem_mi += _mebis((r.get("requests") or {}).get("memory", "0Mi"))
                lim_mi += _mebis((r.get("limits") or {}).get("memory", "0Mi"))
        return {
            "limits.memory": f"{lim_mi}Mi",
            "pods": str(pods),
            "requests.cpu": f"{cpu_m}m",
            "requests.memory": f"{mem_mi}Mi",
        }

    # ---- EndpointSlices for every Service, from the pods the selector picks -----------------------
    def endpoint_slices(self) -> None:
        services = [o for o in self.items if o["kind"] == "Service"]
        for svc in services:
            ns = svc["metadata"]["namespace"]
            name = svc["metadata"]["name"]
            selector = svc["spec"].get("selector")
            ports = svc["spec"]["ports"]
            if name == "kubernetes":
                endpoints = [{"addresses": [ip], "conditions": {"ready": True}} for ip in ("10.0.7.214", "10.0.38.66")]
                slice_ports = [{"name": "https", "port": 443, "protocol": "TCP"}]
                self.add(
                    {
                        "addressType": "IPv4",
                        "apiVersion": "discovery.k8s.io/v1",
                        "endpoints": endpoints,
                        "kind": "EndpointSlice",
                        "metadata": self.meta(
                            "kubernetes",
                            ns,
                            created=ts(530),
                            labels={"kubernetes.io/service-name": "kubernetes"},
                            generation=1,
                        ),
                        "ports": slice_ports,
                    }
                )
                continue
            if not selector:
                continue
            pods = [
                p
                for p in self.pods
                if p["metadata"]["namespace"] == ns
                and labels_match(selector, p["metadata"]["labels"])
                and p["status"].get("podIP")
                and p["status"].get("phase") in ("Running", "Pending")
            ]
            endpoints = []
            for p in pods:
                ready = pod_ready(p)
                ep: Obj = {
                    "addresses": [p["status"]["podIP"]],
                    "conditions": {"ready": ready, "serving": ready, "terminating": False},
                    "nodeName": p["spec"]["nodeName"],
                    "targetRef": {
                        "kind": "Pod",
                        "name": p["metadata"]["name"],
                        "namespace": ns,
                        "uid": p["metadata"]["uid"],
                    },
                    "zone": f"{REGION}{NODES[p['spec']['nodeName']][0]}",
                }
                if svc["spec"].get("clusterIP") == "None":
                    ep["hostname"] = p["metadata"]["name"]
                endpoints.append(ep)
            slice_ports = []
            for sp in ports:
                target = sp["targetPort"]
                number = target
                if isinstance(target, str):
                    number = next(
                        (
                            cp["containerPort"]
                            for p in pods
                            for c in p["spec"]["containers"]
                            for cp in c.get("ports") or []
                            if cp.get("name") == target
                        ),
                        None,
                    )
                port: Obj = {"name": sp.get("name", ""), "port": number, "protocol": sp.get("protocol", "TCP")}
                slice_ports.append(port)
            labels = {
                **svc["metadata"].get("labels", {}),
                "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": name,
            }
            if svc["spec"].get("clusterIP") == "None":
                labels["service.kubernetes.io/headless"] = ""
            slice_name = f"{name}-{self.suffix()}"
            meta = self.meta(
                slice_name,
                ns,
                created=svc["metadata"]["creationTimestamp"],
                labels=labels,
                annotations={"endpoints.kubernetes.io/last-change-trigger-time": ts(0, hours=3)},
                owner=svc,
                generate_name=f"{name}-",
                generation=1,
            )
            obj: Obj = {
                "addressType": "IPv4",
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": meta,
                "ports": slice_ports if pods else None,
            }
            obj["endpoints"] = endpoints or None
            self.add(obj)

    # ---- metrics.k8s.io ---------------------------------------------------------------------------
    def metrics(self) -> Obj:
        items: list[Obj] = []
        pods_by_node: dict[str, list[tuple[float, float]]] = {n: [] for n in NODES}
        pod_items = []
        for pod in sorted(self.pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
            key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
            plan = self.metrics_plan.get(key)
            if plan is None:
                continue
            containers = []
            for c in pod["spec"]["containers"]:
                cpu, mem_mib = plan.get(c["name"], (0.001, 8))
                cpu *= 1 + self.rng.uniform(-0.08, 0.08)
                mem_mib *= 1 + self.rng.uniform(-0.03, 0.03)
                nano = max(int(cpu * 1e9), 180_000)
                ki = int(mem_mib * 1024)
                containers.append({"name": c["name"], "usage": {"cpu": f"{nano}n", "memory": f"{ki}Ki"}})
                pods_by_node[pod["spec"]["nodeName"]].append((nano / 1e9, ki * 1024))
            pod_items.append(
                {
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "containers": containers,
                    "kind": "PodMetrics",
                    "metadata": {
                        "creationTimestamp": ts(0),
                        "labels": dict(pod["metadata"].get("labels") or {}),
                        "name": key[1],
                        "namespace": key[0],
                    },
                    "timestamp": ts(0, seconds=self.rng.randint(5, 25)),
                    "window": f"{self.rng.randint(14, 20)}.{self.rng.randint(100, 999)}s",
                }
            )
        for node, pods in pods_by_node.items():
            cpu = sum(c for c, _ in pods) + 0.09 + self.rng.uniform(0, 0.03)  # kubelet, containerd, system
            mem = sum(m for _, m in pods) + 780 * 2**20 + self.rng.randint(0, 60) * 2**20
            items.append(
                {
                    "apiVersion": "metrics.k8s.io/v1beta1",
                    "kind": "NodeMetrics",
                    "metadata": {"creationTimestamp": ts(0), "labels": {"kubernetes.io/hostname": node}, "name": node},
                    "timestamp": ts(0, seconds=self.rng.randint(5, 25)),
                    "usage": {"cpu": f"{int(cpu * 1e9)}n", "memory": f"{int(mem // 1024)}Ki"},
                    "window": f"{self.rng.randint(14, 20)}.{self.rng.randint(100, 999)}s",
                }
            )
        return {"apiVersion": "v1", "items": items + pod_items, "kind": "List", "metadata": {"resourceVersion": ""}}


def _millis(cpu: str) -> int:
    return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)


def _mebis(mem: str) -> int:
    return int(mem[:-2]) * 1024 if mem.endswith("Gi") else int(mem[:-2])
