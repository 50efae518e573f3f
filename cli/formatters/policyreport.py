"""A stored run as Kubernetes policy reports: wg-policy ``wgpolicyk8s.io/v1alpha2``
(``PolicyReport``/``ClusterPolicyReport``) or OpenReports ``openreports.io/v1alpha1``
(``Report``/``ClusterReport``), the custom resources Policy Reporter, Kyverno's UI and other
dashboards read.

One namespaced report per namespace that has results, one cluster-scoped report for results
without a namespace (cluster-scoped objects, and manifests that name none: kwa never invents a
namespace). A group whose results would make an object larger than :data:`MAX_OBJECT_BYTES`
(compact JSON, what the API server stores) is split into several reports, each with its own
summary. Names are deterministic (``kwa-<namespace>``, ``kwa-<namespace>-2``…, ``kwa-cluster``…),
so applying a later run's reports replaces the earlier ones. The mapping is in
docs/policy-reports.md.

Printed as a YAML stream (``---`` between documents), which ``kubectl apply -f -`` takes: a single
``kind: List`` around every report would itself pass the size limit on a large run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

from cli.formatters import REPORT_FORMATS  # the -o names: DIALECTS's keys (tests/cli/test_policyreport.py)

__all__ = [
    "DIALECTS",
    "MAX_OBJECT_BYTES",
    "REPORT_FORMATS",
    "Dialect",
    "build_reports",
    "write_reports",
]


@dataclass(frozen=True)
class Dialect:
    api_version: str
    kind: str  # the namespaced report
    cluster_kind: str
    plural: str
    cluster_plural: str
    # OpenReports has a report-level ``source``; wg-policy v1alpha2 only a per-result one.
    report_source: bool

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.split("/")[1]


DIALECTS: dict[str, Dialect] = {
    "policyreport": Dialect(
        "wgpolicyk8s.io/v1alpha2", "PolicyReport", "ClusterPolicyReport", "policyreports", "clusterpolicyreports", False
    ),
    "openreports": Dialect("openreports.io/v1alpha1", "Report", "ClusterReport", "reports", "clusterreports", True),
}

SOURCE = "kwa"
MANAGED_BY = ("app.kubernetes.io/managed-by", "kwa")
CLUSTER_LABEL = "kwa.io/cluster"
RUN_LABEL = "kwa.io/run"
# etcd takes requests up to 1.5 MiB; a report stays under 1 MiB of compact JSON with room for what
# the API server adds (managedFields, uid, resourceVersion, timestamps).
MAX_OBJECT_BYTES = 1024 * 1024
_HEADROOM = 64 * 1024
MAX_MESSAGE = 2048  # characters of a result's message (a check's message is one sentence)
MAX_PROPERTY = 1024  # characters of one property value (remediation text is the long one)

# kwa status -> the reports' result. ``timeout`` is kwa's own failure to evaluate, as ``error`` is.
RESULT_OF = {
    "passing": "pass",
    "failing": "fail",
    "warning": "warn",
    "skipped": "skip",
    "error": "error",
    "timeout": "error",
}
SUMMARY_KEYS = ("pass", "fail", "warn", "error", "skip")
SEVERITIES = ("critical", "high", "medium", "low", "info")  # the same words in kwa and both dialects
# kwa's score counts passing, failing and warning results weighted by severity; info weighs 0.
SCORED_STATUSES = ("passing", "failing", "warning")

# The group/version of the kinds kwa assesses; a kind not listed gets no apiVersion (the reports
# leave it optional) rather than a guess.
API_VERSION_OF = {
    "Pod": "v1",
    "Service": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "ServiceAccount": "v1",
    "Namespace": "v1",
    "Node": "v1",
    "PersistentVolume": "v1",
    "PersistentVolumeClaim": "v1",
    "LimitRange": "v1",
    "ResourceQuota": "v1",
    "Endpoints": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "IngressClass": "networking.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "StorageClass": "storage.k8s.io/v1",
    "PriorityClass": "scheduling.k8s.io/v1",
    "VerticalPodAutoscaler": "autoscaling.k8s.io/v1",
}

_NOT_NAME = re.compile(r"[^a-z0-9-]+")
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def object_name(base: str) -> str:
    """``base`` as a DNS-1123 name (at most 63 characters so a ``-NN`` suffix still fits 253): kept
    when already one, else cleaned and marked with a digest of the original so two names that clean
    alike stay apart."""
    clean = _NOT_NAME.sub("-", base.lower()).strip("-") or "x"
    if clean == base and len(clean) <= 63:
        return clean
    return f"{clean[:54].strip('-')}-{_digest(base)}"


def label_value(value: str) -> str:
    """``value`` as a label value (63 characters, alphanumeric at both ends), same rule as names."""
    clean = _NOT_LABEL.sub("-", value).strip("-_.")
    if clean == value and len(clean) <= 63:
        return clean
    return f"{clean[:54].strip('-_.')}-{_digest(value)}".lstrip("-")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timestamp(value: Any) -> dict[str, int] | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # storage keeps UTC
    seconds = int(value.timestamp())
    return {"seconds": seconds, "nanos": value.microsecond * 1000}


def result_of(row: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """One stored result as a report result (see the mapping in docs/policy-reports.md)."""
    status = str(row.get("status") or "")
    severity = str(row.get("severity") or "").lower()
    out: dict[str, Any] = {
        "policy": str(row.get("check_id") or "unknown"),
        "rule": str(row.get("check_name") or row.get("check_id") or "unknown"),
        "category": str(row.get("pillar") or ""),
        "result": RESULT_OF.get(status, "error"),
        "scored": status in SCORED_STATUSES and severity != "info",
        "source": SOURCE,
    }
    if severity in SEVERITIES:
        out["severity"] = severity
    if row.get("message"):
        out["message"] = _clip(str(row["message"]), MAX_MESSAGE)
    kind, name = row.get("object_kind"), row.get("object_name")
    if kind and name:
        ref = {"kind": str(kind), "name": str(name)}
        if kind in API_VERSION_OF:
            ref = {"apiVersion": API_VERSION_OF[kind], **ref}
        if row.get("object_namespace"):
            ref["namespace"] = str(row["object_namespace"])
        if row.get("field_path"):
            ref["fieldPath"] = str(row["field_path"])
        out["resources"] = [ref]  # kwa stores no uid: the reference is by name
    props = {
        "pillar": row.get("pillar"),
        "kwa.status": status,  # ``timeout`` and ``error`` both read ``error`` above
        "kwa.run": run_id,
        "kwa.result": row.get("id"),
        "container": row.get("container"),
        "reason": row.get("reason"),
        "remediation": row.get("remediation"),
    }
    for name, ids in (row.get("frameworks") or {}).items():  # with --framework: the controls it maps to
        props[f"framework.{name}"] = " ".join(str(i) for i in ids)
    out["properties"] = {k: _clip(str(v), MAX_PROPERTY) for k, v in props.items() if v not in (None, "")}
    stamp = _timestamp(row.get("assessed_at"))
    if stamp is not None:
        out["timestamp"] = stamp
    return out


def _size(value: Any) -> int:
    return len(orjson.dumps(value))


def _chunks(results: list[dict[str, Any]], room: int) -> Iterator[list[dict[str, Any]]]:
    """``results`` in order, cut so each chunk's encoded results (with separators) fit ``room`` bytes."""
    chunk: list[dict[str, Any]] = []
    used = 0
    for result in results:
        size = _size(result) + 1  # the comma between array items
        if chunk and used + size > room:
            yield chunk
            chunk, used = [], 0
        chunk.append(result)
        used += size
    if chunk or not results:
        yield chunk


