"""The bundled demo cluster's generator: ``checks/data/demo-cluster.yaml`` and ``demo-metrics.yaml``.

The demo is what ``kubectl get <every kind> -A -o yaml`` prints for a small EKS production cluster
"demo-prod" (Kubernetes 1.29.4): one ``kind: List`` whose items carry live metadata (uid,
resourceVersion, ownerReferences), defaulted specs and status. The metrics file is a
``metrics.k8s.io/v1beta1`` snapshot (NodeMetrics and PodMetrics) taken at the same moment.
Run it with ``python tools/make_demo_cluster.py [--out-dir checks/data]``.

The story, by namespace, and the module that tells it (all under ``scenes/``):

* ``shop`` is run well (``shop.py``, ``shop_network.py``): restricted PSA, default-deny
  NetworkPolicy, hardened pods, probes, requests/limits, PDBs, HPAs, zone spreading, quota and
  LimitRange, cost labels.
* ``payments`` is mixed (``payments.py``, ``payments_data.py``): a hard-coded password, a PDB that
  allows no disruption, an HPA with min == max, a crash-looping pod, a stuck rollout
  (ImagePullBackOff), a StatefulSet whose second replica cannot schedule (PVC Pending) and an
  orphaned PVC left behind by a scale-down.
* ``legacy`` is run badly (``legacy.py``): root, ``latest`` tags, no probes/resources, a privileged
  log-shipper DaemonSet mounting the Docker socket, an idle LoadBalancer, an Ingress without TLS and
  one pointing at a deleted Service, a wildcard Role on the default ServiceAccount, a cluster-admin
  ServiceAccount, a bare debug Pod, a scaled-to-zero Deployment, unused ConfigMap/Secret.
* ``staging`` (``env=staging``, ``staging.py``) runs two replicas of everything and no NetworkPolicy.
* ``default`` (``default.py``) holds a forgotten ``nginx`` test Deployment.
* ``kube-system`` (``kube_system.py``, ``kube_system_addons.py``, ``kube_system_daemonsets.py``)
  holds the EKS add-ons as EKS installs them, privileged kube-proxy and aws-node included.

Cluster-wide: all nodes amd64 on-demand; node 4 (old node group, kubelet 1.28) is cordoned; node 3
is nearly empty (``nodes.py``); no cluster-autoscaler, VPA or metrics stack; ``gp2`` default
StorageClass with ``reclaimPolicy: Retain`` and a Released PV (that PV is made in ``legacy.py``);
a validating webhook with ``failurePolicy: Fail`` and a 30 s timeout (``data/webhooks.yaml``);
cluster-admin bound to a CI user (``cluster_rbac.py``, from ``data/cluster-rbac.yaml``).

How it is built: ``cluster.py`` lists the scenes in order; each scene calls the makers of
``builder.Builder`` (one module per family of kinds: ``objects.py``, ``pods.py``, ``workloads.py``,
``scaling.py``; ``derived.py`` adds EndpointSlices, quota usage and metrics at the end);
``podspec.py`` holds the pod-spec building blocks; ``data/*.yaml`` holds the objects that are
plain data (cluster RBAC, admission webhooks); ``output.py`` writes the files.

Everything is deterministic: a fixed seed and timestamps relative to a fixed "now"
(2026-11-01T12:00:00Z, ``world.py``), so re-running the generator reproduces the committed files
byte for byte (``tests/sources_demo/test_demo.py`` checks it). Secrets carry metadata and ``type``
only; the demo never contains secret values.
"""

from .output import generate, main, write

__all__ = ["generate", "main", "write"]
