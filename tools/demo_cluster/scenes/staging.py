"""``staging`` (``env=staging``): two replicas of everything, no NetworkPolicy, and a RoleBinding to a
Role that no longer exists.
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import ctr, http_probe, res
from ..world import ECR, N1, N2


def build(b: Builder) -> None:
    ns = "staging"
    b.rbac_role(
        "Role",
        "old-qa",
        ns,
        280,
        [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments"], "verbs": ["get", "list"]}],
    )
    # Bound to a Role that was renamed and no longer exists (OPS-010).
    b.binding(
        "RoleBinding",
        "qa-access",
        ns,
        150,
        "Role",
        "qa-reader",
        [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "qa-team"}],
    )
    for app, version, res_, nodes, usage in (
        ("frontend", "4.13.0-rc.2", res("250m", "384Mi", "1", "512Mi"), (N1, N2), (0.006, 160)),
        ("cart", "2.8.0-rc.1", res("200m", "256Mi", "500m", "384Mi"), (N1, N2), (0.001, 98)),
    ):
        lab = {"app.kubernetes.io/instance": f"{app}-staging", "app.kubernetes.io/name": app, "team": "shop"}
        b.deployment(
            ns,
            app,
            age=301,
            labels=lab,
            pod_labels=lab,
            replicas=2,
            spec={
                "containers": [
                    ctr(
                        app,
                        f"{ECR}/shop/{app}:{version}",
                        livenessProbe=http_probe("/healthz", initial=10, period=20),
                        ports=[{"containerPort": 8080, "name": "http"}],
                        readinessProbe=http_probe("/ready", period=5),
                        resources=res_,
                        securityContext={
                            "allowPrivilegeEscalation": False,
                            "runAsNonRoot": True,
                            "runAsUser": 10001,
                        },
                    ),
                ],
            },
            revisions=[{"age": 9, "pods": [(n, "running", 9, 0, {app: usage}) for n in nodes]}],
        )
        b.service(
            ns,
            app,
            301,
            selector={"app.kubernetes.io/instance": f"{app}-staging"},
            labels=lab,
            ports=[{"name": "http", "port": 8080, "targetPort": "http"}],
        )
