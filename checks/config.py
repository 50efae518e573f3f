"""Run configuration: one YAML file for thresholds, check selection, severities and exemptions.

Checks only ever call ``ctx.setting(key, default)``; every key they read is declared in
:mod:`checks.settings` (re-exported here), validated here and documented (docs/configuration.md).
Invalid configuration raises :class:`ConfigError` with the key path (``thresholds.min_replicas:
expected an integer, got 'two'``).

Where the file is found (:meth:`Config.default_path`): ``--config PATH``; else ``$KWA_CONFIG``;
else ``$XDG_CONFIG_HOME/kwa/config.yaml`` (``~/.config/kwa/config.yaml``) when it exists; else
the built-in defaults.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from checks.exemptions import (
    SOURCE_CONFIG,
    SOURCE_SYSTEM_NAMESPACE,
    CheckSelector,
    ExemptionRule,
    Exemptions,
    InvalidExemption,
    default_rules,
    parse_check_tokens,
    parse_rule,
    suggest,
)
from checks.limits import LimitError, Limits, configured
from checks.model import Severity
from checks.peer_exemptions import PeerIndex
from checks.settings import DEFAULT_THRESHOLDS, SETTINGS, SETTINGS_LIST, ConfigError

if TYPE_CHECKING:
    from checks.model import CheckDefinition


TOP_LEVEL_KEYS = {
    "thresholds": "global settings (every key of the settings table)",
    "checks": "per-check settings and timeout: {SEC-001: {timeout: 60}, PERF-004: {cpu_limit_policy: failing}}",
    "enabled": "opt-in checks to run (ids or pillar names)",
    "disabled": "checks not to run (ids or pillar names)",
    "severity": "severity overrides: {SEC-001: high}",
    "exemptions": "exemption rules (namespace / kind / name / selector / containers)",
    "default_exemptions": "true | false | {disable: [names], except: [checks]}",
    "allow_annotation_exemptions": "honour kwa.io/exempt annotations (true by default)",
    "peer_exemptions": "honour Polaris, kube-score, kube-linter and Checkov suppression annotations (true by default)",
    "limits": "resource limits on manifest input: {depth: 100, file_bytes: 512Mi, problems: 20} (docs: Limits)",
    "checks_dirs": "directories (or files) of CEL checks to load, relative to this file: [checks/]",
}
# The three settings users reach for most may also be written at the top level.
TOP_LEVEL_SETTINGS = ("required_labels", "registry_allow_list", "kubernetes_version")


def _deep_copy(value: Any) -> Any:
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    return value


@dataclass
class Config:
    thresholds: dict[str, Any] = field(default_factory=lambda: _deep_copy(DEFAULT_THRESHOLDS))
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    enabled: set[str] = field(default_factory=set)
    check_timeout: float | None = None
    severity: dict[str, Severity] = field(default_factory=dict)
    exemption_rules: list[ExemptionRule] = field(default_factory=list)
    default_exemptions: bool = True
    disabled_defaults: set[str] = field(default_factory=set)
    default_except: CheckSelector | None = None
    allow_annotation_exemptions: bool = True
    peer_exemptions: bool = True
    # What reading manifests may cost (checks.limits); KWA_LIMIT_* variables are applied by load().
    limits: Limits = field(default_factory=Limits)
    # CEL check directories the file names (checks.cel.files), resolved against its directory.
    checks_dirs: list[str] = field(default_factory=list)
    path: str | None = None  # the file this came from, None for built-in defaults
    _exemptions: Exemptions | None = field(default=None, repr=False, compare=False)

    # -- what checks read ---------------------------------------------------------------------
    def setting(self, check_id: str, key: str, default: Any = None) -> Any:
        per_check = self.checks.get(check_id) or {}
        if key in per_check:
            return per_check[key]
        return self.thresholds.get(key, default)

    def is_system_namespace(self, namespace: str | None) -> bool:
        return bool(namespace) and namespace in self.thresholds.get("system_namespaces", ())

    # -- what the runner and the flow read ----------------------------------------------------
    def severity_for(self, check: CheckDefinition) -> Severity:
        """The check's severity after the config's ``severity:`` overrides."""
        return self.severity.get(check.id, check.severity)

    def is_selected(self, check: CheckDefinition) -> bool:
        """False when the check is disabled, or opt-in and not enabled."""
        return check.id not in self.disabled and (not check.opt_in or check.id in self.enabled)

    @property
    def exemptions(self) -> Exemptions:
        """Annotations (when allowed; the peers' too unless ``peer_exemptions`` is false), config
        rules, then the enabled shipped defaults."""
        if self._exemptions is None:
            self._exemptions = Exemptions(
                [*self.exemption_rules, *self.active_default_rules()],
                allow_annotations=self.allow_annotation_exemptions,
                known_checks=_known_checks(),
                peers=_peer_index(),
                allow_peers=self.peer_exemptions,
            )
        return self._exemptions

    def ready(self) -> Config:
        """Build the exemptions now, so processes forked later (the check workers) inherit them."""
        _ = self.exemptions
        return self

    def active_default_rules(self) -> list[ExemptionRule]:
        """The shipped defaults this config keeps (``default_exemptions``), adjusted to its settings."""
        if not self.default_exemptions:
            return []
        out = []
        system = tuple(self.thresholds.get("system_namespaces") or ())
        for rule in default_rules():
            if rule.name in self.disabled_defaults:
                continue
            changes: dict[str, Any] = {}
            # One list of system namespaces: the setting (SEC-031 reads it) drives the exemption too.
            if rule.source == SOURCE_SYSTEM_NAMESPACE and system != rule.namespaces:
                changes["namespaces"] = system
            if self.default_except is not None:
                c, e = rule.checks, self.default_except
                changes["checks"] = CheckSelector(
                    c.everything, c.ids, c.pillars, c.except_ids | e.ids, c.except_pillars | e.pillars
                )
            if changes:
                rule = _replace_rule(rule, **changes)
            if rule.namespaces or rule.source != SOURCE_SYSTEM_NAMESPACE:
                out.append(rule)
        return out

    # -- loading ------------------------------------------------------------------------------
    @staticmethod
    def default_path() -> Path | None:
        """``$KWA_CONFIG``, else ``$XDG_CONFIG_HOME/kwa/config.yaml`` (``~/.config/...``) if it exists."""
        explicit = os.environ.get("KWA_CONFIG")
        if explicit:
            return Path(explicit).expanduser()
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        candidate = Path(base).expanduser() / "kwa" / "config.yaml"
        return candidate if candidate.is_file() else None

    @classmethod
    def load(cls, path: str | Path | None) -> Config:
        """Read ``path``; with None, the default location (:meth:`default_path`) or the built-in defaults."""
        if path is None:
            path = cls.default_path()
            if path is None:
                cfg = cls()
                cfg.limits = _limits(None)
                return cfg.ready()
        from checks.sources.guards import Rejected, load_settings

        try:
            data = load_settings(Path(path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
        except Rejected as exc:
            raise ConfigError(f"config {path}: {exc.describe()}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"config {path} is not valid YAML: {exc}") from None
        cfg = cls.from_dict(data if data is not None else {}, str(path), base=Path(path).parent)
        cfg.path = str(path)
        return cfg.ready()

    @classmethod
    def from_dict(cls, data: Any, where: str = "config", base: Path | None = None) -> Config:
        """Validate a parsed config; errors read ``<where>: <key.path>: <problem>``. ``base``: the
        directory relative ``checks_dirs`` are read from (the config file's)."""
        try:
            return _parse(cls, data, base)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    def describe(self) -> dict[str, Any]:
        """The effective configuration, as ``kwa config show`` would print it."""
        out = {
            "path": self.path,
            "thresholds": self.thresholds,
            "checks": self.checks,
            "enabled": sorted(self.enabled),
            "disabled": sorted(self.disabled),
            "severity": {k: v.value for k, v in sorted(self.severity.items())},
            "allow_annotation_exemptions": self.allow_annotation_exemptions,
            "peer_exemptions": self.peer_exemptions,
            "exemptions": [r.describe() for r in self.exemptions.rules],
            "limits": self.limits.as_dict(),
        }
        if self.checks_dirs:
            out["checks_dirs"] = list(self.checks_dirs)
        return out


def _replace_rule(rule: ExemptionRule, **changes: Any) -> ExemptionRule:
    from dataclasses import replace

    return replace(rule, **changes)


def _limits(section: Any) -> Limits:
    """The ``limits:`` section validated, ``KWA_LIMIT_*`` applied (checks.limits.configured)."""
    try:
        return configured(section)
    except LimitError as exc:
        raise ConfigError(str(exc)) from None


def _known_checks() -> frozenset[str]:
    """Registered check ids (built-in and plugins). Imported late: check modules import this one."""
    from checks.registry import load_all

    return frozenset(c.id for c in load_all().all())


def _peer_index() -> PeerIndex:
    """The peers' rule ids mapped to registered checks (their ``peers:`` metadata)."""
    from checks.registry import load_all

    return PeerIndex(load_all().all())


def _builtin_checks() -> frozenset[str]:
    from checks.registry import is_builtin, load_all

    return frozenset(c.id for c in load_all().all() if is_builtin(c))


def _checks_dirs(value: Any, base: Path | None) -> list[str]:
    """Load the CEL checks ``checks_dirs`` names, before any key that may name their ids."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
        raise ConfigError(f"checks_dirs: expected a list of directories, got {value!r}")
    given = [Path(v).expanduser() for v in items]
    paths = [str(p if p.is_absolute() or base is None else base / p) for p in given]
    from checks.cel.files import load_paths
    from checks.metadata import CheckRegistrationError

    try:
        load_paths(paths)
    except CheckRegistrationError as exc:
        raise ConfigError(f"checks_dirs: {exc}") from None
    return paths


def _parse(cls: type[Config], data: Any, base: Path | None = None) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(
            f"top level: expected a mapping of keys ({', '.join(sorted(TOP_LEVEL_KEYS))}), got {type(data).__name__}"
        )
    known_top = set(TOP_LEVEL_KEYS) | set(TOP_LEVEL_SETTINGS)
    for key in data:
        if key not in known_top:
            hint = f" (it is a setting: put it under thresholds.{key})" if key in SETTINGS else ""
            raise ConfigError(f"{key}: unknown key{hint}; known keys: {', '.join(sorted(known_top))}")
    dirs = _checks_dirs(data.get("checks_dirs"), base)
    known = _known_checks()
    cfg = cls()
    cfg.checks_dirs = dirs

    thresholds = data.get("thresholds")
    if thresholds is not None and not isinstance(thresholds, dict):
        raise ConfigError(f"thresholds: expected a mapping of setting to value, got {type(thresholds).__name__}")
    merged = dict(thresholds or {})
    for key in TOP_LEVEL_SETTINGS:
        if key in data:
            if key in merged:
                raise ConfigError(f"{key}: set both at the top level and as thresholds.{key}; keep one")
            merged[key] = data[key]
    for key, value in merged.items():
        path = f"thresholds.{key}" if key in (thresholds or {}) else str(key)
        setting = SETTINGS.get(str(key))
        if setting is None:
            raise ConfigError(f"{path}: unknown setting; known settings: {', '.join(sorted(SETTINGS))}")
        validated = setting.validate(value, path)
        if validated is None:
            cfg.thresholds.pop(setting.key, None)
        else:
            cfg.thresholds[setting.key] = validated

    checks = data.get("checks")
    if checks is not None and not isinstance(checks, dict):
        raise ConfigError(f"checks: expected a mapping of check id to settings, got {type(checks).__name__}")
    builtin = _builtin_checks()
    for raw_id, body in (checks or {}).items():
        check_id = _check_id(raw_id, f"checks.{raw_id}", known)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ConfigError(f"checks.{raw_id}: expected a mapping of setting to value, got {body!r}")
        out: dict[str, Any] = {}
        for key, value in body.items():
            path = f"checks.{raw_id}.{key}"
            if key == "timeout":
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigError(f"{path}: expected a positive number of seconds, got {value!r}")
                out[key] = float(value)
                continue
            setting = SETTINGS.get(str(key))
            if setting is None:
                if check_id in builtin:
                    readers = sorted(s.key for s in SETTINGS_LIST if check_id in s.used_by)
                    raise ConfigError(f"{path}: unknown setting; {check_id} reads: {', '.join(['timeout', *readers])}")
                out[key] = value  # a plugin check may read settings kwa does not know
                continue
            if check_id in builtin and check_id not in setting.used_by:
                raise ConfigError(
                    f"{path}: {check_id} does not read {key} (it is read by {', '.join(setting.used_by)})"
                )
            out[setting.key] = setting.validate(value, path)
        cfg.checks[check_id] = out

    cfg.enabled = _id_set(data.get("enabled"), "enabled", known)
    cfg.disabled = _id_set(data.get("disabled"), "disabled", known)
    both = cfg.enabled & cfg.disabled
    if both:
        raise ConfigError(f"enabled/disabled: {', '.join(sorted(both))} is both enabled and disabled")

    severity = data.get("severity")
    if severity is not None and not isinstance(severity, dict):
        raise ConfigError(f"severity: expected a mapping of check id to severity, got {type(severity).__name__}")
    for raw_id, value in (severity or {}).items():
        check_id = _check_id(raw_id, f"severity.{raw_id}", known)
        try:
            cfg.severity[check_id] = Severity(str(value).strip().lower())
        except ValueError:
            raise ConfigError(
                f"severity.{raw_id}: expected one of {', '.join(s.value for s in Severity)}, got {value!r}"
            ) from None

    allow = data.get("allow_annotation_exemptions", True)
    if not isinstance(allow, bool):
        raise ConfigError(f"allow_annotation_exemptions: expected true or false, got {allow!r}")
    cfg.allow_annotation_exemptions = allow
    peers = data.get("peer_exemptions", True)
    if not isinstance(peers, bool):
        raise ConfigError(f"peer_exemptions: expected true or false, got {peers!r}")
    cfg.peer_exemptions = peers

    _parse_default_exemptions(cfg, data.get("default_exemptions", True), known)
    cfg.limits = _limits(data.get("limits"))

    rules = data.get("exemptions")
    if rules is not None and not isinstance(rules, list):
        raise ConfigError(f"exemptions: expected a list of rules, got {type(rules).__name__}")
    names: set[str] = set()
    for i, raw in enumerate(rules or []):
        try:
            rule = parse_rule(raw, f"exemptions[{i}]", source=SOURCE_CONFIG, known=known)
        except InvalidExemption as exc:
            raise ConfigError(str(exc)) from None
        if rule.name in names:
            raise ConfigError(f"exemptions[{i}].name: duplicate name {rule.name!r}")
        names.add(rule.name)
        cfg.exemption_rules.append(rule)
    return cfg


def _parse_default_exemptions(cfg: Config, value: Any, known: frozenset[str]) -> None:
    if isinstance(value, bool):
        cfg.default_exemptions = value
        return
    if not isinstance(value, dict):
        raise ConfigError(
            f"default_exemptions: expected true, false or {{disable: [...], except: [...]}}, got {value!r}"
        )
    for key in value:
        if key not in ("disable", "except"):
            raise ConfigError(f"default_exemptions.{key}: unknown key (known: disable, except)")
    shipped = {r.name for r in default_rules()}
    disable = value.get("disable") or []
    if isinstance(disable, str):
        disable = [disable]
    if not isinstance(disable, list):
        raise ConfigError("default_exemptions.disable: expected a list of shipped exemption names")
    for i, name in enumerate(disable):
        if name not in shipped:
            raise ConfigError(
                f"default_exemptions.disable[{i}]: no shipped exemption named {name!r}; "
                f"shipped: {', '.join(sorted(shipped))}"
            )
    cfg.disabled_defaults = set(disable)
    excepted = value.get("except")
    if excepted is not None:
        tokens = [excepted] if isinstance(excepted, str) else excepted
        if not isinstance(tokens, list):
            raise ConfigError("default_exemptions.except: expected a list of check ids or pillar names")
        try:
            _, ids, pillars = parse_check_tokens(tokens, "default_exemptions.except", known, allow_all=False)
        except InvalidExemption as exc:
            raise ConfigError(str(exc)) from None
        cfg.default_except = CheckSelector(ids=ids, pillars=pillars)


def _check_id(raw: Any, path: str, known: frozenset[str]) -> str:
    from checks.model import canonical_id, is_deferred

    check_id = canonical_id(str(raw))
    if check_id not in known and not is_deferred(check_id):
        raise ConfigError(f"{path}: unknown check id {raw!r}{suggest(check_id, known)}")
    return check_id


def _id_set(value: Any, path: str, known: frozenset[str]) -> set[str]:
    """Check ids (pillar names expand to their checks) for ``enabled`` / ``disabled``."""
    if value is None:
        return set()
    tokens = [value] if isinstance(value, str) else value
    if not isinstance(tokens, list):
        raise ConfigError(f"{path}: expected a list of check ids or pillar names, got {value!r}")
    try:
        _, ids, pillars = parse_check_tokens(tokens, path, known, allow_all=False)
    except InvalidExemption as exc:
        raise ConfigError(str(exc)) from None
    from checks.model import pillar_of

    return set(ids) | {c for c in known if pillar_of(c) in pillars}
