"""The suppression annotations of the tools kwa replaces, honoured for the kwa checks they map to.

A team moving from Polaris, kube-score, kube-linter or Checkov has already written down what it
accepts, in that tool's annotation. kwa reads those annotations as they are:

- Polaris: ``polaris.fairwinds.com/<check>-exempt: "true"`` exempts that check,
  ``polaris.fairwinds.com/exempt: "true"`` every Polaris check (the value compared
  case-insensitively with ``true``, as Polaris does; ``false`` is simply no exemption);
- kube-score: ``kube-score/ignore: "check-a, check-b"`` (``*`` for every test; ignoring
  ``container-resources`` also ignores ``container-ephemeral-storage-request-and-limit``, as
  kube-score does);
- kube-linter: ``ignore-check.kube-linter.io/<check>: "<reason>"`` and ``kube-linter.io/ignore-all``;
- Checkov: ``checkov.io/skip<N>: CKV_K8S_20`` or ``CKV_K8S_20=<reason>`` (any key starting with
  ``checkov.io/skip`` or ``bridgecrew.io/skip``: Checkov reads them all).

A peer's rule id exempts exactly the kwa checks whose metadata lists it under ``peers:``
(``checks/<pillar>/checks.yaml``); a rule id no kwa check maps exempts nothing, and the audit says
so. Like ``kwa.io/exempt``, the annotations are read on the object and on its pod template. Ids are
compared exactly (the peers do); a value a peer would not honour is no exemption, and is listed as
``invalid`` in the audit.

Parsing is a pure function of the object's annotations and the mapping, called once per object
when a run resolves its exemptions (:meth:`checks.exemptions.Exemptions.prepare`); an object
without any annotation of these tools costs one prefix test per annotation key.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from checks.k8sobject import K8sObject, pod_template
from checks.model import CheckDefinition

PEER_POLARIS = "polaris"
PEER_KUBE_SCORE = "kube-score"
PEER_KUBE_LINTER = "kube-linter"
PEER_CHECKOV = "checkov"
PEER_SOURCES = (PEER_POLARIS, PEER_KUBE_SCORE, PEER_KUBE_LINTER, PEER_CHECKOV)

ALL_RULES = "*"  # an annotation that covers every rule of its tool

POLARIS_PREFIX = "polaris.fairwinds.com/"
POLARIS_ALL = "polaris.fairwinds.com/exempt"
POLARIS_SUFFIX = "-exempt"
KUBE_SCORE_IGNORE = "kube-score/ignore"
KUBE_LINTER_PREFIX = "ignore-check.kube-linter.io/"
KUBE_LINTER_ALL = "kube-linter.io/ignore-all"
CHECKOV_PREFIXES = ("checkov.io/skip", "bridgecrew.io/skip")

# One C-level test per annotation key decides whether it can be a peer's at all.
_KEY_PREFIXES = (POLARIS_PREFIX, KUBE_SCORE_IGNORE, KUBE_LINTER_PREFIX, KUBE_LINTER_ALL, *CHECKOV_PREFIXES)
# kube-score: ignoring the first test ignores the others too.
_KUBE_SCORE_IMPLIED = {"container-resources": ("container-ephemeral-storage-request-and-limit",)}
_CHECKOV_ID = re.compile(r"[A-Za-z0-9_]+")
NO_REASON = "no reason given in the annotation"
_POLARIS_REASON = "no reason (Polaris annotations carry none)"
_KUBE_SCORE_REASON = "no reason (kube-score annotations carry none)"


class PeerIndex:
    """Each peer's rule ids mapped to the kwa checks that list them under ``peers:``."""

    __slots__ = ("by_rule", "every")

    def __init__(self, checks: Iterable[CheckDefinition]) -> None:
        by_rule: dict[str, dict[str, set[str]]] = {peer: {} for peer in PEER_SOURCES}
        for check in checks:
            for peer, rule_ids in check.peers.items():
                rules = by_rule.get(peer)
                if rules is None:
                    continue  # kubescape and trivy have no suppression annotation to honour
                for rule in rule_ids:
                    rules.setdefault(rule, set()).add(check.id)
        self.by_rule = {peer: {r: frozenset(ids) for r, ids in rules.items()} for peer, rules in by_rule.items()}
        self.every = {peer: frozenset().union(*rules.values()) for peer, rules in self.by_rule.items()}

    def checks_for(self, peer: str, rule: str) -> frozenset[str]:
        if rule == ALL_RULES:
            return self.every[peer]
        return self.by_rule[peer].get(rule, frozenset())


