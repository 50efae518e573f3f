"""The check registry: built-in checks by package and data file, third-party checks by entry point.

A built-in check is a function marked ``@check("REL-001")`` in a topic module of a pillar package
(``checks/reliability/probes.py``) plus its entry in that package's ``checks.yaml``;
:func:`bind_package` imports the package's modules, reads the data file and registers each pair
(checks.metadata). Metadata is validated when a check registers, so a malformed check, a function
without metadata or metadata without a function fails at import time with a message naming it,
instead of producing odd rows in the middle of a run. How to add one: CONTRIBUTING.md.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from checks.metadata import DATA_FILE, CheckRegistrationError, join, read_metadata, where
from checks.model import (
    DYNAMIC_ID_PATTERN,
    ID_PATTERN,
    PREFIX_PILLAR,
    CheckDefinition,
    CheckFunc,
    Mode,
    Pillar,
    Severity,
    canonical_id,
    is_deferred,
    note_dynamic,
)

ENTRY_POINT_GROUP = "kwa.checks"
# One package per pillar; each binds its topic modules to its checks.yaml when imported.
BUILTIN_PACKAGES = (
    "checks.security",
    "checks.reliability",
    "checks.performance",
    "checks.cost",
    "checks.operations",
    "checks.sustainability",
)
__all__ = ["BUILTIN_PACKAGES", "REGISTRY", "CheckRegistrationError", "Registry", "bind_package", "check", "load_all"]


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
        existing = self._checks.get(definition.id)
        if existing is None and definition.origin:
            existing = next((c for c in self._checks.values() if c.id.upper() == definition.id.upper()), None)
        if existing is not None:
            # A dynamic check read again from the same place (the CLI, then the flow, in one
            # process) replaces itself; from anywhere else it is a collision.
            if definition.origin and existing.origin == definition.origin and existing.id == definition.id:
                self._checks[definition.id] = definition
                note_dynamic(definition.id, definition.pillar)
                return definition
            raise CheckRegistrationError(f"check {definition.id}: id already registered by {_owner(existing)}")
        self._checks[definition.id] = definition
        if definition.origin:
            note_dynamic(definition.id, definition.pillar)
        return definition

    def unregister(self, check_id: str) -> None:
        removed = self._checks.pop(check_id, None)
        if removed is not None and removed.origin:
            note_dynamic(check_id, None)

    def all(self) -> list[CheckDefinition]:
        return sorted(self._checks.values(), key=_sort_key)

    def by_id(self, check_id: str) -> CheckDefinition:
        key = canonical_id(check_id)
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
        asked = [i.strip() for i in (ids or []) if i.strip()]
        # An id a check source only makes once the snapshot is read (VAP-...) is picked then
        # (checks.dynamic.snapshot_checks), not refused now.
        id_list = [i for i in asked if not (is_deferred(i) and i not in self)]
        pillar_list = [p for p in (pillars or []) if p.strip()]
        if asked:
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
        return check_id in self._checks or (isinstance(check_id, str) and canonical_id(check_id) in self._checks)

    def __len__(self) -> int:
        return len(self._checks)


def _sort_key(c: CheckDefinition) -> tuple[int, int, str]:
    return (list(Pillar).index(c.pillar), 1 if c.origin else 0, c.id)


def _owner(c: CheckDefinition) -> str:
    return c.origin or f"{c.func.__module__}.{c.func.__qualname__}"


def _validate(d: CheckDefinition) -> None:
    who = f"check {d.id!r}" if isinstance(d.id, str) else f"check {d!r}"

    def fail(problem: str) -> None:
        raise CheckRegistrationError(f"{who}: {problem}")

    if not isinstance(d.pillar, Pillar):
        fail(f"pillar must be one of {', '.join(p.value for p in Pillar)}")
    if d.origin:  # defined at load or run time (checks.dynamic): its own prefix, never a pillar's
        if not isinstance(d.id, str) or not DYNAMIC_ID_PATTERN.match(d.id):
            fail(f"id must match {DYNAMIC_ID_PATTERN.pattern} (a prefix such as CUS, a dash, a name)")
        if d.id.split("-")[0] in PREFIX_PILLAR:
            fail(
                f"id prefix {d.id.split('-')[0]} is reserved for kwa's built-in checks "
                f"({', '.join(PREFIX_PILLAR)}); use another, such as CUS"
            )
    else:
        if not isinstance(d.id, str) or not ID_PATTERN.match(d.id):
            fail(f"id must match {ID_PATTERN.pattern}")
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
# Functions marked @check("ID") whose package has not bound them yet, by id.
_unbound: dict[str, CheckFunc] = {}


def check(
    check_id: str | None = None,
    /,
    *,
    id: str | None = None,
    pillar: Pillar | str | None = None,
    name: str = "",
    severity: Severity | str | None = None,
    description: str = "",
    remediation: str = "",
    mode: Mode | str = Mode.MANIFEST,
    requires: Iterable[str] = (),
    peers: dict[str, Iterable[str]] | None = None,
    settings: Iterable[str] = (),
    docs_url: str = "",
    timeout: float | None = None,
    opt_in: bool = False,
    registry: Registry | None = None,
) -> Callable[[CheckFunc], CheckFunc]:
    """Mark the decorated function as a check; the function itself is returned unchanged.

    ``@check("REL-001")`` names only the id: the metadata is in the package's ``checks.yaml`` and
    :func:`bind_package` registers the pair. The keyword form (``@check(id=..., pillar=...,
    name=..., ...)``) carries its metadata inline and registers at once; it is for one-off checks in
    tests and single-module plugins.
    """

    def mark(func: CheckFunc) -> CheckFunc:
        key = str(check_id)
        if key in _unbound:
            other = _unbound[key]
            raise CheckRegistrationError(
                f"check {key}: decorated twice, {where(other)} and {where(func)}"
            )
        func.check_id = key  # type: ignore[attr-defined]
        _unbound[key] = func
        return func

    def register(func: CheckFunc) -> CheckFunc:
        definition = _definition(
            func, str(id), pillar, name=name, severity=severity, description=description,
            remediation=remediation, mode=mode, requires=requires, peers=peers, settings=settings,
            docs_url=docs_url, timeout=timeout, opt_in=opt_in,
        )
        (REGISTRY if registry is None else registry).register(definition)
        func.definition = definition  # type: ignore[attr-defined]
        return func

    if check_id is not None:
        if id is not None or pillar is not None:
            raise CheckRegistrationError(f"check {check_id}: give the id alone and keep the metadata in checks.yaml")
        return mark
    return register


def _definition(func: CheckFunc, check_id: str, pillar: Any, **meta: Any) -> CheckDefinition:
    """A definition from metadata as written (strings for the enums), coerced with errors naming the check."""
    docs_url = meta.pop("docs_url", "") or f"docs/checks.md#{check_id.lower()}"
    return CheckDefinition(
        id=check_id,
        pillar=_coerce(Pillar, pillar, check_id, "pillar"),
        name=meta["name"],
        severity=_coerce(Severity, meta["severity"], check_id, "severity"),
        description=meta["description"],
        remediation=meta["remediation"],
        mode=_coerce(Mode, meta.get("mode") or Mode.MANIFEST, check_id, "mode"),
        func=func,
        requires=tuple(meta.get("requires") or ()),
        peers={k: tuple(v) for k, v in (meta.get("peers") or {}).items()},
        settings=tuple(meta.get("settings") or ()),
        docs_url=docs_url,
        timeout=meta.get("timeout"),
        opt_in=bool(meta.get("opt_in", False)),
    )


def bind_package(package: str, registry: Registry | None = None) -> list[CheckDefinition]:
    """Import every module of ``package``, read its ``checks.yaml`` and register each check.

    Called at the end of a check package's ``__init__.py`` (``bind_package(__name__)``), so importing
    the package registers its checks. A function marked ``@check("ID")`` without an entry, or an entry
    without such a function, raises :class:`CheckRegistrationError` naming the id and the file.
    """
    module = sys.modules.get(package) or importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(module.__path__), key=lambda i: i.name):
        importlib.import_module(f"{package}.{info.name}")
    data_path = Path(next(iter(module.__path__))) / DATA_FILE
    pillar, entries = read_metadata(data_path)
    prefix = package + "."
    mine = {cid: f for cid, f in _unbound.items() if f.__module__ == package or f.__module__.startswith(prefix)}
    bound = []
    for check_id, func, meta in join(package, data_path, entries, mine):
        definition = _definition(func, check_id, pillar, **meta)
        (REGISTRY if registry is None else registry).register(definition)
        func.definition = definition  # type: ignore[attr-defined]
        del _unbound[check_id]
        bound.append(definition)
    return bound


def is_builtin(definition: CheckDefinition) -> bool:
    """True for kwa's own checks (not plugins, not $KWA_CHECK_MODULES)."""
    return definition.func.__module__.rpartition(".")[0] in BUILTIN_PACKAGES


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
    """Import the built-in check packages, ``kwa.checks`` entry points and ``$KWA_CHECK_MODULES`` (once)."""
    global _loaded
    if not _loaded:
        for package in BUILTIN_PACKAGES:
            importlib.import_module(package)
        from checks.dynamic import load_sources

        load_sources()  # the check sources asked after each snapshot (checks.dynamic)
        if include_plugins:
            load_plugins()
            load_extra_modules()
        if _unbound:  # marked by id in a module no bind_package() call reached
            names = ", ".join(f"{cid} ({where(f)})" for cid, f in sorted(_unbound.items()))
            raise CheckRegistrationError(
                f"check(s) {names} marked @check(ID) but never bound: call bind_package(__name__) at the end "
                "of the package's __init__.py, next to its checks.yaml"
            )
        _loaded = True
    return REGISTRY
