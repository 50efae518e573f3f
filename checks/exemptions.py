"""Exemptions: results that a team has decided not to act on, recorded as ``skipped``, never dropped.

Three sources, in the order they are consulted:

- ``annotation``: ``kwa.io/exempt: "SEC-001,REL-004"`` (or ``all``, or a pillar name) on an object
  or on its pod template, with ``kwa.io/exempt-reason`` and ``kwa.io/exempt-until`` (ISO date);
  then the peers' own annotations (``polaris``, ``kube-score``, ``kube-linter``, ``checkov``: see
  :mod:`checks.peer_exemptions`) for the kwa checks their rule ids map to, unless the config's
  ``peer_exemptions`` is false;
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

What a rule is and how the config's rules and the shipped defaults are read and validated lives in
:mod:`checks.exemption_rules`, how a ``kwa.io/exempt`` annotation is read in
:mod:`checks.exemption_annotations`; this module applies them to a run. Their names are
re-exported here, where callers have always imported them from.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from checks.exemption_annotations import (  # noqa: F401  (re-exported)
    ANNOTATION_EXEMPT,
    ANNOTATION_REASON,
    ANNOTATION_UNTIL,
    AnnotationGrant,
    annotation_grants,
)
from checks.exemption_rules import (  # noqa: F401  (re-exported: callers import the rules from here)
    DEFAULT_SOURCES,
    DEFAULTS_FILE,
    RULE_KEYS,
    SOURCE_ANNOTATION,
    SOURCE_CONFIG,
    SOURCE_DEFAULT,
    SOURCE_SYSTEM_NAMESPACE,
    CheckSelector,
    ExemptionRule,
    InvalidExemption,
    default_rules,
    parse_check_tokens,
    parse_rule,
    parse_until,
    suggest,
    validate_selector,
)
from checks.model import CheckDefinition, Result, SkipReason, Status
from checks.peer_exemptions import PeerAnnotation, PeerIndex, annotation_maps, audit_peers, peer_annotations
from checks.snapshot import K8sObject, Snapshot

# Only verdicts are exempted; a skip, an error or a timeout says something about the run itself.
EXEMPTIBLE = frozenset({Status.PASSING, Status.FAILING, Status.WARNING})

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
    peer: PeerAnnotation | None = None

    def covers(self, check_id: str, containers: Sequence[str | None]) -> bool:
        if not self.checks.covers(check_id):
            return False
        return self.rule is None or self.rule.covers_containers(containers)


class _Candidates:
    """The rules that may select objects of one kind in one namespace, in rule order, with one
    pattern for all their name patterns: most objects match no rule's name, and one match says so."""

    __slots__ = ("named", "rules")

    def __init__(self, rules: list[ExemptionRule]) -> None:
        self.rules = tuple(rules)
        patterns = [r._name_re for r in rules]  # type: ignore[attr-defined]
        self.named = None
        if patterns and all(p is not None for p in patterns):
            self.named = re.compile("|".join(f"(?:{p.pattern})" for p in patterns))

    def for_name(self, name: str) -> tuple[ExemptionRule, ...]:
        if not self.rules or (self.named is not None and not self.named.match(name)):
            return ()
        return self.rules