@dataclass(frozen=True)
class PeerAnnotation:
    """One peer annotation found on an object or its pod template, read against the mapping."""

    peer: str
    key: str
    where: str  # "metadata" or "pod template"
    rule_checks: tuple[tuple[str, frozenset[str]], ...]  # each rule it names, with the kwa checks mapped to it
    reason: str
    problem: str = ""  # a value the peer would not honour: not applied

    @property
    def name(self) -> str:
        return f"{self.key} ({self.where})"

    @property
    def checks(self) -> frozenset[str]:
        return frozenset().union(*(ids for _, ids in self.rule_checks))

    def rules_for(self, check_id: str) -> tuple[str, ...]:
        """The rules of this annotation that exempt ``check_id`` (what a result names)."""
        return tuple(rule for rule, ids in self.rule_checks if check_id in ids)


def annotation_maps(obj: K8sObject) -> list[tuple[str, Any]]:
    """Where annotations that exempt an object are read: its own, then its pod template's."""
    metas: list[tuple[str, Any]] = [("metadata", obj.annotations)]
    if obj.kind != "Pod":
        template = pod_template(obj)
        if template is not None:
            metas.append(("pod template", template[1].get("annotations")))
    return metas


def peer_annotations(metas: Iterable[tuple[str, Any]], index: PeerIndex) -> list[PeerAnnotation]:
    """Every peer annotation in ``metas`` (see :func:`annotation_maps`), in the order written."""
    out: list[PeerAnnotation] = []
    for where, notes in metas:
        if not notes or not isinstance(notes, dict):  # most objects: no annotations at all
            continue
        for key in notes:
            if isinstance(key, str) and key.startswith(_KEY_PREFIXES):
                found = _parse(key, notes[key], where, index)
                if found is not None:
                    out.append(found)
    return out


def _parse(key: str, value: Any, where: str, index: PeerIndex) -> PeerAnnotation | None:
    """The annotation as its tool reads it, or None when the key is not one of its exemptions."""
    if key.startswith(POLARIS_PREFIX):
        if key == POLARIS_ALL:
            rule = ALL_RULES
        elif key.endswith(POLARIS_SUFFIX) and len(key) > len(POLARIS_PREFIX) + len(POLARIS_SUFFIX):
            rule = key[len(POLARIS_PREFIX) : -len(POLARIS_SUFFIX)]
        else:
            return None  # another Polaris annotation, not an exemption
        text = _text(value).lower()
        if text == "false":
            return None  # written to say "not exempt"
        problem = "" if text == "true" else f"{key} is {value!r}; Polaris honours only 'true'"
        return _annotation(PEER_POLARIS, key, where, [rule], _POLARIS_REASON, index, problem)
    if key == KUBE_SCORE_IGNORE:
        if not isinstance(value, str):
            return _annotation(PEER_KUBE_SCORE, key, where, [], "", index, f"{key} is {value!r}, not a list of tests")
        rules: list[str] = []
        for token in value.split(","):
            token = token.strip()
            if token and token not in rules:
                rules.append(token)
                rules.extend(r for r in _KUBE_SCORE_IMPLIED.get(token, ()) if r not in rules)
        problem = "" if rules else f"{key} is empty"
        return _annotation(PEER_KUBE_SCORE, key, where, rules, _KUBE_SCORE_REASON, index, problem)
    if key == KUBE_LINTER_ALL or key.startswith(KUBE_LINTER_PREFIX):
        rule = ALL_RULES if key == KUBE_LINTER_ALL else key[len(KUBE_LINTER_PREFIX) :]
        problem = "" if rule else f"{key} names no check"
        return _annotation(PEER_KUBE_LINTER, key, where, [rule], _text(value) or NO_REASON, index, problem)
    if key.startswith(KUBE_LINTER_ALL) or key.startswith(KUBE_SCORE_IGNORE):
        return None  # kube-score/ignored-by-x and the like: another tool's key with a shared prefix
    # checkov.io/skip<anything>: Checkov reads one check id per annotation, "ID" or "ID=comment".
    if not isinstance(value, str):
        return _annotation(PEER_CHECKOV, key, where, [], "", index, f"{key} is {value!r}, not 'CKV_K8S_<n>[=reason]'")
    rule, _, comment = value.partition("=")
    rule = rule.strip()
    problem = "" if _CHECKOV_ID.fullmatch(rule) else f"{key} is {value!r}; Checkov takes one id, 'CKV_K8S_<n>[=reason]'"
    return _annotation(PEER_CHECKOV, key, where, [rule], comment.strip() or NO_REASON, index, problem)


