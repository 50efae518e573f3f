"""``kwa.io/exempt`` annotations: the exemptions a team writes on an object or its pod template.

``kwa.io/exempt: "SEC-001,REL-004"`` (or ``all``, or a pillar name), with ``kwa.io/exempt-reason``
and ``kwa.io/exempt-until`` (an ISO date). A token that names no check, pillar or ``all``, or an
unreadable expiry, is kept as a problem of the grant, which then does not apply (the audit lists
it). :mod:`checks.exemptions` applies the grants with the config's and the shipped rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from checks.exemption_rules import CheckSelector, InvalidExemption, parse_check_tokens, parse_until
from checks.model import Pillar
from checks.peer_exemptions import annotation_maps
from checks.snapshot import K8sObject

ANNOTATION_EXEMPT = "kwa.io/exempt"
ANNOTATION_REASON = "kwa.io/exempt-reason"
ANNOTATION_UNTIL = "kwa.io/exempt-until"


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


def annotation_grants(
    obj: K8sObject, known: frozenset[str] | None = None, metas: list[tuple[str, Any]] | None = None
) -> list[AnnotationGrant]:
    """Grants from the object's own annotations and from its pod template's annotations
    (``metas``: :func:`~checks.peer_exemptions.annotation_maps` of ``obj``, when already found)."""
    out = []
    for where, notes in metas if metas is not None else annotation_maps(obj):
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
