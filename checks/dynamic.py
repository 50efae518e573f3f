"""Checks defined at load or run time, not by a Python package: CEL check files, admission policies.

A dynamic check is an ordinary :class:`~checks.model.CheckDefinition` whose ``origin`` says where
it comes from (``"cel:checks/team.yaml"``, ``"vap:require-team"``) and whose ``func`` evaluates it
like any built-in's (``func(ctx) -> Iterable[Result]``). Once registered it flows through
everything a built-in does: the forked worker lanes and their hard per-check timeout, the Prefect
pillar subflows, the result rows (check id, name, pillar and severity are stored on every row),
scores and history, exemptions, the config (``disabled``, ``enabled``, ``severity``,
``checks.<ID>.timeout``), every output format, ``kwa checks list/show`` and ``kwa lint``.

Its id is a prefix that is no pillar's (``SEC``, ``REL``, ... are kwa's), a dash and a name
(:data:`checks.model.DYNAMIC_ID_PATTERN`). Ids are matched case-insensitively; the registered
spelling is kept (:func:`checks.model.canonical_id`).

Two ways in, both before the checks start (the worker lanes are forked from the process that
registered them, and a registration made later is never seen by them):

1. **At load time**, before checks are selected: build the definitions and :func:`register` them
   (the CEL check files of ``--checks-dir`` and the config's ``checks_dirs``: checks.cel.files).
2. **From the snapshot**, for checks that only exist once the input is read (an admission policy
   found in the cluster becomes ``VAP-<policy name>``): implement :class:`CheckSource`
   (``prefix`` and ``checks_for(snapshot) -> list[CheckDefinition]``) and
   :func:`add_check_source` it at import time. After the snapshot is read and before the checks are
   planned, ``kwa run`` (flows.steps.read_snapshot) and ``kwa lint`` call :func:`snapshot_checks`,
   which asks every source, registers what it returns and hands back the definitions the run's
   selection (``--check``/``--pillar``) keeps; a ``problems`` list attribute, when the source has
   one, is read after each call and reported. A source's prefix is reserved for it: no check file
   may use it, and the config may name its ids (``severity: {VAP-x: high}``) before they exist.
   A source that raises is reported as a problem and the run goes on without its checks.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from checks.metadata import CheckRegistrationError
from checks.model import PREFIX_PILLAR, CheckDefinition, Pillar, canonical_id, defer_prefix

if TYPE_CHECKING:
    from checks.registry import Registry
    from checks.snapshot import Snapshot

__all__ = ["CheckSource", "add_check_source", "register", "reserve_prefix", "scoped", "snapshot_checks", "sources"]


class CheckSource(Protocol):
    """Makes checks from what a snapshot holds (an admission policy, a ConfigMap of check files)."""

    #: The id prefix of every check it makes (``"VAP"``), reserved for it; None when its checks
    #: name their own ids (ConfigMaps of check files).
    prefix: str | None

    def checks_for(self, snapshot: Snapshot) -> list[CheckDefinition]: ...


# Modules whose import adds a check source (add_check_source); checks.registry.load_all imports them.
SOURCE_MODULES: tuple[str, ...] = ("checks.cel.configmaps", "checks.vap.source")


_SOURCES: list[CheckSource] = []
# Prefix -> who may use it (the origin prefix of its checks): a check file cannot pose as an
# admission policy of the cluster (VAP-<policy name>), whose source registers with owner "vap".
_RESERVED: dict[str, str] = {"VAP": "vap"}


def reserve_prefix(prefix: str, owner: str) -> None:
    """Keep ``prefix`` for ``owner``'s checks; their origin must start with ``owner + ":"``."""
    key = prefix.upper()
    if key in PREFIX_PILLAR:
        raise CheckRegistrationError(f"prefix {key} belongs to kwa's built-in checks")
    if _RESERVED.get(key, owner) != owner:
        raise CheckRegistrationError(f"prefix {key} is already reserved by {_RESERVED[key]}")
    _RESERVED[key] = owner


