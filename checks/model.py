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
# The id of a check defined at load or run time (a CEL check file: CUS-001; an admission policy
# found in the snapshot: VAP-<policy name>): a prefix of capitals that is no pillar's, a dash, a name.
DYNAMIC_ID_PATTERN = re.compile(r"^[A-Z][A-Z0-9]{1,9}-[A-Za-z0-9][A-Za-z0-9._:-]{0,252}$")


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


# Checks registered at load or run time (checks.dynamic), by id: their pillar cannot be read from
# the prefix. Filled by the registry; forked check workers inherit it with the registry.
_DYNAMIC_PILLARS: dict[str, Pillar] = {}
# Their ids upper-cased, to the registered spelling: config and annotations upper-case ids, and an
# admission policy's name is lower-case.
_DYNAMIC_SPELLING: dict[str, str] = {}
# Prefixes whose checks only exist once a snapshot is read (VAP-): the config may name them before.
_DEFERRED_PREFIXES: set[str] = set()


def note_dynamic(check_id: str, pillar: Pillar | None) -> None:
    """Record (or, with ``pillar=None``, forget) a dynamic check's pillar and spelling."""
    if pillar is None:
        _DYNAMIC_PILLARS.pop(check_id, None)
        _DYNAMIC_SPELLING.pop(check_id.upper(), None)
    else:
        _DYNAMIC_PILLARS[check_id] = pillar
        _DYNAMIC_SPELLING[check_id.upper()] = check_id


def defer_prefix(prefix: str) -> None:
    _DEFERRED_PREFIXES.add(prefix.upper())


def is_deferred(check_id: str) -> bool:
    """True for an id whose check may only be registered once the snapshot is read (``VAP-…``)."""
    prefix, _, rest = check_id.partition("-")
    prefix = prefix.upper()  # ids are matched case-insensitively: vap-x is VAP-x
    return prefix in _DEFERRED_PREFIXES and bool(DYNAMIC_ID_PATTERN.match(f"{prefix}-{rest}"))


def canonical_id(token: str) -> str:
    """A check id as written by a user, in its registered spelling (upper case for the built-ins)."""
    upper = token.strip().upper()
    found = _DYNAMIC_SPELLING.get(upper)
    if found is not None:
        return found
    prefix, _, rest = upper.partition("-")
    if rest and prefix in _DEFERRED_PREFIXES:
        # Named before its check exists (the config is read before the snapshot): a deferred
        # source names its checks after Kubernetes objects, whose names are lower case.
        return f"{prefix}-{rest.lower()}"
    return upper


def is_check_id(token: str) -> bool:
    """True when ``token`` reads as a check id (a built-in's or a dynamic check's), not a pillar name."""
    upper = token.strip().upper()
    return bool(ID_PATTERN.match(upper)) or upper in _DYNAMIC_SPELLING or is_deferred(upper)


def pillar_of(check_id: str) -> Pillar | None:
    """The pillar of a check id: from its prefix for the built-in pattern, else its registration."""
    return PREFIX_PILLAR.get(check_id.split("-", 1)[0]) or _DYNAMIC_PILLARS.get(check_id)


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
    # Where a check defined at load or run time comes from ("cel:checks/team.yaml",
    # "vap:<policy>"); empty for Python checks. Non-empty means a dynamic id (checks.dynamic).
    origin: str = ""

    @property
    def slug(self) -> str:
        """``SEC-001`` → ``sec001``: the form used inside result ids and Prefect task names."""
        return self.id.replace("-", "").lower()

    def summary(self) -> dict[str, Any]:
        out = {
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
        if self.origin:  # Python checks keep their summary's keys as they were
            out["origin"] = self.origin
        return out
