"""Logs and metrics: whether the cluster ships them at all (OPS-011)."""

from __future__ import annotations

from collections.abc import Iterator

from checks.context import CheckContext
from checks.model import Result
from checks.registry import check
from checks.snapshot import Workload

_LOG_AGENTS = (
    "fluent-bit", "fluentbit", "fluentd", "vector", "promtail", "alloy", "grafana-agent", "otel-collector",
    "opentelemetry-collector", "otelcol", "datadog", "cloudwatch-agent", "aws-for-fluent-bit", "filebeat",
    "elastic-agent", "splunk", "newrelic-logging", "sumologic", "ama-logs", "omsagent", "logging-agent",
    "stackdriver", "oneagent", "logdna", "logstash",
)


_METRICS_STACKS = (
    "prometheus", "victoria-metrics", "victoriametrics", "vmagent", "vmsingle", "otel-collector",
    "opentelemetry-collector", "otelcol", "datadog", "grafana-agent", "alloy", "newrelic", "cloudwatch-agent",
    "ama-metrics", "dynatrace", "oneagent", "sysdig", "instana", "thanos", "signalfx", "splunk-otel",
)


_METRICS_KINDS = ("Prometheus", "PrometheusAgent", "VMAgent", "VMSingle", "VMCluster", "OpenTelemetryCollector")


def _haystack(w: Workload) -> str:
    labels = {**w.pod_labels, **w.obj.labels}
    parts = [w.name, labels.get("app.kubernetes.io/name", ""), labels.get("k8s-app", ""), labels.get("app", "")]
    parts += [str(c.get("image", "")) for c in w.containers()]
    return " ".join(parts).lower()


@check("OPS-011")
def observability_baseline(ctx: CheckContext) -> Iterator[Result]:
    """One cluster-level result: warning when no log-shipping DaemonSet or no metrics stack is detected,
    passing otherwise. Detection matches names, ``app``/``k8s-app``/``app.kubernetes.io/name`` labels and
    images against built-in patterns plus the ``log_agent_patterns`` / ``metrics_patterns`` settings;
    Prometheus/VictoriaMetrics/OpenTelemetry operator objects also count as a metrics stack.
    """
    log_patterns = (*_LOG_AGENTS, *(str(x).lower() for x in ctx.setting("log_agent_patterns", []) or []))
    metric_patterns = (*_METRICS_STACKS, *(str(x).lower() for x in ctx.setting("metrics_patterns", []) or []))
    logs: list[str] = []
    metrics: list[str] = [o.ref for o in ctx.snapshot.of_kind(*_METRICS_KINDS)]
    for w in ctx.snapshot.workloads():
        if w.kind not in ("DaemonSet", "Deployment", "StatefulSet"):
            continue
        text = _haystack(w)
        if w.kind == "DaemonSet" and any(p in text for p in log_patterns):
            logs.append(w.obj.ref)
        if any(p in text for p in metric_patterns) or w.namespace == "gmp-system":
            metrics.append(w.obj.ref)
    details = {"log_agents": logs, "metrics": metrics}
    missing = []
    if not logs:
        missing.append("no log-shipping agent DaemonSet detected")
    if not metrics:
        missing.append("no metrics stack detected")
    if missing:
        yield ctx.warn(None, "; ".join(missing), details=details)
    else:
        yield ctx.ok(None, f"log agent {logs[0]}, metrics {metrics[0]}", details=details)
