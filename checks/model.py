"""The contracts every layer shares: pillars, severities, statuses, check definitions, results.

These are the data contracts (CheckDefinition, AssessmentResult) of docs/lifecycle.md in Python. They are
plain, dependency-free types so that storage and presentation can import them without pulling in
Prefect or the Kubernetes client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.context import CheckContext


# A check id: the pillar's prefix and three digits (SEC-001). The one definition; config and
# exemptions validate ids against it too.
ID_PATTERN = re.compile(r"^(SEC|REL|PERF|COST|OPS|SUS)-\d{3}$")


class Pillar(StrEnum):
    SECURITY = "security"
    RELIABILITY = "reliability"
    PERFORMANCE = "performance"
    COST = "cost"
    OPERATIONAL_EXCELLENCE = "operational-excellence"
    SUSTAINABILITY = "sustainability"

    @property
    def prefix(self) -> str:
        return _PILLAR_PREFIX[self]

    @classmethod
    def parse(cls, text: str) -> Pillar:
        """Accept the canonical name, the id prefix (``SEC``) or a common short form (``ops``)."""
        key = text.strip().lower().replace("_", "-").replace(" ", "-")
        if key in _PILLAR_ALIASES:
            return _PILLAR_ALIASES[key]
        raise ValueError(text)


_PILLAR_PREFIX = {
    Pillar.SECURITY: "SEC",
    Pillar.RELIABILITY: "REL",
    Pillar.PERFORMANCE: "PERF",
    Pillar.COST: "COST",
    Pillar.OPERATIONAL_EXCELLENCE: "OPS",
    Pillar.SUSTAINABILITY: "SUS",
}
PREFIX_PILLAR = {prefix: pillar for pillar, prefix in _PILLAR_PREFIX.items()}
_PILLAR_ALIASES: dict[str, Pillar] = {p.value: p for p in Pillar}
_PILLAR_ALIASES.update({p.prefix.lower(): p for p in Pillar})
_PILLAR_ALIASES.update(
    {
        "performance-efficiency": Pillar.PERFORMANCE,
        "cost-optimization": Pillar.COST,
        "operations": Pillar.OPERATIONAL_EXCELLENCE,
        "operational": Pillar.OPERATIONAL_EXCELLENCE,
        "opex": Pillar.OPERATIONAL_EXCELLENCE,
    }
)


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def weight(self) -> int:
        return _SEVERITY_WEIGHT[self]

    @property
    def rank(self) -> int:
        """Higher is more severe; used by ``--fail-on`` style gates."""
        return 5 - list(Severity).index(self)


_SEVERITY_WEIGHT = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 5,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(StrEnum):
    PASSING = "passing"
    FAILING = "failing"
    WARNING = "warning"
    SKIPPED = "skipped"
    ERROR = "error"
    TIMEOUT = "timeout"


class Mode(StrEnum):
    """Where a check can produce a verdict.

    ``manifest`` checks work on any snapshot (they also run live); ``live`` checks need object
    status or server facts only a cluster has; ``live+metrics`` also need ``metrics.k8s.io``.
    """

    MANIFEST = "manifest"
    LIVE = "live"
    LIVE_METRICS = "live+metrics"


class SkipReason:
    """Machine-readable reasons stored with ``skipped`` results (docs/catalogue.md#conventions)."""

    NOT_APPLICABLE = "not-applicable"
    REQUIRES_LIVE = "requires-live"
    REQUIRES_METRICS = "requires-metrics"
    DISABLED = "disabled"
    EXEMPT_PREFIX = "exempt:"


class ErrorReason:
    """Machine-readable reasons stored with per-object ``error`` results that kwa itself makes."""

    # The input boundary quarantined the object (a field of the wrong type): an input problem,
    # one row per check that would have evaluated it; it never makes the check itself "errored".
    MALFORMED = "malformed"
    # The check raised on this object (found by the safety net); the other objects were judged without it.
    CHECK_ERROR = "check-error"
    # The object breaks the Kubernetes schema of the target version (OPS-012): every other check's
    # passing verdict on it becomes an error naming the invalid fields. Like MALFORMED, a problem of
    # the input, not of the check.
    SCHEMA_INVALID = "schema-invalid"
    INPUT = frozenset({MALFORMED, SCHEMA_INVALID})


@dataclass(slots=True)
class Result:
    """One verdict of one check about one object (and optionally one container).

    ``kind``/``namespace``/``name`` are empty for check-level rows (for example a live-only check
    skipped on manifests, or an error because a resource could not be listed).

    Positions (manifest objects only, 1-based, recorded at run time by :mod:`checks.positions`):
    ``line``/``end_line`` are the object's first and last content lines in its file and ``column``
    the column of its first character; ``field_path`` the field the verdict is about, when the
    check can say (``spec.template.spec.containers[0].securityContext.privileged``), and
    ``field_line``/``field_column`` where that field's key is (or the deepest part of the path
    the object has).
    """

    status: Status
    message: str = ""
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    container: str | None = None
    reason: str | None = None
    source: str | None = None
    details: Any = None
    remediation: str | None = None
    line: int | None = None
    end_line: int | None = None
    field_path: str | None = None
    field_line: int | None = None
    column: int | None = None
    field_column: int | None = None

    def as_row(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "message": self.message,
            "object_kind": self.kind,
            "object_namespace": self.namespace,
            "object_name": self.name,
            "container": self.container,
            "reason": self.reason,
            "source": self.source,
            "details": self.details,
            "remediation": self.remediation,
            "source_line": self.line,
            "source_column": self.column,
            "source_end_line": self.end_line,
            "field_path": self.field_path,
            "field_line": self.field_line,
            "field_column": self.field_column,
        }


CheckFunc = Callable[["CheckContext"], Iterable[Result]]


@dataclass(frozen=True)
class CheckDefinition:
    """A registered check: metadata plus the pure function that evaluates it."""

    id: str
    pillar: Pillar
    name: str
    severity: Severity
    description: str
    remediation: str
    mode: Mode
    func: CheckFunc = field(compare=False, repr=False)
    requires: tuple[str, ...] = ()
    peers: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    # The config keys the check reads through ctx.setting (checks.config.SETTINGS declares them).
    settings: tuple[str, ...] = ()
    docs_url: str = ""
    timeout: float | None = None
    opt_in: bool = False

    @property
    def slug(self) -> str:
        """``SEC-001`` → ``sec001``: the form used inside result ids and Prefect task names."""
        return self.id.replace("-", "").lower()

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pillar": self.pillar.value,
            "name": self.name,
            "severity": self.severity.value,
            "mode": self.mode.value,
            "description": self.description,
            "remediation": self.remediation,
            "requires": list(self.requires),
            "peers": {k: list(v) for k, v in self.peers.items()},
            "docs_url": self.docs_url,
            "opt_in": self.opt_in,
        }