class Exemptions:
    """The exemptions in force for a run: annotations (kwa's, then the peers' when ``peers`` is given
    and ``allow_peers``; none unless ``allow_annotations``), config rules, shipped defaults.

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
        peers: PeerIndex | None = None,
        allow_peers: bool = True,
    ):
        self.rules = list(rules)
        self.allow_annotations = allow_annotations
        self.peers = peers
        self.allow_peers = allow_peers
        self.known_checks = known_checks
        self._today = today
        self._cache_for: Snapshot | None = None
        self._cache: dict[tuple[str, str | None, str], tuple[Grant, ...]] = {}
        # (kind, namespace, today) -> the unexpired rules whose kind and namespace patterns select
        # them: 14 shipped rules x 100,000 objects was 1.4 million pattern matches, now one per pair.
        self._places: dict[tuple[str, str | None, date], _Candidates] = {}
        self._kinds: dict[tuple[str, date], list[ExemptionRule]] = {}
        self._rule_sets: dict[tuple[int, ...], _Candidates] = {}

    @property
    def today(self) -> date:
        """The day expiry is judged against: today (UTC) unless fixed for a test."""
        return self._today or datetime.now(UTC).date()

    # -- matching -------------------------------------------------------------------------------
    def grants(self, snapshot: Snapshot, kind: str, namespace: str | None, name: str) -> tuple[Grant, ...]:
        """Unexpired exemptions that select this object, memoised per snapshot."""
        if self._cache_for is not snapshot:
            self._cache_for, self._cache, self._places = snapshot, {}, {}
            self._kinds, self._rule_sets = {}, {}
        key = (kind, namespace, name)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(snapshot.get(kind, namespace, name), kind, namespace, name)
        return found

    def _resolve(self, obj: K8sObject | None, kind: str, namespace: str | None, name: str) -> tuple[Grant, ...]:
        today = self.today
        out: list[Grant] = []
        if obj is not None and self.allow_annotations:
            metas = annotation_maps(obj)
            for a in annotation_grants(obj, self.known_checks, metas):
                if not a.problems and not (a.until is not None and today > a.until):
                    out.append(Grant(SOURCE_ANNOTATION, a.name, a.checks, a.reason, a.until))
            if self.peers is not None and self.allow_peers:
                for p in peer_annotations(metas, self.peers):
                    ids = p.checks
                    if ids:  # a value the peer would not honour, or only rules kwa does not map: nothing
                        out.append(Grant(p.peer, p.name, CheckSelector(ids=ids), p.reason, None, peer=p))
        labels = obj.labels if obj is not None else None
        place = name if kind == "Namespace" else namespace
        key = (kind, place, today)
        candidates = self._places.get(key)
        if candidates is None:
            candidates = self._places[key] = self._candidates(kind, place, today)
        for rule in candidates.for_name(name):
            if rule.selects_object(name, labels):
                out.append(Grant(rule.source, rule.name, rule.checks, rule.reason, rule.until, rule))
        return tuple(out)

    def _candidates(self, kind: str, place: str | None, today: date) -> _Candidates:
        """The rules selecting ``(kind, place)``: ``selects_place`` in halves, kinds once per kind
        (10,000 namespaces make that many pairs), one :class:`_Candidates` per distinct rule set."""
        by_kind = self._kinds.get((kind, today))
        if by_kind is None:
            by_kind = [r for r in self.rules if not r.expired(today) and r.selects_kind(kind)]
            self._kinds[(kind, today)] = by_kind
        rules = [r for r in by_kind if r.selects_namespace(place)]
        key = tuple(map(id, rules))
        found = self._rule_sets.get(key)
        if found is None:
            found = self._rule_sets[key] = _Candidates(rules)
        return found

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
        # Once prepared, the answer for every object is in the cache, and for nearly all of them it
        # is "no grant": read it here, without two calls per result (600,000 results at 100,000
        # objects). A snapshot not prepared goes through grants(), which resolves and memoises.
        cache = self._cache if self._cache_for is snapshot else None
        for r in results:
            if r.kind and r.status in EXEMPTIBLE:
                key = (r.kind, r.namespace, r.name or "")
                grants = cache.get(key) if cache is not None else None
                if grants is None:
                    grants = self.grants(snapshot, *key)
                if grants:
                    grant = _covering(grants, check.id, r)
                    if grant is not None:
                        r = _exempted(r, grant, check.id)
            out.append(r)
        return out

    def first_grant(self, check_id: str, snapshot: Snapshot, r: Result) -> Grant | None:
        grants = self.grants(snapshot, r.kind or "", r.namespace, r.name or "")
        return _covering(grants, check_id, r) if grants else None

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
        not listed. Peer annotations are always listed, one entry per peer rule
        (:func:`checks.peer_exemptions.audit_peers`).
        """
        today = self.today
        counts: dict[tuple[Any, ...], int] | None = None if results is None else _exempted_counts(results)
        out: list[dict[str, Any]] = []
        selected: Counter[int] | None = None
        for rule in self.rules:
            if rule.source != SOURCE_CONFIG and rule.until is None and not include_active:
                continue  # a shipped default without expiry is never worth an audit line
            if rule.expired(today):  # not among any object's grants: counted the plain way
                objects = sum(1 for o in snapshot.objects if rule.matches(o.kind, o.namespace, o.name, o.labels))
            else:
                if selected is None:
                    selected = self._selected(snapshot)
                objects = selected[id(rule)]
            entry: dict[str, Any] = {
                "source": rule.source,
                "name": rule.name,
                "checks": rule.checks.describe(),
                "objects": objects,
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
        found_peers: list[tuple[K8sObject, list[PeerAnnotation]]] = []
        for obj in snapshot.objects:
            metas = annotation_maps(obj)
            if self.peers is not None:
                found = peer_annotations(metas, self.peers)
                if found:
                    found_peers.append((obj, found))
            for a in annotation_grants(obj, self.known_checks, metas):
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
        if found_peers:
            out.extend(audit_peers(found_peers, counts, self._peers_disabled()))
        return out

    def _selected(self, snapshot: Snapshot) -> Counter[int]:
        """How many of the snapshot's objects each unexpired rule selects (by ``id`` of the rule),
        from the grants the run resolved: one pass over the objects, where counting each rule's
        objects by matching it against all of them was (rules x objects), 2 s at 10,000 objects
        and 100 rules, past a minute at 400,000."""
        selected: Counter[int] = Counter()
        for obj in snapshot.objects:
            if snapshot.get(obj.kind, obj.namespace, obj.name) is obj:
                grants = self.grants(snapshot, obj.kind, obj.namespace, obj.name)
                selected.update(id(g.rule) for g in grants if g.rule is not None)
            else:  # a second object of the same kind and name: the grants are the first one's
                today = self.today
                selected.update(
                    id(r) for r in self.rules
                    if not r.expired(today) and r.matches(obj.kind, obj.namespace, obj.name, obj.labels)
                )  # fmt: skip
        return selected

    def _peers_disabled(self) -> str:
        """Why peer annotations are not applied in this run ('' when they are)."""
        if not self.allow_annotations:
            return "annotation exemptions are disabled (allow_annotation_exemptions: false); not applied"
        if not self.allow_peers:
            return "peer annotations are switched off (peer_exemptions: false); not applied"
        return ""


def _covering(grants: tuple[Grant, ...], check_id: str, r: Result) -> Grant | None:
    """The first of an object's grants that covers this check (and the result's containers)."""
    containers = result_containers(r)
    return next((g for g in grants if g.covers(check_id, containers)), None)


def _exempted_counts(results: Iterable[Result]) -> dict[tuple[Any, ...], int]:
    counts: dict[tuple[Any, ...], int] = {}
    for r in results:
        info = r.details.get("exemption") if isinstance(r.details, dict) else None
        if r.status is not Status.SKIPPED or not isinstance(info, dict):
            continue
        source = info.get("source")
        for rule in info.get("peer_rules") or ():  # a peer's rules are audited across objects
            counts[(source, "rule", rule)] = counts.get((source, "rule", rule), 0) + 1
        key: tuple[Any, ...] = (source, info.get("name"))
        if source == SOURCE_ANNOTATION:
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


def _exempted(r: Result, g: Grant, check_id: str = "") -> Result:
    rules = g.peer.rules_for(check_id) if g.peer is not None else ()
    if g.source == SOURCE_ANNOTATION:
        label = "annotation " + g.name
    elif g.peer is not None:
        # Name the peer's rule that maps to this check: the annotation may list several.
        label = f"{g.source} annotation {g.name}" + (f" for {', '.join(rules)}" if rules else "")
    else:
        label = f"{g.source} exemption {g.name!r}"
    until = f" until {g.until.isoformat()}" if g.until else ""
    message = f"exempt by {label}{until}: {g.reason} (was {r.status.value}"
    message += f": {r.message})" if r.message else ")"
    info: dict[str, Any] = {
        "source": g.source,
        "name": g.name,
        "reason": g.reason,
        "until": g.until.isoformat() if g.until else None,
        "original_status": r.status.value,
        "original_message": r.message,
    }
    if g.peer is not None:
        info["peer_rules"] = list(rules)
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
        column=r.column,
        field_column=r.field_column,
    )
