"""Compliance frameworks as data: framework files map each control to the kwa checks that assess it.

``load(name)`` reads and validates one framework (``kwa/frameworks/data/<name>.yaml``);
``assess(framework, outcomes)`` gives every control's status, the framework score and coverage
from one run's per-check outcomes, without any I/O (the metrics exporter and the API call it
too); :func:`kwa.frameworks.runs.run_outcomes` reads those outcomes for a stored run.
Format and rules: docs/frameworks.md.
"""

from __future__ import annotations

from functools import cache

from kwa.frameworks.assess import STATUSES, CheckOutcome, ControlStatus, FrameworkReport, assess, control_status
from kwa.frameworks.model import (
    DATA_DIR,
    Control,
    Framework,
    FrameworkError,
    UnknownFrameworkError,
    load_file,
    parse,
)

__all__ = [
    "DATA_DIR",
    "STATUSES",
    "CheckOutcome",
    "Control",
    "ControlStatus",
    "Framework",
    "FrameworkError",
    "FrameworkReport",
    "UnknownFrameworkError",
    "assess",
    "builtin_check_ids",
    "control_status",
    "load",
    "load_all",
    "names",
    "parse",
]


def names() -> list[str]:
    """The names of the shipped frameworks (the ``--framework`` values), sorted."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


@cache
def builtin_check_ids() -> frozenset[str]:
    """The ids of kwa's built-in checks: what a framework file may map controls to."""
    from checks.registry import load_all as load_registry

    return frozenset(c.id for c in load_registry(include_plugins=False).all() if not c.origin)


@cache
def load(name: str) -> Framework:
    """One shipped framework, validated; :class:`UnknownFrameworkError` names the valid ones."""
    key = name.strip().lower()
    if key not in names():
        raise UnknownFrameworkError(name, names())
    return load_file(DATA_DIR / f"{key}.yaml", set(builtin_check_ids()))


def load_all() -> list[Framework]:
    return [load(n) for n in names()]
