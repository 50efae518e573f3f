"""The settings checks read: each key's type, default, bounds and help, and which checks read it.

Checks only ever call ``ctx.setting(key, default)``; every key they read is declared here
(:data:`SETTINGS`) and documented in docs/configuration.md. Which checks read a key is not written
here: each check lists the settings it reads in its ``checks.yaml`` entry and :attr:`Setting.used_by`
is derived from those. The configuration file itself is read by :mod:`checks.config`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from checks.exemptions import InvalidExemption, validate_selector


class ConfigError(ValueError):
    """The configuration file is invalid; the message names the key."""


# ---- the settings checks read -----------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    """One key checks read through ``ctx.setting``: its type, default and help.

    Which checks read it is not written here: each check lists the settings it reads in its
    checks.yaml entry, and :attr:`used_by` is derived from those (one place to keep it).
    """

    key: str
    type: str  # int | number | bool | choice | version | text | list | selectors
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def used_by(self) -> tuple[str, ...]:
        """The built-in checks whose metadata says they read this setting, by id."""
        return _readers().get(self.key, ())

    def validate(self, value: Any, path: str) -> Any:
        """The value as the checks expect it, or ConfigError naming ``path``."""
        t = self.type
        if value is None and self.default is None:
            return None
        if t == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{path}: expected an integer, got {value!r}")
            return self._bounded(value, path)
        if t == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{path}: expected a number, got {value!r}")
            return self._bounded(value, path)
        if t == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: expected true or false, got {value!r}")
            return value
        if t == "choice":
            text = str(value).strip().lower() if isinstance(value, str | bool) else None
            if value is False:
                text = "off"  # YAML 1.1 reads a bare `off` as false
            if text not in self.choices:
                raise ConfigError(f"{path}: expected one of {', '.join(self.choices)}, got {value!r}")
            return text
        if t == "version":
            if isinstance(value, int | float) and not isinstance(value, bool):
                raise ConfigError(
                    f"{path}: write the version as a quoted string ('{value}'); YAML reads 1.30 as the number 1.3"
                )
            if not isinstance(value, str) or not _looks_like_version(value):
                raise ConfigError(f"{path}: expected a Kubernetes version like '1.31', got {value!r}")
            return value.strip()
        if t == "text":
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{path}: expected a non-empty string, got {value!r}")
            return value.strip()
        if t == "list":
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                raise ConfigError(f"{path}: expected a list of strings, got {value!r}")
            for i, item in enumerate(value):
                if not isinstance(item, str) or not item.strip():
                    raise ConfigError(f"{path}[{i}]: expected a non-empty string, got {item!r}")
            return [item.strip() for item in value]
        if t == "selectors":
            if not isinstance(value, list):
                raise ConfigError(f"{path}: expected a list of LabelSelectors, got {value!r}")
            for i, item in enumerate(value):
                try:
                    validate_selector(item, f"{path}[{i}]")
                except InvalidExemption as exc:
                    raise ConfigError(str(exc)) from None
            return value
        raise AssertionError(f"setting {self.key}: unknown type {t}")

    def _bounded(self, value: float, path: str) -> float:
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{path}: must be at least {_num(self.minimum)}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{path}: must be at most {_num(self.maximum)}, got {value!r}")
        return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _looks_like_version(text: str) -> bool:
    import re

    return re.match(r"^v?\d+\.\d+", text.strip()) is not None


SETTINGS_LIST: tuple[Setting, ...] = (
    # -- security
    Setting("uid_threshold", "int", 10000, "runAsUser / runAsGroup below this may collide with host accounts",
            minimum=0),
    Setting("dangerous_capabilities", "list",
            ["ALL", "SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "SYS_BOOT", "BPF",
             "PERFMON", "MAC_ADMIN", "MAC_OVERRIDE", "SETPCAP"],
            "added capabilities that fail SEC-008 (any other addition except NET_BIND_SERVICE warns)"),
    Setting("sensitive_host_paths", "list",
            ["/", "/etc", "/proc", "/sys", "/dev", "/boot", "/lib", "/usr", "/root", "/var/lib/kubelet",
             "/var/lib/etcd", "/etc/kubernetes"],
            "host paths that fail SEC-012 when mounted (other read-only host paths warn)"),
    Setting("safe_sysctls", "list",
            ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
             "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
             "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
             "net.ipv4.tcp_fin_timeout"],
            "sysctls the Pod Security Standards allow; any other fails SEC-016"),
    Setting("registry_allow_list", "list", [],
            "registries (or registry/repo prefixes, globs) images may come from; empty = not checked"),
    Setting("require_digest", "bool", False, "warn when an image is not pinned by digest"),
    Setting("system_namespaces", "list", ["kube-system", "kube-public", "kube-node-lease"],
            "namespaces treated as the cluster's own (SEC-031 allows enforce=privileged there; the shipped "
            "system-namespaces exemption covers them)"),
    # -- reliability
    Setting("min_replicas", "int", 2, "effective replicas below this warn (REL-005) and HPA minReplicas below "
            "this warn (REL-016)", minimum=1),
    Setting("restart_threshold", "int", 3, "container restarts above this warn", minimum=0),
    Setting("pvc_pending_minutes", "number", 10, "a PVC Pending longer than this fails", minimum=0),
    # -- performance
    Setting("cpu_limit_policy", "choice", "warning", "a container without a CPU limit: off (skipped), warning or "
            "failing", choices=("off", "warning", "failing")),
    Setting("memory_limit_request_ratio", "number", 2.0, "memory limit / request above this warns",
            minimum=1),
    Setting("cpu_limit_request_ratio", "number", 10.0, "CPU limit / request above this warns",
            minimum=1),
    Setting("memory_requests_equal_limits", "bool", False, "strict mode: fail when memory request ≠ limit",
),
    Setting("hpa_utilization_max", "number", 90, "HPA utilization targets above this percent warn",
            minimum=1),
    Setting("hpa_utilization_min", "number", 30, "HPA utilization targets below this percent warn",
            minimum=0),
    Setting("node_request_percent", "number", 90, "node requests above this percent of allocatable warn", minimum=0),
    Setting("node_memory_limit_percent", "number", 150, "node memory limits above this percent of allocatable warn",
            minimum=0),
    Setting("node_usage_percent", "number", 80, "node usage (metrics) above this percent warns",
            minimum=0),
    Setting("limit_usage_percent", "number", 80, "container usage above this percent of its limit warns", minimum=0),
    Setting("webhook_timeout_seconds", "number", 10, "admission webhook timeoutSeconds above this warns", minimum=1),
    # -- cost
    Setting("orphan_grace_hours", "number", 24, "an unmounted PVC younger than this is not reported", minimum=0),
    Setting("scaled_to_zero_days", "number", 7, "a workload at 0 replicas longer than this warns",
            minimum=0),
    Setting("finished_job_days", "number", 7, "finished Jobs kept longer than this warn", minimum=0),
    Setting("overprovision_cpu_ratio", "number", 0.2, "CPU usage below this fraction of the request warns",
            minimum=0, maximum=1),
    Setting("overprovision_memory_ratio", "number", 0.3, "memory usage below this fraction of the request warns",
            minimum=0, maximum=1),
    Setting("cost_labels", "list", ["app.kubernetes.io/name"], "labels every workload and namespace needs for "
            "cost allocation"),
    Setting("cost_owner_labels", "list", ["team", "owner", "cost-center"], "at least one of these owner labels "
            "is required"),
    Setting("idle_capacity_ratio", "number", 0.5, "cluster requests below this fraction of allocatable warn",
            minimum=0, maximum=1),
    # -- operational excellence
    Setting("manifest_namespace", "text", None, "the namespace manifests without metadata.namespace will be "
            "applied to (OPS-001 then judges it; COST-009/010 group by it)"),
    Setting("kube_system_allowlist", "list", [], "name globs of workloads allowed in kube-system"),
    Setting("required_labels", "list", ["app.kubernetes.io/name", "app.kubernetes.io/instance"],
            "labels workloads and Services must carry"),
    Setting("recommended_labels_extra", "list", [], "more labels to require, e.g. app.kubernetes.io/version"),
    Setting("check_instance_matches_name", "bool", False, "warn when app.kubernetes.io/instance ≠ metadata.name",
),
    Setting("kubernetes_version", "version", None, "target Kubernetes version for deprecated/removed APIs "
            "(default: the live server's version, else 1.31) and for schema validation (default: the live "
            "server's version, else the newest bundled)"),
    Setting("server_version", "version", None, "override the server version the version checks judge "
            "(re-assessing a dump offline)"),
    Setting("log_agent_patterns", "list", [], "more name/image substrings that identify a log-shipping agent"),
    Setting("metrics_patterns", "list", [], "more name/image substrings that identify a metrics stack"),
    # -- sustainability
    Setting("binpacking_min_percent", "number", 20, "nodes with requests below this percent of allocatable warn",
            minimum=0, maximum=100),
    Setting("binpacking_skip_tainted", "bool", True, "skip tainted (dedicated) nodes"),
    Setting("rightsizing_recommenders", "list", ["vpa-recommender", "goldilocks"], "names that count as a "
            "right-sizing recommender"),
    Setting("idle_cpu_millicores", "number", 5, "pods using less CPU than this are idle", minimum=0),
    Setting("revision_history_max", "int", 10, "old ReplicaSets kept above this warn", minimum=0),
    Setting("failed_pod_age_hours", "number", 24, "failed pods older than this warn", minimum=0),
    Setting("nonprod_namespace_selectors", "selectors",
            [{"matchExpressions": [{"key": "env", "operator": "In",
                                    "values": ["dev", "development", "test", "staging", "qa"]}]},
             {"matchExpressions": [{"key": "environment", "operator": "In",
                                    "values": ["dev", "development", "test", "staging", "qa"]}]}],
            "LabelSelectors on Namespace labels that mark non-production namespaces"),
    Setting("downscaler_annotation_prefixes", "list", ["downscaler/"], "annotation prefixes that mean a "
            "scale-down schedule"),
    Setting("assume_multi_zone", "bool", True, "on manifests (no Nodes), assume the cluster spans zones"),
)
SETTINGS: dict[str, Setting] = {s.key: s for s in SETTINGS_LIST}

# Kept for callers that read the defaults directly.
DEFAULT_THRESHOLDS: dict[str, Any] = {s.key: s.default for s in SETTINGS_LIST if s.default is not None}


def _readers() -> dict[str, tuple[str, ...]]:
    """Setting key → the built-in checks that read it (their ``settings:`` metadata), sorted by id."""
    from checks.registry import is_builtin, load_all

    out: dict[str, list[str]] = {}
    for c in load_all().all():
        if is_builtin(c):
            for key in c.settings:
                out.setdefault(key, []).append(c.id)
    return {key: tuple(sorted(ids)) for key, ids in out.items()}
