"""``payments``' data: the postgres StatefulSet pinned to the old ``db`` node group (replica 1
cannot schedule, its PVC Pending; ``data-postgres-2`` orphaned by a scale-down), and the nightly
``reconcile`` CronJob with its Jobs.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from ..builder import Builder
from ..podspec import ctr, default_pod_spec, res, tcp_probe
from ..world import ECR, N1, N2, N4, NOW, ts
from .payments import BASE_SC, NS, TEAM


def build(b: Builder) -> None:
    # postgres: StatefulSet pinned to the old "db" node group; replica 1 cannot schedule
    # (its PVC waits for a first consumer) and data-postgres-2 was left behind by a scale-down.
    pg_labels = {"app": "postgres", **TEAM}
    b.service(
        NS,
        "postgres",
        480,
        selector={"app": "postgres"},
        labels=pg_labels,
        headless=True,
        ports=[{"name": "postgres", "port": 5432, "targetPort": "postgres"}],
    )
    pg_spec = default_pod_spec(
        {
            "containers": [
                ctr(
                    "postgres",
                    "postgres:15.6",
                    env=[
                        {"name": "POSTGRES_USER", "value": "ledger"},
                        {
                            "name": "POSTGRES_PASSWORD",
                            "valueFrom": {"secretKeyRef": {"key": "password", "name": "postgres-credentials"}},
                        },
                        {"name": "PGDATA", "value": "/var/lib/postgresql/data/pgdata"},
                    ],
                    livenessProbe={
                        "exec": {"command": ["pg_isready", "-U", "ledger"]},
                        "failureThreshold": 6,
                        "initialDelaySeconds": 30,
                        "periodSeconds": 10,
                        "successThreshold": 1,
                        "timeoutSeconds": 5,
                    },
                    ports=[{"containerPort": 5432, "name": "postgres"}],
                    readinessProbe=tcp_probe("postgres", initial=5),
                    resources=res("1700m", "2Gi", mem_limit="4Gi"),
                    volumeMounts=[
                        {"mountPath": "/var/lib/postgresql/data", "name": "data"},
                        {"mountPath": "/etc/postgresql", "name": "config"},
                    ],
                ),
            ],
            "nodeSelector": {"workload-class": "db"},
            "securityContext": {"fsGroup": 999, "runAsUser": 999},
            "volumes": [{"configMap": {"name": "postgres-config"}, "name": "config"}],
        }
    )
    sts = b.add(
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": b.meta("postgres", NS, created=ts(480), labels=pg_labels, generation=3),
            "spec": {
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                "podManagementPolicy": "OrderedReady",
                "replicas": 2,
                "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "postgres"}},
                "serviceName": "postgres",
                "template": {"metadata": {"creationTimestamp": None, "labels": dict(pg_labels)}, "spec": pg_spec},
                "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"},
                "volumeClaimTemplates": [
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"creationTimestamp": None, "name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "100Gi"}},
                            "storageClassName": "gp2",
                            "volumeMode": "Filesystem",
                        },
                        "status": {"phase": "Pending"},
                    }
                ],
            },
        }
    )
    rev = f"postgres-{b.rng.choice('5678')}{b.suffix(9)}"
    claims = {}
    for idx, phase, age in ((0, "Bound", 480), (1, "Pending", 9), (2, "Bound", 455)):
        claims[idx] = b.pvc(
            NS, f"data-postgres-{idx}", age, "100Gi", phase=phase, volume=None, labels={"app": "postgres"}, node=N4
        )
    for idx in (0, 2):
        vol = f"pvc-{claims[idx]['metadata']['uid']}"
        claims[idx]["spec"]["volumeName"] = vol
        b.pv(vol, 480 if idx == 0 else 455, "100Gi", "b", claims[idx])
    for idx, node, state, age in ((0, N4, "running", 212), (1, None, "pending", 9)):
        name = f"postgres-{idx}"
        spec = copy.deepcopy(pg_spec)
        spec["hostname"] = name
        spec["subdomain"] = "postgres"
        spec["volumes"].insert(0, {"name": "data", "persistentVolumeClaim": {"claimName": f"data-{name}"}})
        b.pod(
            NS,
            name,
            template_spec=spec,
            owner=sts,
            node=node,
            age=age,
            state=state,
            labels={
                **pg_labels,
                "apps.kubernetes.io/pod-index": str(idx),
                "controller-revision-hash": rev,
                "statefulset.kubernetes.io/pod-name": name,
            },
            generate_name="postgres-",
            usage={"postgres": (0.243, 1370)},
        )
    sts["status"] = {
        "availableReplicas": 1,
        "collisionCount": 0,
        "currentReplicas": 2,
        "currentRevision": rev,
        "observedGeneration": 3,
        "readyReplicas": 1,
        "replicas": 2,
        "updateRevision": rev,
        "updatedReplicas": 2,
    }

    # reconcile: nightly CronJob (default concurrencyPolicy Allow, no startingDeadlineSeconds).
    rc_labels = {"app": "reconcile", **TEAM}
    job_spec = default_pod_spec(
        {
            "containers": [
                ctr(
                    "reconcile",
                    f"{ECR}/payments/api:3.4.1",
                    args=["reconcile", "--since=24h"],
                    envFrom=[{"configMapRef": {"name": "payments-api-config"}}],
                    resources=res("200m", "256Mi", mem_limit="512Mi"),
                    securityContext={"allowPrivilegeEscalation": False},
                ),
            ],
            "securityContext": BASE_SC,
        },
        restart="OnFailure",
    )
    cron = b.add(
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": b.meta("reconcile", NS, created=ts(480), labels=rc_labels, generation=1),
            "spec": {
                "concurrencyPolicy": "Allow",
                "failedJobsHistoryLimit": 1,
                "jobTemplate": {
                    "metadata": {"creationTimestamp": None},
                    "spec": {
                        "template": {
                            "metadata": {"creationTimestamp": None, "labels": dict(rc_labels)},
                            "spec": job_spec,
                        }
                    },
                },
                "schedule": "0 2 * * *",
                "successfulJobsHistoryLimit": 3,
                "suspend": False,
            },
        }
    )
    for days_ago in (2, 1, 0):
        run = NOW.replace(hour=2, minute=0) - timedelta(days=days_ago)
        age = (NOW - run).total_seconds() / 86400
        job_name = f"reconcile-{int(run.timestamp() // 60)}"
        job = b.add(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": b.meta(
                    job_name,
                    NS,
                    created=ts(age),
                    owner=cron,
                    generation=1,
                    annotations={"batch.kubernetes.io/cronjob-scheduled-timestamp": run.strftime("%Y-%m-%dT%H:%M:%SZ")},
                ),
            }
        )
        uid = job["metadata"]["uid"]
        job_labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": job_name,
            "controller-uid": uid,
            "job-name": job_name,
        }
        job["metadata"]["labels"] = job_labels
        pod_labels = {**rc_labels, **job_labels}
        job["spec"] = {
            "backoffLimit": 6,
            "completionMode": "NonIndexed",
            "completions": 1,
            "manualSelector": False,
            "parallelism": 1,
            "podReplacementPolicy": "TerminatingOrFailed",
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
            "suspend": False,
            "template": {"metadata": {"creationTimestamp": None, "labels": pod_labels}, "spec": job_spec},
        }
        done = ts(age, minutes=-4, seconds=-12)
        job["status"] = {
            "completionTime": done,
            "conditions": [{"lastProbeTime": done, "lastTransitionTime": done, "status": "True", "type": "Complete"}],
            "ready": 0,
            "startTime": ts(age),
            "succeeded": 1,
            "terminating": 0,
            "uncountedTerminatedPods": {},
        }
        b.pod(
            NS,
            f"{job_name}-{b.suffix()}",
            generate_name=f"{job_name}-",
            template_spec=job_spec,
            labels=pod_labels,
            owner=job,
            node=N1 if days_ago != 1 else N2,
            age=age,
            state="succeeded",
        )
    cron["status"] = {
        "lastScheduleTime": NOW.replace(hour=2, minute=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lastSuccessfulTime": ts(0, hours=9, minutes=55, seconds=48),
    }
