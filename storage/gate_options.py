"""CI gate options: parsing ``--fail-on``, ``--min-score`` and ``--min-coverage`` (and ``$KWA_MIN_COVERAGE``).

Split out of :mod:`storage.gates` (which re-exports every name here) so that turning what a user
typed into a policy — and refusing what does not parse with :class:`GateError`, a usage error —
reads apart from evaluating a run against that policy and wording what it breaks. The rules
themselves are described in :mod:`storage.gates`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from storage.enums import SEVERITIES

__all__ = [
    "DEFAULT_MIN_COVERAGE",
    "MIN_COVERAGE_ENV",
    "SEVERITIES",
    "GateError",
    "parse_fail_on",
    "parse_min_coverage",
    "parse_min_score",
]

DEFAULT_MIN_COVERAGE = 90.0
"""Coverage (%) a run needs for any gate to pass, unless ``--min-coverage`` or the variable says otherwise.

90: one check in ten may be missing (a crash, a timeout, a kind the credentials cannot list) before
a gate stops vouching for the run; a scan missing a whole pillar's worth of checks never passes."""
MIN_COVERAGE_ENV = "KWA_MIN_COVERAGE"


class GateError(ValueError):
    """A gate option that does not parse (a usage error)."""


def parse_fail_on(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    v = value.strip().lower()
    if v not in SEVERITIES:
        raise GateError(f"--fail-on {value!r}: expected one of {', '.join(SEVERITIES)}")
    return v


def _percentages(values: str | list[str] | tuple[str, ...] | None, flag: str, what: str = "score") -> dict[str, float]:
    """``"80"`` → ``{"overall": 80}``; ``"security=90,cost=60"`` → per pillar; repeatable."""
    if values is None:
        return {}
    items = [values] if isinstance(values, str) else list(values)
    out: dict[str, float] = {}
    for item in items:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, number = part.partition("=")
            if not sep:
                name, number = "overall", name
            name = name.strip().lower()
            expected = f"{flag} {part!r}: expected N or PILLAR=N, N a {what} from 0 to 100"
            try:
                value = float(number.strip().removesuffix("%"))
            except ValueError:
                raise GateError(expected) from None
            if not 0 <= value <= 100 or not name:  # also refuses nan and inf
                raise GateError(expected)
            out[name] = value
    return out


def parse_min_score(values: str | list[str] | tuple[str, ...] | None) -> dict[str, float]:
    """``"80"`` → ``{"overall": 80}``; ``"security=90,cost=60"`` → per pillar; repeatable."""
    return _percentages(values, "--min-score")


def parse_min_coverage(
    values: str | list[str] | tuple[str, ...] | None,
    requested: bool = True,
    environ: Mapping[str, str] | None = None,
) -> dict[str, float] | None:
    """The coverage policy: :data:`DEFAULT_MIN_COVERAGE`, overridden by ``$KWA_MIN_COVERAGE``, then by
    ``values`` (``--min-coverage``, same syntax as ``--min-score``; ``90%`` is accepted too).

    ``None`` when no gate is requested: neither ``values`` nor ``requested`` (another gate).
    """
    if not values and not requested:
        return None
    env = os.environ if environ is None else environ
    policy = {"overall": DEFAULT_MIN_COVERAGE}
    from_env = (env.get(MIN_COVERAGE_ENV) or "").strip()
    if from_env:
        policy.update(_percentages(from_env, f"${MIN_COVERAGE_ENV}", "coverage"))
    policy.update(_percentages(values, "--min-coverage", "coverage"))
    return policy