def _summary(results: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(SUMMARY_KEYS, 0)
    for result in results:
        counts[result["result"]] += 1
    return counts


def build_reports(
    run: Mapping[str, Any],
    rows: Iterable[Mapping[str, Any]],
    fmt: str,
    *,
    max_bytes: int = MAX_OBJECT_BYTES,
) -> list[dict[str, Any]]:
    """The reports of ``run`` (a runs row) from its stored result ``rows``: namespaces in name
    order, then the cluster-scoped report(s); each object's compact JSON at most ``max_bytes``."""
    dialect = DIALECTS[fmt]
    run_id = str(run.get("run_id") or "")
    cluster = str(run.get("cluster_id") or "")
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(row.get("object_namespace") or None, []).append(result_of(row, run_id))
    labels = {MANAGED_BY[0]: MANAGED_BY[1], CLUSTER_LABEL: label_value(cluster), RUN_LABEL: label_value(run_id)}
    annotations = {"kwa.io/cluster-id": cluster, "kwa.io/run-id": run_id, "kwa.io/run-state": str(run.get("state"))}
    reports: list[dict[str, Any]] = []
    order = sorted(ns for ns in groups if ns is not None) + ([None] if None in groups else [])
    for namespace in order:
        base = object_name(f"kwa-{namespace}") if namespace is not None else "kwa-cluster"
        skeleton = _skeleton(dialect, base + "-999", namespace, labels, annotations)
        room = max_bytes - _HEADROOM - _size(skeleton)
        parts = list(_chunks(groups[namespace], room))
        for n, results in enumerate(parts, start=1):
            name = base if n == 1 else f"{base}-{n}"
            report = _skeleton(dialect, name, namespace, labels, annotations)
            if len(parts) > 1:
                report["metadata"]["annotations"]["kwa.io/part"] = f"{n}/{len(parts)}"
            report["summary"] = _summary(results)
            report["results"] = results
            reports.append(report)
    return reports


def _skeleton(
    dialect: Dialect, name: str, namespace: str | None, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(labels)
    metadata["annotations"] = dict(annotations)
    report: dict[str, Any] = {
        "apiVersion": dialect.api_version,
        "kind": dialect.kind if namespace is not None else dialect.cluster_kind,
        "metadata": metadata,
    }
    if dialect.report_source:
        report["source"] = SOURCE
    report["summary"] = dict.fromkeys(SUMMARY_KEYS, 10**9)  # the widest summary, for the size estimate
    report["results"] = []
    return report


def write_reports(run: Mapping[str, Any], rows: Iterable[Mapping[str, Any]], fmt: str, out: TextIO) -> int:
    """Print the reports as a YAML stream; how many were printed."""
    reports = build_reports(run, rows, fmt)
    for report in reports:
        out.write("---\n")
        out.writelines(_yaml_lines(report, ""))
    return len(reports)


# PyYAML's representer takes ~20 s for 20,000 results; the reports hold only mappings, lists,
# strings, integers and booleans, so they are written directly: block style, every string a
# double-quoted scalar. A JSON string literal is a valid YAML double-quoted scalar (YAML's escapes
# include all of JSON's), so no text can break out of its value, whatever a cluster put in it.
_PLAIN_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    try:
        text = orjson.dumps(str(value)).decode()
    except TypeError:  # a lone surrogate: json writes it as an escape
        text = json.dumps(str(value), ensure_ascii=False)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# Characters YAML forbids in a stream (C1 controls, non-characters) or reads as line breaks (NEL,
# U+2028/2029), which would fold inside a quoted scalar: escaped, as JSON leaves them raw.
_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_YAML_WORDS = ("true", "false", "null", "yes", "no", "on", "off", "y", "n")


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and key.lower() not in _YAML_WORDS else _scalar(key)


def _yaml_lines(value: Mapping[str, Any], pad: str, first: str | None = None) -> Iterator[str]:
    """``value`` (a mapping) as block YAML lines at indentation ``pad``; ``first`` prefixes the
    first line instead of ``pad`` (``"- "`` for a list item)."""
    lead = first if first is not None else pad
    for key, item in value.items():
        head = f"{lead}{_key(key)}:"
        lead = pad
        if isinstance(item, Mapping) and item:
            yield head + "\n"
            yield from _yaml_lines(item, pad + "  ")
        elif isinstance(item, list) and item:
            yield head + "\n"
            for element in item:
                if isinstance(element, Mapping) and element:
                    yield from _yaml_lines(element, pad + "  ", pad + "- ")
                else:
                    yield f"{pad}- {_yaml_inline(element)}\n"
        else:
            yield f"{head} {_yaml_inline(item)}\n"


def _yaml_inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"  # only empty mappings and lists are written inline
    if isinstance(value, list):
        return "[]"
    return _scalar(value)
