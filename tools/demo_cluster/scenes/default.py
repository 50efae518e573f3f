"""``default``: the ``kubernetes`` Service and somebody's forgotten ``nginx-test`` Deployment
(``nginx`` with no tag, no probes, no resources).
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import ctr
from ..world import N2


def build(b: Builder) -> None:
    ns = "default"
    b.service(
        ns,
        "kubernetes",
        530,
        selector=None,
        cluster_ip="172.20.0.1",
        labels={"component": "apiserver", "provider": "kubernetes"},
        ports=[{"name": "https", "port": 443, "targetPort": 443}],
    )
    # Somebody's `kubectl create deployment nginx-test --image=nginx`, forgotten for months.
    b.deployment(
        ns,
        "nginx-test",
        age=163,
        labels={"app": "nginx-test"},
        pod_labels={"app": "nginx-test"},
        replicas=1,
        spec={"containers": [ctr("nginx", "nginx")]},
        revisions=[{"age": 163, "pods": [(N2, "running", 41, 0, {"nginx": (0.0, 3)})]}],
    )