def _annotation(
    peer: str, key: str, where: str, rules: list[str], reason: str, index: PeerIndex, problem: str
) -> PeerAnnotation:
    rule_checks = () if problem else tuple((rule, index.checks_for(peer, rule)) for rule in rules)
    return PeerAnnotation(peer, key, where, rule_checks, reason, problem)


def _text(value: Any) -> str:
    """An annotation value as text (YAML may give an unquoted ``true`` as a boolean)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).strip()


# ---- audit ------------------------------------------------------------------------------------

EXAMPLES_KEPT = 3


def rule_label(peer: str, rule: str) -> str:
    """How the audit names one rule of a peer annotation (independent of the object it is on)."""
    if peer == PEER_POLARIS:
        return POLARIS_ALL if rule == ALL_RULES else f"{POLARIS_PREFIX}{rule}{POLARIS_SUFFIX}"
    if peer == PEER_KUBE_SCORE:
        return f"{KUBE_SCORE_IGNORE}: {rule}"
    if peer == PEER_KUBE_LINTER:
        return KUBE_LINTER_ALL if rule == ALL_RULES else f"{KUBE_LINTER_PREFIX}{rule}"
    return f"checkov.io/skip: {rule}"


def audit_peers(
    objects: Iterable[tuple[K8sObject, list[PeerAnnotation]]],
    counts: Mapping[tuple[Any, ...], int] | None,
    disabled: str = "",
) -> list[dict[str, Any]]:
    """The audit's entries for peer annotations: one per (peer, rule) with how many objects carry it.

    Unlike kwa's own annotations, honoured peer annotations are listed even when nothing is wrong
    (``active``): they were written for another tool, and the audit is where a team sees what kwa
    inherited. One entry per rule keeps that bounded however many objects carry it. ``unmapped``:
    a rule no kwa check maps (it exempts nothing); ``invalid`` (per object): a value the peer would
    not honour; ``disallowed``: ``disabled`` says which switch turned them off.
    """
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for obj, found in objects:
        for p in found:
            if p.problem:
                entry = {"source": p.peer, "name": p.name, "object": obj.ref, "checks": ""}
                if counts is not None:
                    entry["results"] = 0
                status, message = ("disallowed", disabled) if disabled else ("invalid", p.problem + "; not applied")
                out.append({**entry, "status": status, "message": message})
                continue
            for rule, ids in p.rule_checks:
                group = grouped.get((p.peer, rule))
                if group is None:
                    group = grouped[(p.peer, rule)] = {"ids": ids, "refs": [], "last": None}
                if group["last"] is not obj:  # the same rule on an object and its template: one object
                    group["last"] = obj
                    group["refs"].append(obj.ref)
    for (peer, rule), group in grouped.items():
        ids: frozenset[str] = group["ids"]
        entry = {
            "source": peer,
            "name": rule_label(peer, rule),
            "rule": rule,
            "checks": ", ".join(sorted(ids)),
            "objects": len(group["refs"]),
            "examples": group["refs"][:EXAMPLES_KEPT],
        }
        if counts is not None:
            entry["results"] = counts.get((peer, "rule", rule), 0)
        if disabled:
            status, message = "disallowed", disabled
        elif not ids:
            status, message = "unmapped", f"no kwa check maps {peer}'s {rule!r}; exempts nothing"
        else:
            status, message = "active", f"honoured as exempt:{peer} for {entry['checks']}"
        out.append({**entry, "status": status, "message": message})
    return out
