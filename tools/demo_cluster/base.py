"""The generator's state and primitives: the one random stream, ids, IPs, object metadata.

Every uid, resourceVersion, name suffix and IP comes from ``Gen.rng``, seeded once, and is drawn in
the order the scenes make their objects. That order is part of the output: moving a builder call
earlier or later shifts every id after it, so the regeneration test fails. Add new objects after
the existing ones of their scene, or accept a regenerated demo (and review the diff).
"""

from __future__ import annotations

import random
import uuid

from .world import NODES, RAND_ALPHABET, SEED, Obj


class Gen:
    """Builds the object list; all randomness comes from one seeded generator, in a fixed order."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.items: list[Obj] = []
        self.rv = 4_812_000
        self.used_ips: set[str] = set()
        self.used_cluster_ips: set[str] = {"172.20.0.1", "172.20.0.10"}
        self.pods: list[Obj] = []
        self.service_accounts: dict[tuple[str, str], Obj] = {}
        self.metrics_plan: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
        self.priority: dict[str, int] = {}

    # ---- primitives ---------------------------------------------------------------------------
    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, n: int = 5) -> str:
        return "".join(self.rng.choice(RAND_ALPHABET) for _ in range(n))

    def hexstr(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(n))

    def next_rv(self) -> str:
        self.rv += self.rng.randint(3, 977)
        return str(self.rv)

    def node_ip(self, node: str) -> str:
        return node.split(".")[0].removeprefix("ip-").replace("-", ".")

    def pod_ip(self, node: str) -> str:
        low, high = NODES[node][1]
        while True:
            ip = f"10.0.{self.rng.randint(low, high)}.{self.rng.randint(2, 254)}"
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def cluster_ip(self) -> str:
        while True:
            ip = f"172.20.{self.rng.randint(0, 255)}.{self.rng.randint(1, 254)}"
            if ip not in self.used_cluster_ips:
                self.used_cluster_ips.add(ip)
                return ip

    def meta(
        self,
        name: str,
        namespace: str | None = None,
        *,
        created: str,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        owner: Obj | None = None,
        generate_name: str | None = None,
        generation: int | None = None,
    ) -> Obj:
        meta: Obj = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        if generate_name:
            meta["generateName"] = generate_name
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        if owner is not None:
            meta["ownerReferences"] = [owner_ref(owner)]
        meta["creationTimestamp"] = created
        if generation is not None:
            meta["generation"] = generation
        meta["resourceVersion"] = self.next_rv()
        meta["uid"] = self.uid()
        return meta

    def add(self, obj: Obj) -> Obj:
        self.items.append(obj)
        return obj


def owner_ref(owner: Obj) -> Obj:
    return {
        "apiVersion": owner["apiVersion"],
        "blockOwnerDeletion": True,
        "controller": True,
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
    }
