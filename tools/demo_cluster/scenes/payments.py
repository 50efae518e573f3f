"""``payments``, the mixed namespace: a hard-coded password in a ConfigMap, ``payments-api`` with
a PDB that allows no disruption and an HPA with min == max, ``fraud-scorer`` crash-looping, and the
``notifier`` rollout stuck on ImagePullBackOff; postgres and the nightly CronJob are in ``payments_data``.
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import ctr, http_probe, res
from ..world import ECR, N1, N2, Obj

NS = "payments"
TEAM = {"team": "payments"}
BASE_SC = {"runAsNonRoot": True, "runAsUser": 1001, "seccompProfile": {"type": "RuntimeDefault"}}


def build(b: Builder) -> None:
    b.service_account(NS, "payments-api", 480, labels={"app": "payments-api", **TEAM})
    b.config_map(
        NS,
        "payments-api-config",
        120,
        {
            "FRAUD_SCORER_URL": "http://fraud-scorer.payments.svc:8080",
            "LEDGER_DB_HOST": "postgres-0.postgres.payments.svc",
        },
        labels={"app": "payments-api", **TEAM},
    )
    b.config_map(
        NS,
        "postgres-config",
        480,
        {"postgresql.conf": "max_connections = 200\nshared_buffers = 512MB\n"},
        labels={"app": "postgres", **TEAM},
    )
    b.secret(NS, "payments-db", 480, labels={"app": "payments-api", **TEAM})
    b.secret(NS, "postgres-credentials", 480, labels={"app": "postgres", **TEAM})
    b.rbac_role(
        "Role",
        "payments-api-config-reader",
        NS,
        480,
        [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}],
        labels=TEAM,
    )
    b.binding(
        "RoleBinding",
        "payments-api-config-reader",
        NS,
        480,
        "Role",
        "payments-api-config-reader",
        [{"kind": "ServiceAccount", "name": "payments-api", "namespace": NS}],
        labels=TEAM,
    )

    api_labels = {"app": "payments-api", **TEAM}
    api_spec = {
        "containers": [
            ctr(
                "api",
                f"{ECR}/payments/api:3.4.1",
                env=[
                    {"name": "SPRING_PROFILES_ACTIVE", "value": "prod"},
                    {"name": "DB_USER", "value": "payments"},
                    # Deliberate (SEC-020): a literal password in the pod spec. Fake value.
                    {"name": "DB_PASSWORD", "value": "changeme"},
                    {
                        "name": "LEDGER_DB_PASSWORD",
                        "valueFrom": {"secretKeyRef": {"key": "password", "name": "payments-db"}},
                    },
                ],
                envFrom=[{"configMapRef": {"name": "payments-api-config"}}],
                livenessProbe=http_probe("/actuator/health/liveness", initial=45),
                ports=[{"containerPort": 8080, "name": "http"}],
                readinessProbe=http_probe("/actuator/health/readiness", initial=20),
                resources=res("500m", "512Mi", "2", "1Gi"),
                securityContext={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            ),
        ],
        "securityContext": BASE_SC,
        "serviceAccountName": "payments-api",
    }
    api = b.deployment(
        NS,
        "payments-api",
        age=480,
        labels=api_labels,
        pod_labels=api_labels,
        spec=api_spec,
        replicas=2,
        revisions=[
            {"age": 61, "pods": []},
            {
                "age": 14,
                "pods": [
                    (N1, "running", 14, 0, {"api": (0.182, 702)}),
                    (N2, "running", 14, 1, {"api": (0.171, 688)}),
                ],
            },
        ],
    )
    b.service(
        NS,
        "payments-api",
        480,
        selector={"app": "payments-api"},
        labels=api_labels,
        ports=[{"name": "http", "port": 443, "targetPort": "http"}],
    )
    b.hpa(NS, "payments-api", 480, api, min_r=2, max_r=2, cpu=60, current=35, labels=api_labels)
    b.pdb(NS, "payments-api", 480, {"app": "payments-api"}, max_unavailable=0, labels=api_labels)
    b.network_policy(
        NS,
        "payments-api-ingress",
        480,
        {
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}],
                    "ports": [{"port": 8080, "protocol": "TCP"}],
                }
            ],
            "podSelector": {"matchLabels": {"app": "payments-api"}},
            "policyTypes": ["Ingress"],
        },
        labels=TEAM,
    )

    # fraud-scorer: crash-looping since this morning's config change.
    fs_labels = {"app": "fraud-scorer", **TEAM}
    b.deployment(
        NS,
        "fraud-scorer",
        age=201,
        labels=fs_labels,
        pod_labels=fs_labels,
        replicas=1,
        spec={
            "containers": [
                ctr(
                    "scorer",
                    f"{ECR}/payments/fraud-scorer:0.9.0",
                    args=["--model=/models/current", "--port=8080"],
                    livenessProbe=http_probe("/healthz"),
                    ports=[{"containerPort": 8080, "name": "http"}],
                    readinessProbe=http_probe("/healthz"),
                    resources=res("250m", "512Mi", mem_limit="1Gi"),
                    securityContext={"allowPrivilegeEscalation": False},
                ),
            ],
            "securityContext": BASE_SC,
        },
        revisions=[{"age": 201, "pods": [(N1, "crashloop", 0.2, 14, None)]}],
    )
    b.service(
        NS,
        "fraud-scorer",
        201,
        selector={"app": "fraud-scorer"},
        labels=fs_labels,
        ports=[{"name": "http", "port": 8080, "targetPort": "http"}],
    )

    # notifier: the 2.4.1 rollout is stuck on ImagePullBackOff; the old pod still serves.
    nt_labels = {"app": "notifier", **TEAM}

    def notifier_spec(version: str) -> Obj:
        return {
            "containers": [
                ctr(
                    "notifier",
                    f"{ECR}/payments/notifier:{version}",
                    env=[{"name": "SMTP_HOST", "value": "email-smtp.eu-west-1.amazonaws.com"}],
                    resources=res("100m", "128Mi", mem_limit="256Mi"),
                    securityContext={"allowPrivilegeEscalation": False},
                ),
            ],
            "securityContext": BASE_SC,
        }

    b.deployment(
        NS,
        "notifier",
        age=320,
        labels=nt_labels,
        pod_labels=nt_labels,
        spec=notifier_spec("2.4.1"),
        replicas=1,
        revisions=[
            {
                "age": 88,
                "spec": notifier_spec("2.4.0"),
                "pods": [(N2, "running", 41, 0, {"notifier": (0.012, 96)})],
            },
            {"age": 0.3, "pods": [(N2, "imagepull", 0.3, 0, None)]},
        ],
    )
