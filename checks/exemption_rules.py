"""The exemption rules: reading and validating them, and the rules kwa ships.

A rule comes from the config file's ``exemptions:`` list or from
``checks/data/default-exemptions.yaml``; both are validated here, every problem reported with its
key path (``exemptions[2].until``), so that a typo stops the run instead of silently selecting
nothing. The rule also knows whether it selects an object (:meth:`ExemptionRule.matches`): that is a
property of the rule alone.

Kept apart from :mod:`checks.exemptions`, which applies rules and annotations to a run's results
and audits them: the config and the settings need only this half, which has no notion of a
snapshot or a result.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from checks.k8s import selector_matches
from checks.model import Pillar, canonical_id, is_check_id, is_deferred, pillar_of

SOURCE_ANNOTATION = "annotation"
SOURCE_CONFIG = "config"
SOURCE_DEFAULT = "default"
SOURCE_SYSTEM_NAMESPACE = "system-namespace"
DEFAULT_SOURCES = (SOURCE_DEFAULT, SOURCE_SYSTEM_NAMESPACE)

DEFAULTS_FILE = Path(__file__).parent / "data" / "default-exemptions.yaml"

_ALL_TOKENS = frozenset({"all", "*", "true"})
RULE_KEYS = {
    "name": "a unique name, used in results, in the audit and to disable a shipped entry",
    "checks": "check ids, pillar names or 'all' (required)",
    "except": "check ids or pillar names the rule does not cover",
    "namespaces": "namespace globs (a Namespace object counts as being in itself)",
    "kinds": "kind globs (case-insensitive)",
    "names": "object name globs",
    "selector": "a LabelSelector on the object's labels (matchLabels / matchExpressions)",
    "containers": "container name globs: only results about those containers are exempted",
    "reason": "why (shown in every exempted result)",
    "until": "ISO date (YYYY-MM-DD): the last day the rule applies",
}
_SHIPPED_ONLY_KEYS = {"source", "peers"}
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class InvalidExemption(ValueError):
    """An exemption rule is malformed; the message starts with the key path (``exemptions[2].until``)."""


# ---- check selection --------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckSelector:
    """Which checks a rule covers: ``all``, ids and pillars, minus excepted ids and pillars."""

    everything: bool = False
    ids: frozenset[str] = frozenset()
    pillars: frozenset[Pillar] = frozenset()
    except_ids: frozenset[str] = frozenset()
    except_pillars: frozenset[Pillar] = frozenset()

    def covers(self, check_id: str) -> bool:
        pillar = pillar_of(check_id)
        if check_id in self.except_ids or pillar in self.except_pillars:
            return False
        return self.everything or check_id in self.ids or pillar in self.pillars

    def describe(self) -> str:
        parts = ["all"] if self.everything else [*sorted(self.ids), *sorted(p.value for p in self.pillars)]
        excluded = [*sorted(self.except_ids), *sorted(p.value for p in self.except_pillars)]
        return ", ".join(parts) + (f" except {', '.join(excluded)}" if excluded else "")


def parse_check_tokens(
    tokens: Iterable[Any], path: str, known: frozenset[str] | None, *, allow_all: bool = True
) -> tuple[bool, frozenset[str], frozenset[Pillar]]:
    """``["SEC-001", "reliability", "all"]`` → (everything, ids, pillars). Unknown ids raise."""
    everything = False
    ids: set[str] = set()
    pillars: set[Pillar] = set()
    for i, raw in enumerate(tokens):
        if not isinstance(raw, str) or not raw.strip():
            raise InvalidExemption(f"{path}[{i}]: expected a check id, a pillar name or 'all', got {raw!r}")
        token = raw.strip()
        if token.lower() in _ALL_TOKENS and allow_all:
            everything = True
            continue
        if is_check_id(token):
            check_id = canonical_id(token)
            if known is not None and check_id not in known and not is_deferred(check_id):
                raise InvalidExemption(f"{path}[{i}]: unknown check id {token!r}{suggest(check_id, known)}")
            ids.add(check_id)
            continue
        try:
            pillars.add(Pillar.parse(token))
        except ValueError:
            raise InvalidExemption(
                f"{path}[{i}]: {token!r} is neither a check id (like SEC-001), a pillar "
                f"({', '.join(p.value for p in Pillar)}){'' if not allow_all else ' nor all'}"
            ) from None
    return everything, frozenset(ids), frozenset(pillars)


def suggest(check_id: str, known: Iterable[str]) -> str:
    """``; valid SEC ids: SEC-001..SEC-031`` — the valid range, not a 100-id dump."""
    prefix = check_id.split("-")[0]
    close = sorted(k for k in known if k.split("-")[0] == prefix)
    if not close:
        return f"; valid ids: {', '.join(sorted(known))}"
    return f"; valid {prefix} ids: {close[0]}..{close[-1]}"


# ---- rules ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExemptionRule:
    """One rule from the config file or the shipped defaults."""

    name: str
    source: str
    checks: CheckSelector
    reason: str
    namespaces: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    selector: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    containers: tuple[str, ...] = ()
    until: date | None = None
    origin: str = ""
    peers: str = ""

    def __post_init__(self) -> None:
        # Compiled once: matching runs for every (object, rule) pair of a 10k-object cluster.
        object.__setattr__(self, "_ns_re", _globs(self.namespaces))
        object.__setattr__(self, "_kind_re", _globs(self.kinds, ignore_case=True))
        object.__setattr__(self, "_name_re", _globs(self.names))
        object.__setattr__(self, "_container_re", _globs(self.containers))

    def expired(self, today: date) -> bool:
        return self.until is not None and today > self.until

    def matches(self, kind: str, namespace: str | None, name: str, labels: Mapping[str, Any] | None) -> bool:
        """Does the rule select this object? (Which checks and containers it covers is separate.)

        A Namespace object counts as being in itself, so ``namespaces: [legacy]`` also exempts the
        Namespace ``legacy`` from namespace-level checks (quotas, LimitRanges, PSA labels).
        """
        return self.selects_place(kind, name if kind == "Namespace" else namespace) and self.selects_object(
            name, labels
        )

    def selects_place(self, kind: str, namespace: str | None) -> bool:
        """The kind and namespace half of :meth:`matches` (for a Namespace, ``namespace`` is its name):
        the same for every object of a kind in a namespace, so a run asks once per pair."""
        kind_re: re.Pattern[str] | None = self._kind_re  # type: ignore[attr-defined]
        ns_re: re.Pattern[str] | None = self._ns_re  # type: ignore[attr-defined]
        if kind_re is not None and not kind_re.match(kind):
            return False
        return ns_re is None or bool(namespace and ns_re.match(namespace))

    def selects_kind(self, kind: str) -> bool:
        """The kind half of :meth:`selects_place`."""
        kind_re: re.Pattern[str] | None = self._kind_re  # type: ignore[attr-defined]
        return kind_re is None or bool(kind_re.match(kind))

    def selects_namespace(self, namespace: str | None) -> bool:
        """The namespace half of :meth:`selects_place`."""
        ns_re: re.Pattern[str] | None = self._ns_re  # type: ignore[attr-defined]
        return ns_re is None or bool(namespace and ns_re.match(namespace))

    def selects_object(self, name: str, labels: Mapping[str, Any] | None) -> bool:
        """The name and label half of :meth:`matches`."""
        name_re: re.Pattern[str] | None = self._name_re  # type: ignore[attr-defined]
        if name_re is not None and not name_re.match(name):
            return False
        if self.selector is not None:
            return labels is not None and selector_matches(self.selector, dict(labels))
        return True

    def covers_containers(self, containers: Sequence[str | None]) -> bool:
        """Object-wide rules cover everything; container rules only results about their containers."""
        pattern: re.Pattern[str] | None = self._container_re  # type: ignore[attr-defined]
        if pattern is None:
            return True
        return bool(containers) and all(c is not None and pattern.match(c) for c in containers)

    def describe(self) -> dict[str, Any]:
        """A plain, printable form (what ``kwa`` shows when it lists exemptions)."""
        out: dict[str, Any] = {"name": self.name, "source": self.source, "checks": self.checks.describe()}
        for key in ("namespaces", "kinds", "names", "containers"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.selector is not None:
            out["selector"] = self.selector
        out["reason"] = self.reason
        if self.until is not None:
            out["until"] = self.until.isoformat()
        if self.origin:
            out["origin"] = self.origin
        if self.peers:
            out["peers"] = self.peers
        return out


def _globs(patterns: Sequence[str], ignore_case: bool = False) -> re.Pattern[str] | None:
    if not patterns:
        return None
    body = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)
    return re.compile(body, re.IGNORECASE if ignore_case else 0)


def parse_rule(
    data: Any, path: str, *, source: str, known: frozenset[str] | None, origin: str = ""
) -> ExemptionRule:
    """Validate one rule mapping; every problem is reported with its key path."""
    if not isinstance(data, dict):
        raise InvalidExemption(f"{path}: expected a mapping with at least 'checks', got {type(data).__name__}")
    allowed = set(RULE_KEYS) | (_SHIPPED_ONLY_KEYS if source in DEFAULT_SOURCES else set())
    for key in data:
        if key not in allowed:
            raise InvalidExemption(f"{path}.{key}: unknown key (known: {', '.join(sorted(allowed))})")
    if "checks" not in data:
        raise InvalidExemption(f"{path}.checks: required (check ids, pillar names or 'all')")
    everything, ids, pillars = parse_check_tokens(_str_list(data["checks"], f"{path}.checks"), f"{path}.checks", known)
    _, except_ids, except_pillars = parse_check_tokens(
        _str_list(data.get("except"), f"{path}.except"), f"{path}.except", known, allow_all=False
    )
    selector = data.get("selector")
    if selector is not None:
        validate_selector(selector, f"{path}.selector")
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise InvalidExemption(f"{path}.reason: expected text, got {reason!r}")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidExemption(f"{path}.name: expected a non-empty string, got {name!r}")
    rule_source = source
    if source in DEFAULT_SOURCES and "source" in data:
        if data["source"] not in DEFAULT_SOURCES:
            raise InvalidExemption(
                f"{path}.source: expected one of {', '.join(DEFAULT_SOURCES)}, got {data['source']!r}"
            )
        rule_source = data["source"]
    until = data.get("until")
    return ExemptionRule(
        name=(name or path).strip(),
        source=rule_source,
        checks=CheckSelector(everything, ids, pillars, except_ids, except_pillars),
        reason=(reason or "").strip() or "no reason given",
        namespaces=tuple(_str_list(data.get("namespaces"), f"{path}.namespaces")),
        kinds=tuple(_str_list(data.get("kinds"), f"{path}.kinds")),
        names=tuple(_str_list(data.get("names"), f"{path}.names")),
        selector=selector,
        containers=tuple(_str_list(data.get("containers"), f"{path}.containers")),
        until=None if until is None else parse_until(until, f"{path}.until"),
        origin=origin,
        peers=str(data.get("peers") or ""),
    )


def _str_list(value: Any, path: str) -> list[str]:
    """A string or a list of strings (``namespaces: shop`` is as good as ``[shop]``)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise InvalidExemption(f"{path}: expected a list of strings, got {type(value).__name__}")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise InvalidExemption(f"{path}[{i}]: expected a non-empty string, got {item!r}")
    return list(value)


