"""``legacy``, the badly run namespace: root containers, ``latest`` tags, no probes or resources,
the privileged ``log-shipper`` DaemonSet mounting the Docker socket, an idle LoadBalancer, Ingresses
without TLS or pointing at a deleted Service, a wildcard Role on the default ServiceAccount, a PDB
that selects nothing, a scaled-to-zero Deployment, a bare debug Pod, a finished Job never cleaned up.
"""

from __future__ import annotations

from ..builder import Builder
from ..podspec import ctr, default_pod_spec
from ..world import ECR, N1, N2, N3, N4, REGION, ts


def build(b: Builder) -> None:
    ns = "legacy"
    b.service_account(ns, "legacy-admin", 529)
    b.config_map(
        ns,
        "monolith-config",
        300,
        {
            "APP_ENV": "production",
            "DB_HOST": "legacy-db.cluster-demo.eu-west-1.rds.amazonaws.com",
            # Deliberate (SEC-021): a credential in a ConfigMap. Obviously fake value.
            "SMTP_PASSWORD": "changeme",
            "SMTP_USER": "monolith",
        },
    )
    b.config_map(ns, "old-feature-flags", 497, {"flags.json": '{"checkout_v1": true, "legacy_search": true}'})
    b.config_map(
        ns,
        "log-shipper-config",
        529,
        {
            "fluent.conf": "<source>\n  @type tail\n  path /var/log/containers/*.log\n"
            "  tag kubernetes.*\n</source>\n"
            "<match **>\n  @type elasticsearch\n  host logs.legacy.internal\n</match>\n"
        },
    )
    b.secret(ns, "monolith-db", 529)
    b.secret(ns, "old-api-key", 497)
    b.rbac_role("Role", "deployer", ns, 529, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    b.binding(
        "RoleBinding",
        "deployer",
        ns,
        529,
        "Role",
        "deployer",
        [{"kind": "ServiceAccount", "name": "default", "namespace": ns}],
    )
    b.pvc(ns, "monolith-uploads", 529, "50Gi", phase="Bound", volume=None, node=N1)
    uploads = b.items[-1]
    vol = f"pvc-{uploads['metadata']['uid']}"
    uploads["spec"]["volumeName"] = vol
    b.pv(vol, 529, "50Gi", "a", uploads)
    # A PV whose claim was deleted long ago: Released, Retain, still billed.
    b.pv(
        f"pvc-{b.uid()}",
        402,
        "200Gi",
        "a",
        None,
        phase="Released",
        claim_ref={
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "name": "reports-archive",
            "namespace": ns,
            "resourceVersion": str(b.rng.randint(1_000_000, 2_000_000)),
            "uid": b.uid(),
        },
    )

    mono_labels = {"app": "monolith"}
    mono_spec = {
        "containers": [
            ctr(
                "monolith",
                f"{ECR}/legacy/monolith:latest",
                imagePullPolicy="IfNotPresent",
                envFrom=[{"secretRef": {"name": "monolith-db"}}, {"configMapRef": {"name": "monolith-config"}}],
                ports=[{"containerPort": 8080}],
                securityContext={"runAsUser": 0},
                volumeMounts=[{"mountPath": "/srv/uploads", "name": "uploads"}],
            ),
        ],
        "serviceAccountName": "legacy-admin",
        "volumes": [{"name": "uploads", "persistentVolumeClaim": {"claimName": "monolith-uploads"}}],
    }
    mono = b.deployment(
        ns,
        "monolith",
        age=529,
        labels=mono_labels,
        pod_labels=mono_labels,
        spec=mono_spec,
        replicas=1,
        history=25,
        # The RWO EBS volume forces Recreate: every rollout is an outage (REL-017).
        strategy={"type": "Recreate"},
        revisions=[
            {
                "age": 300,
                "pods": [(N1, "running", 41, 5, {"monolith": (0.412, 2210)}), (N1, "evicted", 43, 0, None)],
            }
        ],
    )
    b.hpa(
        ns,
        "monolith",
        300,
        mono,
        min_r=1,
        max_r=3,
        cpu=80,
        current=None,
        failing="the HPA was unable to compute the replica count: failed to get cpu utilization: missing "
        "request for cpu in container monolith of Pod "
        f"{next(p for p in b.pods if p['metadata']['name'].startswith('monolith-'))['metadata']['name']}",
    )
    b.service(
        ns,
        "monolith",
        529,
        selector=mono_labels,
        type_="NodePort",
        ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}],
    )
    # The admin portal Deployment was deleted last year; its internet-facing LB is still billed.
    b.service(
        ns,
        "old-admin",
        497,
        selector={"app": "admin-portal"},
        type_="LoadBalancer",
        annotations={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
        ports=[{"name": "https", "port": 443, "targetPort": 8443}],
        lb_hostname=f"a{b.hexstr(31)}-{b.hexstr(16)}.elb.{REGION}.amazonaws.com",
    )
    b.ingress(
        ns,
        "monolith",
        529,
        [
            {
                "host": "legacy.example.com",
                "http": {
                    "paths": [
                        {
                            "backend": {"service": {"name": "monolith", "port": {"number": 80}}},
                            "path": "/",
                            "pathType": "Prefix",
                        }
                    ]
                },
            }
        ],
        annotations={
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "instance",
        },
        lb=f"k8s-legacy-monolith-{b.hexstr(10)}-{b.rng.randint(100000000, 999999999)}.{REGION}.elb.amazonaws.com",
    )
    b.ingress(
        ns,
        "admin",
        497,
        [
            {
                "host": "admin.legacy.example.com",
                "http": {
                    "paths": [
                        {
                            "backend": {"service": {"name": "admin-portal", "port": {"number": 443}}},
                            "path": "/",
                            "pathType": "Prefix",
                        }
                    ]
                },
            }
        ],
        tls=[{"hosts": ["admin.legacy.example.com"]}],
        annotations={
            "alb.ingress.kubernetes.io/scheme": "internet-facing",
            "alb.ingress.kubernetes.io/target-type": "ip",
        },
    )
    # A PDB written with a typo: it selects app=monolith-web, which no pod has.
    b.pdb(ns, "monolith", 300, {"app": "monolith-web"}, min_available=1)

    # report-worker: scaled to zero by hand 140 days ago and forgotten.
    rw_labels = {"app": "report-worker"}
    b.deployment(
        ns,
        "report-worker",
        age=497,
        labels=rw_labels,
        pod_labels=rw_labels,
        replicas=0,
        spec={
            "containers": [
                ctr(
                    "worker",
                    f"{ECR}/legacy/monolith:latest",
                    args=["worker", "--queue=reports"],
                    envFrom=[{"secretRef": {"name": "monolith-db"}}],
                )
            ]
        },
        revisions=[{"age": 497, "pods": [], "replicas": 0}],
        managed=[
            {
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:template": {}}},
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "time": ts(497),
            },
            {
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}},
                "manager": "kubectl",
                "operation": "Update",
                "subresource": "scale",
                "time": ts(140),
            },
            {
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:status": {"f:conditions": {}}},
                "manager": "kube-controller-manager",
                "operation": "Update",
                "subresource": "status",
                "time": ts(140),
            },
        ],
    )

    # log-shipper: privileged fluentd from the deprecated registry, reading the Docker socket.
    ls_labels = {"app": "log-shipper"}
    b.daemonset(
        ns,
        "log-shipper",
        age=529,
        labels=ls_labels,
        pod_labels=ls_labels,
        spec={
            "containers": [
                ctr(
                    "fluentd",
                    "k8s.gcr.io/fluentd-elasticsearch:v2.4.0",
                    env=[{"name": "FLUENT_ELASTICSEARCH_HOST", "value": "logs.legacy.internal"}],
                    securityContext={"privileged": True},
                    volumeMounts=[
                        {"mountPath": "/var/log", "name": "varlog"},
                        {"mountPath": "/var/run/docker.sock", "name": "docker-sock"},
                        {"mountPath": "/fluentd/etc", "name": "config"},
                    ],
                ),
            ],
            "serviceAccountName": "default",
            "tolerations": [{"operator": "Exists"}],
            "volumes": [
                {"hostPath": {"path": "/var/log"}, "name": "varlog"},
                {"hostPath": {"path": "/var/run/docker.sock"}, "name": "docker-sock"},
                {"configMap": {"name": "log-shipper-config"}, "name": "config"},
            ],
        },
        pods=[
            (N1, 41, {"fluentd": (0.021, 182)}),
            (N2, 41, {"fluentd": (0.019, 176)}),
            (N3, 2, {"fluentd": (0.011, 141)}),
            (N4, 212, {"fluentd": (0.009, 233)}),
        ],
    )

    # `kubectl run debug-netshoot --image=nicolaka/netshoot -- sleep infinity`, weeks ago.
    b.pod(
        ns,
        "debug-netshoot",
        template_spec=default_pod_spec(
            {"containers": [ctr("debug-netshoot", "nicolaka/netshoot", args=["sleep", "infinity"])]}
        ),
        labels={"run": "debug-netshoot"},
        owner=None,
        node=N3,
        age=1.8,
        usage={"debug-netshoot": (0.0, 2)},
    )
    # A one-off migration Job from last year: no TTL, its pod is still around.
    job = b.add(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": b.meta("db-migrate-2025-06", ns, created=ts(517), generation=1),
        }
    )
    uid = job["metadata"]["uid"]
    job_labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": job["metadata"]["name"],
        "controller-uid": uid,
        "job-name": job["metadata"]["name"],
    }
    job["metadata"]["labels"] = job_labels
    mig_spec = default_pod_spec(
        {
            "containers": [
                ctr(
                    "migrate",
                    f"{ECR}/legacy/monolith:latest",
                    args=["migrate", "--to=latest"],
                    envFrom=[{"secretRef": {"name": "monolith-db"}}],
                )
            ]
        },
        restart="Never",
    )
    job["spec"] = {
        "backoffLimit": 6,
        "completionMode": "NonIndexed",
        "completions": 1,
        "manualSelector": False,
        "parallelism": 1,
        "podReplacementPolicy": "TerminatingOrFailed",
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
        "suspend": False,
        "template": {"metadata": {"creationTimestamp": None, "labels": job_labels}, "spec": mig_spec},
    }
    done = ts(517, minutes=-3)
    job["status"] = {
        "completionTime": done,
        "conditions": [{"lastProbeTime": done, "lastTransitionTime": done, "status": "True", "type": "Complete"}],
        "ready": 0,
        "startTime": ts(517),
        "succeeded": 1,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    }
    b.pod(
        ns,
        f"db-migrate-2025-06-{b.suffix()}",
        generate_name="db-migrate-2025-06-",
        template_spec=mig_spec,
        labels=job_labels,
        owner=job,
        node=N4,
        age=212,
        state="succeeded",
    )
