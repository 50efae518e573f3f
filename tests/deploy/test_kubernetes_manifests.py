"""deploy/kubernetes: valid Kubernetes objects, least privilege, and consistent with each other.

No cluster here, so every field of every object is checked against the official client's models
(a misspelt or misplaced field is an error, as with ``kubectl apply --validate=strict``), the
ClusterRole is compared with what checks/sources/live.py actually lists, and the names that tie
the pieces together (service account, namespace, pool, secret, image paths) are checked across
files. With prefect-kubernetes installed, the base job template is rendered by its worker code
and the resulting Job is checked the same way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes.client as k8s
import pytest
import yaml

from checks.sources.live import METRICS_RESOURCES, RESOURCES
from tests.deploy.stack import REPO, prefect_yaml

pytestmark = pytest.mark.deploy

K8S_DIR = REPO / "deploy" / "kubernetes"
TEMPLATE = K8S_DIR / "base-job-template.json"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
READ_VERBS = {"get", "list", "watch"}
PLACEHOLDER = re.compile(r"^\{\{ *[a-z_]+ *\}\}$")


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, d) for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return docs


def _one(kind: str, name: str) -> dict[str, Any]:
    found = [d for _, d in _documents() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind}/{name} in deploy/kubernetes, found {len(found)}"
    return found[0]


def _template() -> dict[str, Any]:
    return json.loads(TEMPLATE.read_text())


# ---- schema --------------------------------------------------------------------------------------


def _model(kind: str, api_version: str) -> type:
    version = api_version.split("/")[-1].capitalize()
    return getattr(k8s, f"{version}{kind}")


def _unknown_fields(model: type, value: Any, where: str) -> list[str]:
    """Field names the Kubernetes API would reject, walking the client's generated models."""
    if not isinstance(value, dict):
        return []
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    problems = []
    for key, item in value.items():
        if key not in by_json:
            problems.append(f"{where}.{key}")
            continue
        problems += _check_type(model.openapi_types[by_json[key]], item, f"{where}.{key}")
    return problems


def _check_type(type_name: str, value: Any, where: str) -> list[str]:
    if isinstance(value, str) and PLACEHOLDER.match(value):
        return []  # a work-pool variable, filled in by the worker
    if match := re.fullmatch(r"[Ll]ist\[(.+)\]", type_name):
        return [p for i, v in enumerate(value or []) for p in _check_type(match.group(1), v, f"{where}[{i}]")]
    if type_name.startswith(("dict(", "Dict[")) or type_name in {"str", "int", "bool", "float", "object", "datetime"}:
        return []
    return _unknown_fields(getattr(k8s, type_name), value, where)


def test_every_manifest_parses_and_uses_only_known_fields() -> None:
    docs = _documents()
    assert {d["kind"] for _, d in docs} >= {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "ConfigMap",
    }
    for path, doc in docs:
        problems = _unknown_fields(_model(doc["kind"], doc["apiVersion"]), doc, f"{path.name}:{doc['kind']}")
        assert not problems, f"unknown fields: {problems}"
        if doc["kind"] not in {"Namespace", "ClusterRole", "ClusterRoleBinding"}:
            assert doc["metadata"].get("namespace") == "kwa", f"{path.name}: {doc['kind']} outside namespace kwa"


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    on_disk = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


# ---- least privilege --------------------------------------------------------------------------


def _code_reads() -> set[tuple[str, str]]:
    return {(group, plural) for group, _, plural, _ in (*RESOURCES.values(), *METRICS_RESOURCES.values())}


def test_cluster_role_grants_exactly_what_kwa_lists_and_nothing_else() -> None:
    role = _one("ClusterRole", "kwa-reader")
    granted: set[tuple[str, str]] = set()
    for rule in role["rules"]:
        verbs = set(rule["verbs"])
        assert verbs <= READ_VERBS, f"write or wildcard verb in {rule}"
        if "nonResourceURLs" in rule:
            assert rule["nonResourceURLs"] == ["/version"] and verbs == {"get"}, rule
            continue
        # kwa only ever lists, cluster-wide: no get (no object is read by name), no watch.
        assert verbs == {"list"}, f"kwa needs only list: {rule}"
        assert "*" not in rule["apiGroups"] and "*" not in rule["resources"], rule
        assert "resourceNames" not in rule, rule
        granted |= {(group, resource) for group in rule["apiGroups"] for resource in rule["resources"]}
    assert granted == _code_reads(), (
        f"missing: {sorted(_code_reads() - granted)}, not needed: {sorted(granted - _code_reads())}"
    )


def test_secrets_are_listable_only() -> None:
    for path, doc in _documents():
        for rule in doc.get("rules", []):
            if "secrets" in rule.get("resources", []) or "*" in rule.get("resources", []):
                assert rule["apiGroups"] == [""] and rule["verbs"] == ["list"], f"{path.name}: {rule}"
                assert doc["metadata"]["name"] == "kwa-reader", f"{path.name}: only the reader lists Secrets"


def test_binding_gives_the_job_service_account_the_reader_role() -> None:
    binding = _one("ClusterRoleBinding", "kwa-reader")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kwa-reader"}
    account = _one("ServiceAccount", "kwa-assessor")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["metadata"]["name"], "namespace": account["metadata"]["namespace"]}
    ]
    defaults = _template()["variables"]["properties"]
    assert defaults["service_account_name"]["default"] == "kwa-assessor"
    assert defaults["namespace"]["default"] == account["metadata"]["namespace"]