def parse_until(value: Any, path: str) -> date:
    """``2026-03-31`` (YAML gives a date) or ``"2026-03-31T12:00:00Z"`` → the last day it applies."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    raise InvalidExemption(f"{path}: expected an ISO date like 2026-03-31, got {value!r}")


def validate_selector(selector: Any, path: str) -> None:
    """Reject what the API server would reject, so a typo cannot silently select nothing."""
    if not isinstance(selector, dict):
        raise InvalidExemption(f"{path}: expected a LabelSelector mapping, got {type(selector).__name__}")
    for key in selector:
        if key not in ("matchLabels", "matchExpressions"):
            raise InvalidExemption(f"{path}.{key}: unknown key (known: matchExpressions, matchLabels)")
    labels = selector.get("matchLabels")
    if labels is not None:
        if not isinstance(labels, dict):
            raise InvalidExemption(f"{path}.matchLabels: expected a mapping of label to value")
        for k, v in labels.items():
            if not isinstance(k, str) or isinstance(v, dict | list) or v is None:
                raise InvalidExemption(f"{path}.matchLabels.{k}: expected a label value, got {v!r}")
    exprs = selector.get("matchExpressions")
    if exprs is None:
        return
    if not isinstance(exprs, list):
        raise InvalidExemption(f"{path}.matchExpressions: expected a list")
    for i, expr in enumerate(exprs):
        where = f"{path}.matchExpressions[{i}]"
        if not isinstance(expr, dict) or not isinstance(expr.get("key"), str):
            raise InvalidExemption(f"{where}: expected a mapping with 'key', 'operator' and (for In/NotIn) 'values'")
        extra = set(expr) - {"key", "operator", "values"}
        if extra:
            raise InvalidExemption(f"{where}.{sorted(extra)[0]}: unknown key (known: key, operator, values)")
        op = expr.get("operator")
        if op not in _SELECTOR_OPERATORS:
            raise InvalidExemption(f"{where}.operator: expected one of {', '.join(_SELECTOR_OPERATORS)}, got {op!r}")
        values = expr.get("values")
        if op in ("In", "NotIn") and (not isinstance(values, list) or not values):
            raise InvalidExemption(f"{where}.values: operator {op} needs a non-empty list of values")
        if op in ("Exists", "DoesNotExist") and values:
            raise InvalidExemption(f"{where}.values: operator {op} takes no values")


# ---- shipped defaults -------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _load_defaults(path: str) -> tuple[ExemptionRule, ...]:
    data = yaml.load(Path(path).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    entries = data.get("exemptions") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InvalidExemption(f"{path}: expected a top-level 'exemptions' list")
    rules: list[ExemptionRule] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{Path(path).name}: exemptions[{i}]"
        if not isinstance(entry, dict) or not entry.get("name"):
            raise InvalidExemption(f"{where}.name: every shipped exemption needs a name (so it can be disabled)")
        rule = parse_rule(entry, where, source=SOURCE_DEFAULT, known=None, origin=Path(path).name)
        if rule.name in seen:
            raise InvalidExemption(f"{where}.name: duplicate name {rule.name!r}")
        seen.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def default_rules() -> list[ExemptionRule]:
    """The exemptions kwa ships (``checks/data/default-exemptions.yaml``), whatever the config says."""
    return list(_load_defaults(str(DEFAULTS_FILE)))
