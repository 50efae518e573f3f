"""The check registry: in-tree registration by decorator, third-party checks by entry point.

Metadata is validated when a check registers, so a malformed check fails at import time with a
message naming it, instead of producing odd rows in the middle of a run.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from checks.model import (
    PREFIX_PILLAR,
    CheckDefinition,
    CheckFunc,
    Mode,
    Pillar,
    Severity,
)

ID_PATTERN = re.compile(r"^(SEC|REL|PERF|COST|OPS|SUS)-\d{3}$")
ENTRY_POINT_GROUP = "kwa.checks"
_BUILTIN_MODULES = (
    "checks.security",
    "checks.security_access",
    "checks.reliability",
    "checks.performance",
    "checks.cost",
    "checks.operations",
    "checks.sustainability",
)


class CheckRegistrationError(ValueError):
    """A check's metadata is invalid; the message names the check and the field."""


class UnknownCheckError(KeyError):
    def __init__(self, check_id: str, known: Iterable[str]):
        self.check_id = check_id
        self.known = sorted(known)
        super().__init__(check_id)

    def __str__(self) -> str:
        return f"unknown check id {self.check_id!r}; valid ids: {', '.join(self.known)}"


class UnknownPillarError(ValueError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown pillar {self.name!r}; valid pillars: {', '.join(p.value for p in Pillar)}"


class Registry:
    def __init__(self) -> None:
        self._checks: dict[str, CheckDefinition] = {}

    def register(self, definition: CheckDefinition) -> CheckDefinition:
        _validate(definition)
        if definition.id in self._checks:
            existing = self._checks[definition.id]
            raise CheckRegistrationError(
                f"check {definition.id}: id already registered by "
                f"{existing.func.__module__}.{existing.func.__qualname__}"
            )
        self._checks[definition.id] = definition
        return definition

    def unregister(self, check_id: str) -> None:
        self._checks.pop(check_id, None)

    def all(self) -> list[CheckDefinition]:
        return sorted(self._checks.values(), key=_sort_key)

    def by_id(self, check_id: str) -> CheckDefinition:
        key = check_id.strip().upper()
        try:
            return self._checks[key]
        except KeyError:
            raise UnknownCheckError(check_id, self._checks) from None

    def by_pillar(self, *pillars: Pillar) -> list[CheckDefinition]:
        wanted = set(pillars)
        return [c for c in self.all() if c.pillar in wanted]

    def select(self, pillars: Iterable[str] | None = None, ids: Iterable[str] | None = None) -> list[CheckDefinition]:
        """Checks in scope: the given ids, else the given pillars, else everything.

        Raises :class:`UnknownCheckError` or :class:`UnknownPillarError` naming the valid values.
        """
        id_list = [i for i in (ids or []) if i.strip()]
        pillar_list = [p for p in (pillars or []) if p.strip()]
        if id_list:
            chosen = [self.by_id(i) for i in id_list]
            seen: set[str] = set()
            return [c for c in chosen if not (c.id in seen or seen.add(c.id))]
        if pillar_list:
            parsed = []
            for name in pillar_list:
                try:
                    parsed.append(Pillar.parse(name))
                except ValueError:
                    raise UnknownPillarError(name) from None
            return self.by_pillar(*parsed)
        return self.all()

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._checks

    def __len__(self) -> int:
        return len(self._checks)


def _sort_key(c: CheckDefinition) -> tuple[int, str]:
    return (list(Pillar).index(c.pillar), c.id)


def _validate(d: CheckDefinition) -> None:
    who = f"check {d.id!r}" if isinstance(d.id, str) else f"check {d!r}"

    def fail(problem: str) -> None:
        raise CheckRegistrationError(f"{who}: {problem}")

    if not isinstance(d.id, str) or not ID_PATTERN.match(d.id):
        fail("id must match ^(SEC|REL|PERF|COST|OPS|SUS)-\\d{3}$")
    if not isinstance(d.pillar, Pillar):
        fail(f"pillar must be one of {', '.join(p.value for p in Pillar)}")
    if PREFIX_PILLAR[d.id.split("-")[0]] is not d.pillar:
        fail(f"id prefix {d.id.split('-')[0]} does not belong to pillar {d.pillar.value}")
    if not isinstance(d.severity, Severity):
        fail(f"severity must be one of {', '.join(s.value for s in Severity)}")
    if not isinstance(d.mode, Mode):
        fail(f"mode must be one of {', '.join(m.value for m in Mode)}")
    for attr in ("name", "description", "remediation"):
        value = getattr(d, attr)
        if not isinstance(value, str) or not value.strip():
            fail(f"{attr} is required")
    if not callable(d.func):
        fail("func must be callable")
    if d.timeout is not None and not (d.timeout > 0):
        fail("timeout must be a positive number of seconds")


REGISTRY = Registry()
_loaded = False


def check(
    *,
    id: str,
    pillar: Pillar | str,
    name: str,
    severity: Severity | str,
    description: str,
    remediation: str,
    mode: Mode | str = Mode.MANIFEST,
    requires: Iterable[str] = (),
    peers: dict[str, Iterable[str]] | None = None,
    docs_url: str = "",
    timeout: float | None = None,
    opt_in: bool = False,
    registry: Registry | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Register the decorated function as a check; the function itself is returned unchanged."""

    def decorate(func: CheckFunc) -> CheckFunc:
        definition = CheckDefinition(
            id=id,
            pillar=_coerce(Pillar, pillar, id, "pillar"),
            name=name,
            severity=_coerce(Severity, severity, id, "severity"),
            description=description,
            remediation=remediation,
            mode=_coerce(Mode, mode, id, "mode"),
            func=func,
            requires=tuple(requires),
            peers={k: tuple(v) for k, v in (peers or {}).items()},
            docs_url=docs_url or f"docs/checks.md#{id.lower()}",
            timeout=timeout,
            opt_in=opt_in,
        )
        (registry or REGISTRY).register(definition)
        func.definition = definition  # type: ignore[attr-defined]
        return func

    return decorate


def _coerce(enum: type, value: object, check_id: str, field_name: str):  # type: ignore[no-untyped-def]
    if isinstance(value, enum):
        return value
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)  # type: ignore[attr-defined]
        raise CheckRegistrationError(
            f"check {check_id!r}: {field_name} {value!r} is not one of {allowed}"
        ) from None


def load_plugins(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Import every ``kwa.checks`` entry point; each registers its checks on import."""
    loaded = []
    for ep in entry_points(group=group):
        try:
            ep.load()
        except CheckRegistrationError:
            raise
        except Exception as exc:  # a broken plugin names itself, then stops the import
            raise CheckRegistrationError(f"plugin entry point {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        loaded.append(ep.name)
    return loaded


def load_extra_modules(env: str = "KWA_CHECK_MODULES") -> list[str]:
    """Import the modules named in ``$KWA_CHECK_MODULES`` (comma-separated): local checks that are
    not packaged with an entry point, e.g. a team's own rules next to its manifests."""
    names = [n.strip() for n in os.environ.get(env, "").split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except CheckRegistrationError:
            raise
        except Exception as exc:
            raise CheckRegistrationError(f"{env}: module {name!r} failed to load: {exc}") from exc
    return names


def load_all(include_plugins: bool = True) -> Registry:
    """Import the built-in check modules, ``kwa.checks`` entry points and ``$KWA_CHECK_MODULES`` (once)."""
    global _loaded
    if not _loaded:
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
        if include_plugins:
            load_plugins()
            load_extra_modules()
        _loaded = True
    return REGISTRY
