"""Run configuration: thresholds and per-check settings.

The full YAML configuration (exemptions, severity overrides, opt-in checks) grows in issue 3; this
module is its single home so checks only ever call ``ctx.setting(key, default)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """The configuration file is invalid; the message names the key."""


# Global thresholds with their documented defaults (catalogue §1 and §2).
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "min_replicas": 2,
    "uid_threshold": 10000,
    "restart_threshold": 3,
    "memory_limit_request_ratio": 2.0,
    "cpu_limit_request_ratio": 10.0,
    "cpu_limit_policy": "warning",  # off | warning | failing
    "required_labels": ["app.kubernetes.io/name", "app.kubernetes.io/instance"],
    "cost_labels": ["app.kubernetes.io/name"],
    "cost_owner_labels": ["team", "owner", "cost-center"],
    "system_namespaces": ["kube-system", "kube-public", "kube-node-lease"],
    "manifest_namespace": None,
}


@dataclass
class Config:
    thresholds: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    enabled: set[str] = field(default_factory=set)
    check_timeout: float | None = None

    def setting(self, check_id: str, key: str, default: Any = None) -> Any:
        per_check = self.checks.get(check_id) or {}
        if key in per_check:
            return per_check[key]
        return self.thresholds.get(key, default)

    def is_system_namespace(self, namespace: str | None) -> bool:
        return bool(namespace) and namespace in self.thresholds.get("system_namespaces", ())

    @classmethod
    def load(cls, path: str | Path | None) -> Config:
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "config") -> Config:
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: top level must be a mapping")
        known = {"thresholds", "checks", "disabled", "enabled"}
        for key in data:
            if key not in known:
                raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        cfg = cls()
        thresholds = data.get("thresholds") or {}
        if not isinstance(thresholds, dict):
            raise ConfigError(f"{where}: 'thresholds' must be a mapping")
        for key, value in thresholds.items():
            if key not in DEFAULT_THRESHOLDS:
                raise ConfigError(f"{where}: unknown key 'thresholds.{key}'")
            cfg.thresholds[key] = value
        checks = data.get("checks") or {}
        if not isinstance(checks, dict):
            raise ConfigError(f"{where}: 'checks' must be a mapping of check id to settings")
        cfg.checks = {str(k).upper(): dict(v or {}) for k, v in checks.items()}
        cfg.disabled = {str(x).upper() for x in data.get("disabled") or []}
        cfg.enabled = {str(x).upper() for x in data.get("enabled") or []}
        return cfg
