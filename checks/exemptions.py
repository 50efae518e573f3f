"""Exemptions: results that a team has decided not to act on, recorded as ``skipped``, never dropped.

Three sources, in the order they are consulted:

- ``annotation``: ``kwa.io/exempt: "SEC-001,REL-004"`` (or ``all``, or a pillar name) on an object
  or on its pod template, with ``kwa.io/exempt-reason`` and ``kwa.io/exempt-until`` (ISO date);
- ``config``: rules in the config file's ``exemptions:`` list (namespace / kind / name globs, a
  label selector on the object's labels, container globs, checks, reason, expiry);
- ``system-namespace`` and ``default``: the rules shipped in ``checks/data/default-exemptions.yaml``
  (system namespaces, well-known system components), listed by :func:`default_rules` and switched
  off wholesale or per entry by the config's ``default_exemptions``.

An exempted ``passing``/``failing``/``warning`` result becomes ``skipped`` with reason
``exempt:<source>``; the exemption's reason is in the message and the original verdict in
``details["exemption"]``, so reports and audits can show what was set aside and why. Results that
are already ``skipped``, ``error`` or ``timeout`` are left alone: an exemption must never hide that a
check could not run.

Matching is a pure function of (object, rule): :meth:`Exemptions.apply` runs inside the forked check
workers, and :meth:`Exemptions.audit` recomputes in the parent which rules select which objects,
without re-running any check.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from checks.k8s import selector_matches
from checks.model import ID_PATTERN, PREFIX_PILLAR, CheckDefinition, Pillar, Result, SkipReason, Status
from checks.snapshot import K8sObject, Snapshot, pod_template

ANNOTATION_EXEMPT = "kwa.io/exempt"
ANNOTATION_REASON = "kwa.io/exempt-reason"
ANNOTATION_UNTIL = "kwa.io/exempt-until"

SOURCE_ANNOTATION = "annotation"
SOURCE_CONFIG = "config"
SOURCE_DEFAULT = "default"
SOURCE_SYSTEM_NAMESPACE = "system-namespace"
DEFAULT_SOURCES = (SOURCE_DEFAULT, SOURCE_SYSTEM_NAMESPACE)

DEFAULTS_FILE = Path(__file__).parent / "data" / "default-exemptions.yaml"

# Only verdicts are exempted; a skip, an error or a timeout says something about the run itself.
EXEMPTIBLE = frozenset({Status.PASSING, Status.FAILING, Status.WARNING})

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
        pillar = PREFIX_PILLAR.get(check_id.split("-", 1)[0])
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
        upper = token.upper()
        if ID_PATTERN.match(upper):
            if known is not None and upper not in known:
                raise InvalidExemption(f"{path}[{i}]: unknown check id {token!r}{suggest(upper, known)}")
            ids.add(upper)
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
        kind_re: re.Pattern[str] | None = self._kind_re  # type: ignore[attr-defined]
        ns_re: re.Pattern[str] | None = self._ns_re  # type: ignore[attr-defined]
        name_re: re.Pattern[str] | None = self._name_re  # type: ignore[attr-defined]
        if kind_re is not None and not kind_re.match(kind):
            return False
        if ns_re is not None:
            ns = name if kind == "Namespace" else namespace
            if not ns or not ns_re.match(ns):
                return False
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
    data = yaml.safe_load(Path(path).read_text()) or {}
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


# ---- annotation exemptions --------------------------------------------------------------------

@dataclass(frozen=True)
class AnnotationGrant:
    """A ``kwa.io/exempt`` annotation found on an object or on its pod template."""

    where: str  # "metadata" or "pod template"
    checks: CheckSelector
    reason: str
    until: date | None
    problems: tuple[str, ...] = ()  # unknown tokens or an unreadable expiry: the grant does not apply
    raw: str = ""

    @property
    def name(self) -> str:
        return f"{ANNOTATION_EXEMPT} ({self.where})"


def annotation_grants(obj: K8sObject, known: frozenset[str] | None = None) -> list[AnnotationGrant]:
    """Grants from the object's own annotations and from its pod template's annotations."""
    metas: list[tuple[str, Any]] = [("metadata", obj.annotations)]
    if obj.kind != "Pod":
        template = pod_template(obj)
        if template is not None:
            metas.append(("pod template", template[1].get("annotations")))
    out = []
    for where, notes in metas:
        if not isinstance(notes, dict) or notes.get(ANNOTATION_EXEMPT) is None:
            continue
        raw = str(notes[ANNOTATION_EXEMPT])
        problems: list[str] = []
        tokens = [t for t in re.split(r"[,\s]+", raw) if t]
        if not tokens:
            problems.append(f"{ANNOTATION_EXEMPT} is empty")
        everything, ids, pillars = False, frozenset[str](), frozenset[Pillar]()
        for token in tokens:
            try:
                e, i, p = parse_check_tokens([token], ANNOTATION_EXEMPT, known)
            except InvalidExemption:
                problems.append(f"{ANNOTATION_EXEMPT}: {token!r} is not a known check id, a pillar or 'all'")
                continue
            everything, ids, pillars = everything or e, ids | i, pillars | p
        until = None
        if notes.get(ANNOTATION_UNTIL) is not None:
            try:
                until = parse_until(notes[ANNOTATION_UNTIL], ANNOTATION_UNTIL)
            except InvalidExemption as exc:
                problems.append(str(exc))
        reason = str(notes.get(ANNOTATION_REASON) or "").strip() or f"no {ANNOTATION_REASON} given"
        out.append(AnnotationGrant(where, CheckSelector(everything, ids, pillars), reason, until, tuple(problems), raw))
    return out


# ---- the run's exemptions ---------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    """An exemption in force for one object (rule or annotation), expiry already checked."""

    source: str
    name: str
    checks: CheckSelector
    reason: str
    until: date | None
    rule: ExemptionRule | None = None

    def covers(self, check_id: str, containers: Sequence[str | None]) -> bool:
        if not self.checks.covers(check_id):
            return False
        return self.rule is None or self.rule.covers_containers(containers)


class Exemptions:
    """The exemptions in force for a run: annotations (when allowed), config rules, shipped defaults.

    Built by :class:`checks.config.Config` (``config.exemptions``); :meth:`apply` is called by
    :func:`checks.runner.evaluate`; :meth:`audit` is for the run summary.
    """

    def __init__(
        self,
        rules: Sequence[ExemptionRule] = (),
        *,
        allow_annotations: bool = True,
        known_checks: frozenset[str] | None = None,
        today: date | None = None,
    ):
        self.rules = list(rules)
        self.allow_annotations = allow_annotations
        self.known_checks = known_checks
        self._today = today
        self._cache_for: Snapshot | None = None
        self._cache: dict[tuple[str, str | None, str], tuple[Grant, ...]] = {}

    @property
    def today(self) -> date:
        """The day expiry is judged against: today (UTC) unless fixed for a test."""
        return self._today or datetime.now(UTC).date()

    # -- matching -------------------------------------------------------------------------------
    def grants(self, snapshot: Snapshot, kind: str, namespace: str | None, name: str) -> tuple[Grant, ...]:
        """Unexpired exemptions that select this object, memoised per snapshot."""
        if self._cache_for is not snapshot:
            self._cache_for, self._cache = snapshot, {}
        key = (kind, namespace, name)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(snapshot.get(kind, namespace, name), kind, namespace, name)
        return found

    def _resolve(self, obj: K8sObject | None, kind: str, namespace: str | None, name: str) -> tuple[Grant, ...]:
        today = self.today
        out: list[Grant] = []
        if obj is not None and self.allow_annotations:
            for a in annotation_grants(obj, self.known_checks):
                if not a.problems and not (a.until is not None and today > a.until):
                    out.append(Grant(SOURCE_ANNOTATION, a.name, a.checks, a.reason, a.until))
        labels = obj.labels if obj is not None else None
        for rule in self.rules:
            if not rule.expired(today) and rule.matches(kind, namespace, name, labels):
                out.append(Grant(rule.source, rule.name, rule.checks, rule.reason, rule.until, rule))
        return tuple(out)

    def prepare(self, snapshot: Snapshot) -> Exemptions:
        """Resolve every object now, in the parent process, so forked check workers share the answers."""
        for obj in snapshot.objects:
            self.grants(snapshot, obj.kind, obj.namespace, obj.name)
        return self

    def for_object(self, snapshot: Snapshot, obj: K8sObject) -> list[Grant]:
        return list(self.grants(snapshot, obj.kind, obj.namespace, obj.name))

    # -- applying -------------------------------------------------------------------------------
    def apply(self, check: CheckDefinition, snapshot: Snapshot, results: Iterable[Result]) -> list[Result]:
        """``results`` with every exempted verdict turned into ``skipped`` (``exempt:<source>``)."""
        out = []
        for r in results:
            if r.kind and r.status in EXEMPTIBLE:
                grant = self.first_grant(check.id, snapshot, r)
                if grant is not None:
                    r = _exempted(r, grant)
            out.append(r)
        return out

    def first_grant(self, check_id: str, snapshot: Snapshot, r: Result) -> Grant | None:
        grants = self.grants(snapshot, r.kind or "", r.namespace, r.name or "")
        if not grants:
            return None
        containers = result_containers(r)
        return next((g for g in grants if g.covers(check_id, containers)), None)

    # -- audit ----------------------------------------------------------------------------------
    def audit(
        self, snapshot: Snapshot, results: Iterable[Result] | None = None, *, include_active: bool = False
    ) -> list[dict[str, Any]]:
        """Exemptions worth a look after a run, from the snapshot alone (no check is re-run).

        ``status`` of each entry: ``expired`` (a rule or annotation past its ``until``: no longer
        applied), ``unmatched`` (a config rule that selects no object; given ``results``, also one
        that selects objects but exempted no result), ``invalid`` (an annotation naming unknown
        checks or an unreadable date: not applied), ``disallowed`` (annotations present while
        ``allow_annotation_exemptions`` is false). With ``include_active`` every rule and annotation
        in force is listed too (``active``). Shipped defaults that select nothing are normal and
        not listed.
        """
        today = self.today
        counts: dict[tuple[Any, ...], int] | None = None if results is None else _exempted_counts(results)
        out: list[dict[str, Any]] = []
        for rule in self.rules:
            if rule.source != SOURCE_CONFIG and rule.until is None and not include_active:
                continue  # a shipped default without expiry is never worth an audit line
            objects = sum(1 for o in snapshot.objects if rule.matches(o.kind, o.namespace, o.name, o.labels))
            entry: dict[str, Any] = {
                "source": rule.source, "name": rule.name, "checks": rule.checks.describe(), "objects": objects
            }
            if rule.until is not None:
                entry["until"] = rule.until.isoformat()
            if counts is not None:
                entry["results"] = counts.get((rule.source, rule.name), 0)
            if rule.expired(today):
                out.append({**entry, "status": "expired", "message": f"expired on {rule.until}; no longer applied"})
            elif rule.source == SOURCE_CONFIG and objects == 0:
                out.append({**entry, "status": "unmatched", "message": "selects no object in this run"})
            elif rule.source == SOURCE_CONFIG and counts is not None and entry["results"] == 0:
                message = f"selects {objects} object(s) but exempted no result"
                out.append({**entry, "status": "unmatched", "message": message})
            elif include_active and objects:
                out.append({**entry, "status": "active", "message": rule.reason})
        for obj in snapshot.objects:
            for a in annotation_grants(obj, self.known_checks):
                entry = {"source": SOURCE_ANNOTATION, "name": a.name, "object": obj.ref, "checks": a.raw}
                if a.until is not None:
                    entry["until"] = a.until.isoformat()
                if counts is not None:
                    entry["results"] = counts.get((SOURCE_ANNOTATION, a.name, obj.kind, obj.namespace, obj.name), 0)
                if not self.allow_annotations:
                    message = "annotation exemptions are disabled (allow_annotation_exemptions: false); not applied"
                    out.append({**entry, "status": "disallowed", "message": message})
                elif a.problems:
                    out.append({**entry, "status": "invalid", "message": "; ".join(a.problems) + "; not applied"})
                elif a.until is not None and today > a.until:
                    out.append({**entry, "status": "expired", "message": f"expired on {a.until}; no longer applied"})
                elif include_active:
                    out.append({**entry, "status": "active", "message": a.reason})
        return out


def _exempted_counts(results: Iterable[Result]) -> dict[tuple[Any, ...], int]:
    counts: dict[tuple[Any, ...], int] = {}
    for r in results:
        info = r.details.get("exemption") if isinstance(r.details, dict) else None
        if r.status is not Status.SKIPPED or not isinstance(info, dict):
            continue
        key: tuple[Any, ...] = (info.get("source"), info.get("name"))
        if info.get("source") == SOURCE_ANNOTATION:
            key += (r.kind, r.namespace, r.name)  # annotation grants are per object
        counts[key] = counts.get(key, 0) + 1
    return counts


def result_containers(r: Result) -> list[str | None]:
    """Every container a result is about: workload-level verdicts list their findings in ``details``."""
    if isinstance(r.details, list):
        named = [d.get("container") for d in r.details if isinstance(d, dict) and "container" in d]
        if named:
            return named
    return [r.container] if r.container else []


def _exempted(r: Result, g: Grant) -> Result:
    label = "annotation " + g.name if g.source == SOURCE_ANNOTATION else f"{g.source} exemption {g.name!r}"
    until = f" until {g.until.isoformat()}" if g.until else ""
    message = f"exempt by {label}{until}: {g.reason} (was {r.status.value}"
    message += f": {r.message})" if r.message else ")"
    info = {
        "source": g.source,
        "name": g.name,
        "reason": g.reason,
        "until": g.until.isoformat() if g.until else None,
        "original_status": r.status.value,
        "original_message": r.message,
    }
    details: dict[str, Any] = {"exemption": info}
    if r.details is not None:
        details["original_details"] = r.details
    return Result(
        Status.SKIPPED,
        message,
        kind=r.kind,
        namespace=r.namespace,
        name=r.name,
        container=r.container,
        reason=f"{SkipReason.EXEMPT_PREFIX}{g.source}",
        source=r.source,
        details=details,
        remediation=r.remediation,
        line=r.line,
        end_line=r.end_line,
        field_path=r.field_path,
        field_line=r.field_line,
    )
