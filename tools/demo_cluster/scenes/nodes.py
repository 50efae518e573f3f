"""The four EKS nodes (all amd64, on-demand, two zones): node 3 joined two days ago and is nearly
empty; node 4 is from the old ``db-v1`` node group, runs kubelet 1.28 and is cordoned.
"""

from __future__ import annotations

from ..builder import Builder
from ..world import N4, NODES, REGION, Obj, ts


def build(b: Builder) -> None:
    for name, (zone, _subnet, itype, cpu, mem_ki, age, group, kubelet) in NODES.items():
        ip = b.node_ip(name)
        instance = f"i-0{b.hexstr(16)}"
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": itype,
            "beta.kubernetes.io/os": "linux",
            "eks.amazonaws.com/capacityType": "ON_DEMAND",
            "eks.amazonaws.com/nodegroup": group,
            "eks.amazonaws.com/nodegroup-image": "ami-0" + b.hexstr(16),
            "failure-domain.beta.kubernetes.io/region": REGION,
            "failure-domain.beta.kubernetes.io/zone": f"{REGION}{zone}",
            "k8s.io/cloud-provider-aws": b.hexstr(32),
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": itype,
            "topology.ebs.csi.aws.com/zone": f"{REGION}{zone}",
            "topology.kubernetes.io/region": REGION,
            "topology.kubernetes.io/zone": f"{REGION}{zone}",
        }
        if group == "db-v1":
            labels["workload-class"] = "db"
        spec: Obj = {"providerID": f"aws:///{REGION}{zone}/{instance}"}
        if name == N4:
            spec["taints"] = [{"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "timeAdded": ts(9)}]
            spec["unschedulable"] = True
        alloc_cpu = "3920m" if cpu == 4 else "1930m"
        alloc_mem = f"{mem_ki - 942716}Ki" if cpu == 4 else f"{mem_ki - 1179492}Ki"
        heartbeat = ts(0, seconds=b.rng.randint(5, 50))
        conditions = []
        for type_, reason, message in (
            ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
            ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            ("Ready", "KubeletReady", "kubelet is posting ready status"),
        ):
            conditions.append(
                {
                    "lastHeartbeatTime": heartbeat,
                    "lastTransitionTime": ts(age, seconds=-40 if type_ == "Ready" else 0),
                    "message": message,
                    "reason": reason,
                    "status": "True" if type_ == "Ready" else "False",
                    "type": type_,
                }
            )
        kernel = "5.10.217-205.860.amzn2.x86_64" if kubelet == "1.29.3" else "5.10.209-198.858.amzn2.x86_64"
        b.add(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": b.meta(
                    name,
                    created=ts(age),
                    labels=labels,
                    annotations={
                        "alpha.kubernetes.io/provided-node-ip": ip,
                        "node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                    },
                ),
                "spec": spec,
                "status": {
                    "addresses": [
                        {"address": ip, "type": "InternalIP"},
                        {"address": name, "type": "InternalDNS"},
                        {"address": name, "type": "Hostname"},
                    ],
                    "allocatable": {
                        "cpu": alloc_cpu,
                        "ephemeral-storage": "95551679124",
                        "hugepages-1Gi": "0",
                        "hugepages-2Mi": "0",
                        "memory": alloc_mem,
                        "pods": "58" if cpu == 4 else "29",
                    },
                    "capacity": {
                        "cpu": str(cpu),
                        "ephemeral-storage": "104845292Ki",
                        "hugepages-1Gi": "0",
                        "hugepages-2Mi": "0",
                        "memory": f"{mem_ki}Ki",
                        "pods": "58" if cpu == 4 else "29",
                    },
                    "conditions": conditions,
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                    "nodeInfo": {
                        "architecture": "amd64",
                        "bootID": b.uid(),
                        "containerRuntimeVersion": "containerd://1.7.11",
                        "kernelVersion": kernel,
                        "kubeProxyVersion": f"v{kubelet}-eks-ae9a62a",
                        "kubeletVersion": f"v{kubelet}-eks-ae9a62a",
                        "machineID": b.hexstr(32),
                        "operatingSystem": "linux",
                        "osImage": "Amazon Linux 2",
                        "systemUUID": "ec2"
                        + b.hexstr(5)
                        + "-"
                        + b.hexstr(4)
                        + "-"
                        + b.hexstr(4)
                        + "-"
                        + b.hexstr(4)
                        + "-"
                        + b.hexstr(12),
                    },
                },
            }
        )
