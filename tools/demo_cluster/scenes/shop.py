"""``shop``, the well-run namespace: restricted Pod Security, ServiceAccounts without tokens,
hardened pods with probes and requests/limits, three Deployments (frontend, cart, catalog) spread over
zones, HPAs, PDBs, quota and LimitRange; its NetworkPolicies and Ingress are in ``shop_network``.
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import RESTRICTED_CTR_SC, RESTRICTED_POD_SC, ctr, http_probe, res
from ..world import ECR, N1, N2, N3, Obj, ts

NS = "shop"


def labels_for(app: str, version: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": app,
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/part-of": "shop",
        "app.kubernetes.io/version": version,
        "helm.sh/chart": f"{app}-{version}",
        "team": "shop",
    }


def build(b: Builder) -> None:
    b.service_account(NS, "frontend", 517, automount=False, labels={"app.kubernetes.io/name": "frontend"})
    b.service_account(NS, "cart", 517, automount=False, labels={"app.kubernetes.io/name": "cart"})
    b.service_account(NS, "catalog", 517, automount=False, labels={"app.kubernetes.io/name": "catalog"})
    b.config_map(
        NS,
        "frontend-config",
        6,
        {
            "CART_URL": "http://cart.shop.svc:8080",
            "CATALOG_URL": "http://catalog.shop.svc:8080",
            "LOG_LEVEL": "info",
        },
        labels={"app.kubernetes.io/name": "frontend", "app.kubernetes.io/part-of": "shop"},
    )
    b.secret(NS, "catalog-db", 517, labels={"app.kubernetes.io/name": "catalog"})
    b.secret(NS, "cart-redis", 517, labels={"app.kubernetes.io/name": "cart"})
    b.secret(
        NS,
        "sh.helm.release.v1.shop.v14",
        6,
        "helm.sh/release.v1",
        labels={"modifiedAt": "1761480000", "name": "shop", "owner": "helm", "status": "deployed", "version": "14"},
    )
    quota = b.add(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": b.meta("shop-quota", NS, created=ts(517), labels={"team": "shop"}),
            "spec": {"hard": {"limits.memory": "24Gi", "pods": "60", "requests.cpu": "12", "requests.memory": "16Gi"}},
            "status": {
                "hard": {"limits.memory": "24Gi", "pods": "60", "requests.cpu": "12", "requests.memory": "16Gi"},
                "used": {},  # filled in once the pods exist
            },
        }
    )
    b.add(
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": b.meta("shop-defaults", NS, created=ts(517), labels={"team": "shop"}),
            "spec": {
                "limits": [
                    {
                        "default": {"cpu": "500m", "memory": "512Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                        "max": {"memory": "4Gi"},
                        "type": "Container",
                    }
                ]
            },
        }
    )

    def hardened(
        app: str,
        image: str,
        res_: Obj,
        *,
        env: list[Obj] | None = None,
        volumes: list[Obj] | None = None,
        mounts: list[Obj] | None = None,
    ) -> Obj:
        sel = {"app.kubernetes.io/instance": app, "app.kubernetes.io/name": app}
        return {
            "automountServiceAccountToken": False,
            "containers": [
                ctr(
                    app,
                    image,
                    env=env or [{"name": "PORT", "value": "8080"}],
                    **({"envFrom": [{"configMapRef": {"name": f"{app}-config"}}]} if app == "frontend" else {}),
                    livenessProbe=http_probe("/healthz", initial=10, period=20),
                    ports=[{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}],
                    readinessProbe=http_probe("/ready", period=5),
                    resources=res_,
                    securityContext=dict(RESTRICTED_CTR_SC),
                    volumeMounts=[{"mountPath": "/tmp", "name": "tmp"}, *(mounts or [])],
                ),
            ],
            "priorityClassName": "shop-critical",
            "securityContext": dict(RESTRICTED_POD_SC),
            "serviceAccountName": app,
            "topologySpreadConstraints": [
                {
                    "labelSelector": {"matchLabels": sel},
                    "maxSkew": 1,
                    "topologyKey": "topology.kubernetes.io/zone",
                    "whenUnsatisfiable": "ScheduleAnyway",
                },
                {
                    "labelSelector": {"matchLabels": sel},
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "DoNotSchedule",
                },
            ],
            "volumes": [{"emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}, "name": "tmp"}, *(volumes or [])],
        }

    apps = {
        "frontend": (
            "4.12.3",
            "web",
            res("250m", "384Mi", "1", "512Mi"),
            [{"name": "PORT", "value": "8080"}],
            [],
            [],
        ),
        "cart": (
            "2.7.0",
            "api",
            res("200m", "256Mi", "500m", "384Mi"),
            [{"name": "PORT", "value": "8080"}, {"name": "REDIS_ADDR", "value": "cart-redis.shop.svc:6379"}],
            [{"name": "redis-auth", "secret": {"secretName": "cart-redis"}}],
            [{"mountPath": "/etc/cart/redis", "name": "redis-auth", "readOnly": True}],
        ),
        "catalog": (
            "1.19.2",
            "api",
            res("1", "1Gi", "2", "1536Mi"),
            [{"name": "PORT", "value": "8080"}],
            [{"name": "db", "secret": {"secretName": "catalog-db"}}],
            [{"mountPath": "/etc/catalog/db", "name": "db", "readOnly": True}],
        ),
    }
    # frontend: 3 replicas over 3 nodes; node 3 joined two days ago and took one replica.
    plans = {
        "frontend": (
            3,
            [
                {"age": 19, "pods": []},
                {
                    "age": 6,
                    "pods": [
                        (N1, "running", 6, 0, {"frontend": (0.094, 212)}),
                        (N2, "running", 6, 0, {"frontend": (0.088, 205)}),
                        (N3, "running", 2, 0, {"frontend": (0.071, 190)}),
                    ],
                },
            ],
        ),
        "cart": (
            2,
            [
                {
                    "age": 33,
                    "pods": [
                        (N1, "running", 33, 0, {"cart": (0.061, 148)}),
                        (N3, "running", 2, 0, {"cart": (0.055, 151)}),
                    ],
                }
            ],
        ),
        "catalog": (
            2,
            [
                {
                    "age": 27,
                    "pods": [
                        (N1, "running", 27, 0, {"catalog": (0.038, 221)}),
                        (N2, "running", 27, 0, {"catalog": (0.031, 208)}),
                    ],
                }
            ],
        ),
    }
    deployments = {}
    for app, (version, component, resources, env, volumes, mounts) in apps.items():
        image = f"{ECR}/shop/{app}:{version}"
        lab = labels_for(app, version, component)
        sel = {"app.kubernetes.io/instance": app, "app.kubernetes.io/name": app}
        replicas, revisions = plans[app]
        deployments[app] = b.deployment(
            NS,
            app,
            age=517,
            labels=lab,
            pod_labels={
                **sel,
                "app.kubernetes.io/part-of": "shop",
                "team": "shop",
                "app.kubernetes.io/version": version,
            },
            annotations={"meta.helm.sh/release-name": "shop", "meta.helm.sh/release-namespace": "shop"},
            pod_annotations={"prometheus.io/port": "9090", "prometheus.io/scrape": "true"},
            spec=hardened(app, image, resources, env=env, volumes=volumes, mounts=mounts),
            replicas=replicas,
            revisions=revisions,
            selector=sel,
        )
        b.service(
            NS,
            app,
            517,
            selector=sel,
            labels=lab,
            annotations={"service.kubernetes.io/topology-mode": "Auto"},
            ports=[{"name": "http", "port": 8080 if app != "frontend" else 80, "targetPort": "http"}],
        )
    b.hpa(
        NS,
        "frontend",
        517,
        deployments["frontend"],
        min_r=3,
        max_r=10,
        cpu=70,
        current=38,
        labels=labels_for("frontend", "4.12.3", "web"),
    )
    b.hpa(
        NS,
        "cart",
        517,
        deployments["cart"],
        min_r=2,
        max_r=6,
        cpu=70,
        current=31,
        labels=labels_for("cart", "2.7.0", "api"),
    )
    b.hpa(
        NS,
        "catalog",
        517,
        deployments["catalog"],
        min_r=2,
        max_r=6,
        cpu=75,
        current=4,
        labels=labels_for("catalog", "1.19.2", "api"),
    )
    b.pdb(
        NS,
        "frontend",
        517,
        {"app.kubernetes.io/instance": "frontend", "app.kubernetes.io/name": "frontend"},
        min_available=2,
        unhealthy_policy="AlwaysAllow",
        labels=labels_for("frontend", "4.12.3", "web"),
    )
    for app in ("cart", "catalog"):
        b.pdb(
            NS,
            app,
            517,
            {"app.kubernetes.io/instance": app, "app.kubernetes.io/name": app},
            max_unavailable=1,
            unhealthy_policy="AlwaysAllow",
            labels=labels_for(app, apps[app][0], "api"),
        )
    quota["status"]["used"] = b.quota_usage(NS)
