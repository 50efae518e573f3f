"""Makers for the simple kinds: Namespace, ServiceAccount, ConfigMap, Secret, Service, PVC, PV,
RBAC roles and bindings, NetworkPolicy and Ingress.

Each maker takes what a scene cares about and returns the object as the API server would print it
(defaulted spec, status), already added to the dump.
"""

from __future__ import annotations

from .base import Gen
from .world import N1, REGION, Obj, ts


class ObjectMakers(Gen):
    def namespace(self, name: str, age: float, labels: dict[str, str] | None = None) -> Obj:
        all_labels = {"kubernetes.io/metadata.name": name, **(labels or {})}
        return self.add(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": self.meta(name, created=ts(age), labels=all_labels),
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"},
            }
        )

    def service_account(
        self,
        ns: str,
        name: str,
        age: float,
        *,
        automount: bool | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        image_pull_secrets: list[str] | None = None,
    ) -> Obj:
        sa: Obj = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations),
        }
        if automount is not None:
            sa["automountServiceAccountToken"] = automount
        if image_pull_secrets:
            sa["imagePullSecrets"] = [{"name": s} for s in image_pull_secrets]
        self.service_accounts[(ns, name)] = sa
        return self.add(sa)

    def config_map(
        self,
        ns: str,
        name: str,
        age: float,
        data: dict[str, str],
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Obj:
        return self.add(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "data": data,
                "metadata": self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations),
            }
        )

    def secret(
        self,
        ns: str,
        name: str,
        age: float,
        type_: str = "Opaque",
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Obj:
        # Metadata and type only: the demo never carries secret values (no data / stringData).
        return self.add(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations),
                "type": type_,
            }
        )

    def kube_root_ca(self, ns: str, age: float) -> Obj:
        return self.config_map(
            ns,
            "kube-root-ca.crt",
            age,
            {
                "ca.crt": "-----BEGIN CERTIFICATE-----\nZGVtby1wcm9kIGNsdXN0ZXIgQ0EgKHBsYWNlaG9sZGVyKQ==\n"
                "-----END CERTIFICATE-----\n"
            },
            annotations={
                "kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver "
                "when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other "
                "usage is guaranteed across distributions of Kubernetes clusters."
            },
        )

    def service(
        self,
        ns: str,
        name: str,
        age: float,
        *,
        selector: dict[str, str] | None,
        ports: list[Obj],
        type_: str = "ClusterIP",
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        headless: bool = False,
        cluster_ip: str | None = None,
        lb_hostname: str | None = None,
    ) -> Obj:
        ip = "None" if headless else (cluster_ip or self.cluster_ip())
        spec: Obj = {
            "clusterIP": ip,
            "clusterIPs": [ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [],
            "sessionAffinity": "None",
            "type": type_,
        }
        for p in ports:
            port = {"protocol": "TCP", **p}
            port.setdefault("targetPort", port["port"])
            if type_ in ("NodePort", "LoadBalancer"):
                port.setdefault("nodePort", self.rng.randint(30000, 32767))
            spec["ports"].append(port)
        if selector:
            spec["selector"] = dict(selector)
        if type_ in ("NodePort", "LoadBalancer"):
            spec["externalTrafficPolicy"] = "Cluster"
        if type_ == "LoadBalancer":
            spec["allocateLoadBalancerNodePorts"] = True
        status: Obj = {"loadBalancer": {}}
        if lb_hostname:
            status = {"loadBalancer": {"ingress": [{"hostname": lb_hostname}]}}
        return self.add(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations),
                "spec": spec,
                "status": status,
            }
        )

    def pvc(
        self,
        ns: str,
        name: str,
        age: float,
        size: str,
        *,
        phase: str,
        volume: str | None = None,
        labels: dict[str, str] | None = None,
        storage_class: str = "gp2",
        node: str | None = None,
    ) -> Obj:
        annotations: dict[str, str] = {}
        if phase == "Bound":
            annotations = {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "kubernetes.io/aws-ebs",
                "volume.kubernetes.io/selected-node": node or N1,
                "volume.kubernetes.io/storage-provisioner": "kubernetes.io/aws-ebs",
            }
        meta = self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations or None)
        meta["finalizers"] = ["kubernetes.io/pvc-protection"]
        spec: Obj = {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": size}},
            "storageClassName": storage_class,
            "volumeMode": "Filesystem",
        }
        status: Obj = {"phase": phase}
        if phase == "Bound":
            spec["volumeName"] = volume
            status = {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": size}, "phase": "Bound"}
        return self.add(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec, "status": status}
        )

    def pv(
        self,
        name: str,
        age: float,
        size: str,
        zone: str,
        claim: Obj | None,
        *,
        phase: str = "Bound",
        claim_ref: Obj | None = None,
    ) -> Obj:
        meta = self.meta(
            name,
            created=ts(age),
            labels={"topology.kubernetes.io/region": REGION, "topology.kubernetes.io/zone": f"{REGION}{zone}"},
            annotations={
                "kubernetes.io/createdby": "aws-ebs-dynamic-provisioner",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "pv.kubernetes.io/provisioned-by": "kubernetes.io/aws-ebs",
            },
        )
        meta["finalizers"] = ["kubernetes.io/pv-protection"]
        if claim is not None:
            claim_ref = {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "name": claim["metadata"]["name"],
                "namespace": claim["metadata"]["namespace"],
                "resourceVersion": claim["metadata"]["resourceVersion"],
                "uid": claim["metadata"]["uid"],
            }
        spec = {
            "accessModes": ["ReadWriteOnce"],
            "awsElasticBlockStore": {"fsType": "ext4", "volumeID": f"aws://{REGION}{zone}/vol-0{self.hexstr(16)}"},
            "capacity": {"storage": size},
            "claimRef": claim_ref,
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [f"{REGION}{zone}"]},
                                {"key": "topology.kubernetes.io/region", "operator": "In", "values": [REGION]},
                            ]
                        }
                    ]
                }
            },
            "persistentVolumeReclaimPolicy": "Retain",
            "storageClassName": "gp2",
            "volumeMode": "Filesystem",
        }
        status: Obj = {"lastPhaseTransitionTime": ts(age), "phase": phase}
        return self.add(
            {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta, "spec": spec, "status": status}
        )

    def rbac_role(
        self,
        kind: str,
        name: str,
        ns: str | None,
        age: float,
        rules: list[Obj],
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        aggregation: list[dict[str, str]] | None = None,
    ) -> Obj:
        obj: Obj = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind,
            "metadata": self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations),
            "rules": rules,
        }
        if aggregation is not None:
            obj["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": m} for m in aggregation]}
        return self.add(obj)

    def binding(
        self,
        kind: str,
        name: str,
        ns: str | None,
        age: float,
        role_kind: str,
        role: str,
        subjects: list[Obj],
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Obj:
        return self.add(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": kind,
                "metadata": self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations),
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
                "subjects": subjects,
            }
        )

    def network_policy(self, ns: str, name: str, age: float, spec: Obj, labels: dict[str, str] | None = None) -> Obj:
        return self.add(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": self.meta(name, ns, created=ts(age), labels=labels, generation=1),
                "spec": spec,
            }
        )

    def ingress(
        self,
        ns: str,
        name: str,
        age: float,
        rules: list[Obj],
        *,
        tls: list[Obj] | None = None,
        annotations: dict[str, str] | None = None,
        labels: dict[str, str] | None = None,
        lb: str | None = None,
    ) -> Obj:
        spec: Obj = {"ingressClassName": "alb", "rules": rules}
        if tls:
            spec["tls"] = tls
        meta = self.meta(name, ns, created=ts(age), labels=labels, annotations=annotations, generation=1)
        meta["finalizers"] = ["ingress.k8s.aws/resources"]
        status: Obj = {"loadBalancer": {"ingress": [{"hostname": lb}]} if lb else {}}
        return self.add(
            {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec, "status": status}
        )
