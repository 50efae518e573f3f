"""What a run assessed, as one comparable value: its scope (full, some pillars, some checks).

``runs.scope`` says the kind (``full``, ``pillar``, ``single``, ``custom``); ``runs.pillars`` and
``runs.check_ids`` say which. Two runs are "like" only when they assessed the same thing: a
``--check SEC-001`` run next to full runs is a +9 score spike in a trend and "99 checks gone" in a
diff. :class:`Scope` is that value, with a label the user reads and can type back
(``--scope check:SEC-001``):

* ``full`` — every check of the catalogue (whatever it held at the time);
* ``pillar:security,reliability`` — the pillars selected, sorted;
* ``check:SEC-001,SEC-004`` — the checks selected (``--check``, a resume's remaining checks);
* ``any`` — no filter (``--any-scope``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.enums import Scope as ScopeKind
from storage.scores import PILLAR_ORDER as _PILLARS

__all__ = ["ANY", "FULL", "Scope", "ScopeError"]

_KINDS = {"full": "full", "any": "any", "pillar": "pillar", "pillars": "pillar", "check": "check", "checks": "check"}


class ScopeError(ValueError):
    """A ``--scope`` value that does not parse (a usage error)."""


@dataclass(frozen=True, order=True)
class Scope:
    kind: str  # "full" | "pillar" | "check" | "any"
    members: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind}:{','.join(self.members)}" if self.members else self.kind

    def __str__(self) -> str:
        return self.label

    @property
    def is_any(self) -> bool:
        return self.kind == "any"

    def matches(self, other: Scope) -> bool:
        return self.is_any or self == other

    @classmethod
    def of_run(cls, run: Mapping[str, Any]) -> Scope:
        """The scope a stored run assessed (``scope``, ``pillars`` and ``check_ids`` of its row)."""
        kind = str(run.get("scope") or "")
        if kind == ScopeKind.PILLAR.value:
            return cls("pillar", _sorted(run.get("pillars") or (), _PILLARS))
        if kind in (ScopeKind.SINGLE.value, ScopeKind.CUSTOM.value):
            return cls("check", _sorted(run.get("check_ids") or ()))
        if kind == ScopeKind.FULL.value:
            return FULL
        return cls(kind or "unknown")

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``full``, ``any``, ``pillar:security,cost``, ``check:SEC-001,SEC-004`` (the labels shown)."""
        raw = text.strip()
        head, sep, rest = raw.partition(":")
        kind = _KINDS.get(head.strip().lower())
        expected = (
            f"--scope {text!r}: expected full, any, pillar:P[,P] (pillars: {', '.join(_PILLARS)}) or "
            "check:ID[,ID] — the scope labels `history` and `diff` print"
        )
        if kind is None:
            raise ScopeError(expected)
        members = [m.strip() for m in rest.split(",") if m.strip()]
        if kind in ("full", "any"):
            if sep and members:
                raise ScopeError(expected)
            return ANY if kind == "any" else FULL
        if not members:
            raise ScopeError(expected)
        if kind == "pillar":
            members = [m.lower() for m in members]
            unknown = [m for m in members if m not in _PILLARS]
            if unknown:
                names = ", ".join(map(repr, unknown))
                raise ScopeError(f"--scope {text!r}: unknown pillar {names} (pillars: {', '.join(_PILLARS)})")
            return cls("pillar", _sorted(members, _PILLARS))
        return cls("check", _sorted(m.upper() for m in members))


def _sorted(values: Sequence[str] | Any, order: Sequence[str] = ()) -> tuple[str, ...]:
    unique = {str(v) for v in values}
    return tuple(sorted(unique, key=lambda v: (order.index(v) if v in order else len(order), v)))


FULL = Scope("full")
ANY = Scope("any")