def reserved_by(prefix: str) -> str | None:
    return _RESERVED.get(prefix.upper())


def add_check_source(source: CheckSource, owner: str | None = None) -> None:
    """Ask ``source`` for checks after every snapshot is read. ``owner`` (default: the prefix in
    lower case) is what its checks' ``origin`` starts with."""
    if source.prefix:
        reserve_prefix(source.prefix, owner or source.prefix.lower())
        defer_prefix(source.prefix)
    if source not in _SOURCES:
        _SOURCES.append(source)


def sources() -> list[CheckSource]:
    return list(_SOURCES)


def load_sources() -> None:
    for name in SOURCE_MODULES:
        importlib.import_module(name)


def register(definition: CheckDefinition, registry: Registry | None = None) -> CheckDefinition:
    """Register a check defined at load or run time; :class:`CheckRegistrationError` names the
    problem (a malformed id, a built-in or reserved prefix, an id another file already took)."""
    from checks.registry import REGISTRY

    if not definition.origin:
        raise CheckRegistrationError(f"check {definition.id}: a dynamic check needs an origin")
    prefix = definition.id.split("-", 1)[0].upper()
    owner = _RESERVED.get(prefix)
    if owner is not None and not definition.origin.startswith(owner + ":"):
        raise CheckRegistrationError(f"check {definition.id}: id prefix {prefix} is reserved for {owner}")
    return (registry if registry is not None else REGISTRY).register(definition)


@contextmanager
def scoped(registry: Registry | None = None) -> Iterator[None]:
    """Forget, on leaving, the dynamic checks registered inside (one run's check files, the
    admission policies of its snapshot); one that replaced an earlier registration of itself
    (same id and origin) gives the earlier one back.

    A process that serves more than one run (the control API answering reruns, tests, an
    in-process flow) would otherwise let one run's checks into the next one's selection.
    """
    from checks.registry import REGISTRY

    target = registry if registry is not None else REGISTRY
    before = {c.id: c for c in target.all() if c.origin}
    try:
        yield
    finally:
        for definition in target.all():
            if definition.origin and before.get(definition.id) is not definition:
                target.unregister(definition.id)
        for definition in before.values():
            if definition.id not in target:
                target.register(definition)


def snapshot_checks(
    snapshot: Snapshot,
    *,
    pillars: Iterable[str] | None = None,
    checks: Iterable[str] | None = None,
    registry: Registry | None = None,
) -> tuple[list[CheckDefinition], list[str]]:
    """Every source's checks for ``snapshot``, registered; returns those the run's selection keeps
    (the ids asked for, else the pillars asked for, else all) and the problems met on the way."""
    # Upper-cased: an id asked for before its check exists has no registered spelling yet
    # (VAP-<policy name> keeps the policy's lower case).
    wanted_ids = {canonical_id(i).upper() for i in (checks or []) if i.strip()}
    wanted_pillars: set[Pillar] = set()
    for name in pillars or []:
        try:
            wanted_pillars.add(Pillar.parse(name))
        except ValueError:
            continue  # the registry's selection already refused it
    added: list[CheckDefinition] = []
    problems: list[str] = []
    for source in _SOURCES:
        try:
            made = source.checks_for(snapshot)
        except Exception as exc:  # one broken source never sinks the run
            problems.append(f"check source {_name(source)}: {type(exc).__name__}: {exc}")
            continue
        # A source may report what it could not turn into checks (a ConfigMap with a bad file).
        problems.extend(getattr(source, "problems", None) or [])
        for definition in made:
            try:
                register(definition, registry)
            except CheckRegistrationError as exc:
                problems.append(str(exc))
                continue
            if wanted_ids:
                keep = definition.id.upper() in wanted_ids
            else:
                keep = not wanted_pillars or definition.pillar in wanted_pillars
            if keep:
                added.append(definition)
    return added, problems


def _name(source: CheckSource) -> str:
    return source.prefix or type(source).__name__