def test_worker_manages_jobs_in_its_namespace_only() -> None:
    role = _one("Role", "kwa-worker")
    resources = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]}
    assert resources == {("batch", "jobs"), ("", "pods"), ("", "pods/log"), ("", "events"), ("events.k8s.io", "events")}
    binding = _one("RoleBinding", "kwa-worker")
    assert binding["roleRef"]["kind"] == "Role" and binding["roleRef"]["name"] == "kwa-worker"
    assert not [
        d for _, d in _documents() if d["kind"] == "ClusterRoleBinding" and d["subjects"][0]["name"] == "kwa-worker"
    ]

    worker = _one("Deployment", "kwa-worker")
    pod = worker["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "kwa-worker"
    args = pod["containers"][0]["args"]
    pool = prefect_yaml()["definitions"]["work_pools"]["kubernetes"]["name"]
    assert args[:3] == ["prefect", "worker", "start"]
    assert args[args.index("--pool") + 1] == pool and args[args.index("--type") + 1] == "kubernetes"
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["PREFECT_INTEGRATIONS_KUBERNETES_OBSERVER_NAMESPACES"]["value"] == "kwa"
    assert env["PREFECT_API_URL"]["valueFrom"]["configMapKeyRef"]["name"] == "kwa-prefect"
    assert "PREFECT_HOME" not in env, "the worker copies Prefect settings into every Job; HOME is enough"


# ---- pods: restricted Pod Security Standard ---------------------------------------------------


def _assert_restricted(pod: dict[str, Any], what: str) -> None:
    security = pod["securityContext"]
    assert security["runAsNonRoot"] is True and security["seccompProfile"] == {"type": "RuntimeDefault"}, what
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False, what
        assert ctx["capabilities"]["drop"] == ["ALL"] and "add" not in ctx["capabilities"], what
        assert ctx.get("readOnlyRootFilesystem") is True, what
        assert not ctx.get("privileged"), what
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC"), what


def test_pods_meet_the_restricted_standard_the_namespace_enforces() -> None:
    namespace = _one("Namespace", "kwa")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    _assert_restricted(_one("Deployment", "kwa-worker")["spec"]["template"]["spec"], "worker")
    _assert_restricted(_template()["job_configuration"]["job_manifest"]["spec"]["template"]["spec"], "job template")


# ---- base job template ----------------------------------------------------------------------------


def test_job_template_fields_and_environment() -> None:
    template = _template()
    job = template["job_configuration"]["job_manifest"]
    problems = _unknown_fields(k8s.V1Job, job, "job_manifest")
    assert not problems, f"unknown fields: {problems}"
    # Every placeholder used is a declared variable.
    used = set(re.findall(r"\{\{ *([a-z_]+) *\}\}", json.dumps(template["job_configuration"])))
    assert used <= set(template["variables"]["properties"]), used - set(template["variables"]["properties"])

    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["name"] == "prefect-job"  # prefect-kubernetes refuses any other name
    env = {e["name"]: e for e in container["env"]}
    assert env["KWA_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "kwa-database", "key": "url"}
    assert "value" not in env["KWA_DATABASE_URL"], "no database credentials in the template"
    # The pull step's {{ $KWA_REPO_DIR }} must point where the image keeps the code.
    dockerfile = DOCKERFILE.read_text()
    assert f"KWA_REPO_DIR={env['KWA_REPO_DIR']['value']}" in dockerfile
    assert f"WORKDIR {env['KWA_REPO_DIR']['value']}" in dockerfile
    uid = job["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert f"USER {uid}:" in dockerfile and f"--uid {uid}" in dockerfile
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {env["HOME"]["value"], "/tmp"} <= mounts, "writable HOME and /tmp on a read-only root filesystem"
    defaults = template["variables"]["properties"]
    assert defaults["finished_job_ttl"]["default"], "finished Jobs must not pile up"
    assert defaults["backoff_limit"]["default"] == 0, "an evicted run is rescheduled by Prefect, not retried by k8s"


@pytest.mark.prefect
def test_job_template_renders_through_prefect_kubernetes(prefect_api: str) -> None:
    """The worker's own code turns the template into the Job it would create."""
    worker = pytest.importorskip("prefect_kubernetes.worker", reason="prefect-kubernetes is not installed")
    import asyncio
    import uuid

    from prefect.client.schemas.objects import FlowRun

    async def render() -> dict[str, Any]:
        config = await worker.KubernetesWorkerJobConfiguration.from_template_and_values(
            _template(), {"image": "registry.example.com/kwa:0.1.0", "env": {"EXTRA": "1"}}
        )
        config.prepare_for_flow_run(FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), name="brave-fox"))
        return config.job_manifest

    job = asyncio.run(render())
    problems = _unknown_fields(k8s.V1Job, job, "rendered Job")
    assert not problems, f"unknown fields: {problems}"
    pod = job["spec"]["template"]["spec"]
    assert job["metadata"]["namespace"] == "kwa" and pod["serviceAccountName"] == "kwa-assessor"
    assert job["spec"]["ttlSecondsAfterFinished"] == 3600 and job["spec"]["backoffLimit"] == 0
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    # Prefect's own variables (API URL, flow run id) are added, the template's kept, the deployment's merged.
    assert {"PREFECT_API_URL", "PREFECT__FLOW_RUN_ID", "EXTRA", "KWA_DATABASE_URL", "KWA_REPO_DIR"} <= set(env)
    assert env["KWA_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "kwa-database"
    assert pod["containers"][0]["image"] == "registry.example.com/kwa:0.1.0"
    assert pod["containers"][0]["args"] == ["prefect", "flow-run", "execute"]
    _assert_restricted(pod, "rendered Job")
