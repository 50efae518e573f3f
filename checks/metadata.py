"""Check metadata as data: reading a package's ``checks.yaml`` and joining it to the functions by id.

A check is two things kept apart on purpose: a short pure function (``@check("REL-001")`` in a topic
module) and its description (name, severity, mode, description, remediation, peers, settings …) in
the ``checks.yaml`` beside it, one file per pillar package. Keeping the words out of the code keeps
the functions short, lets the reference (docs/checks.md) be generated from one place, and lets a
reviewer change a remediation without reading Python.

:func:`read_metadata` validates a file's shape, naming the file and the check; :func:`join` pairs
entries with functions and fails, naming both sides, when either has no partner.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from checks.model import CheckFunc

DATA_FILE = "checks.yaml"
# Shorthand for the pod-owning kinds every workload check needs (checks.snapshot.WORKLOAD_KINDS).
WORKLOADS = "workloads"
REQUIRED = ("name", "severity", "description", "remediation")
OPTIONAL = ("mode", "requires", "peers", "settings", "docs_url", "timeout", "opt_in")


class CheckRegistrationError(ValueError):
    """A check's metadata or function is wrong; the message names the check, and the file when there is one."""


def display(path: Path | str) -> str:
    """A path relative to the working directory when it is inside it (shorter messages)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


def where(func: Callable[..., Any]) -> str:
    """``checks/reliability/probes.py:42``: where a check function is defined."""
    try:
        file = inspect.getsourcefile(func) or "?"
        line = inspect.getsourcelines(func)[1]
    except (OSError, TypeError):
        return f"{func.__module__}.{func.__qualname__}"
    return f"{display(file)}:{line}"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_metadata(path: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    """The pillar a data file declares and its entries by id, each with keyword arguments for a
    :class:`~checks.model.CheckDefinition` (requires, peers and settings as tuples)."""
    name = display(path)
    try:
        # The C loader when PyYAML has it: every kwa process reads these six files at start-up, and
        # the pure-Python loader took ~0.7 s of it.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # a safe loader, C or Python
    except FileNotFoundError:
        raise CheckRegistrationError(f"{name}: missing; every check package keeps its checks' metadata there") from None
    except yaml.YAMLError as exc:
        raise CheckRegistrationError(f"{name}: not valid YAML: {exc}") from None
    shaped = isinstance(data, dict) and isinstance(data.get("pillar"), str) and isinstance(data.get("checks"), dict)
    if not shaped:
        raise CheckRegistrationError(f"{name}: expected a mapping with 'pillar: <name>' and 'checks: {{<ID>: {{…}}}}'")
    entries = {}
    for check_id, entry in data["checks"].items():
        entries[str(check_id)] = _entry(name, str(check_id), entry)
    return data["pillar"], entries


def _entry(file: str, check_id: str, entry: Any) -> dict[str, Any]:
    def fail(problem: str) -> CheckRegistrationError:
        return CheckRegistrationError(f"{file}: {check_id}: {problem}")

    if not isinstance(entry, dict):
        raise fail("expected a mapping of metadata fields")
    unknown = sorted(set(entry) - {*REQUIRED, *OPTIONAL})
    if unknown:
        raise fail(f"unknown field(s) {', '.join(unknown)}; known: {', '.join((*REQUIRED, *OPTIONAL))}")
    missing = [k for k in REQUIRED if k not in entry]
    if missing:
        raise fail(f"missing {', '.join(missing)}")
    out = dict(entry)
    out["requires"] = _expand(_strings(entry.get("requires", []), lambda: fail("requires must be a list of kinds")))
    out["settings"] = _strings(entry.get("settings", []), lambda: fail("settings must be a list of setting keys"))
    peers = entry.get("peers") or {}
    if not isinstance(peers, dict):
        raise fail("peers must map a tool to a list of its rule ids")
    # One form: a tool is listed with its rule ids, or not at all.
    out["peers"] = {}
    for tool, ids in peers.items():
        if not ids:
            raise fail(f"peers.{tool} must be a non-empty list of rule ids (leave out a tool without one)")
        problem = f"peers.{tool} must be a non-empty list of rule ids"
        out["peers"][str(tool)] = _strings(ids, lambda problem=problem: fail(problem))
    return out


def _strings(value: Any, error: Callable[[], CheckRegistrationError]) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise error()
    return tuple(value)


def _expand(kinds: Iterable[str]) -> tuple[str, ...]:
    from checks.snapshot import WORKLOAD_KINDS  # the snapshot module is heavy; only data files need it

    out: list[str] = []
    for kind in kinds:
        out.extend(WORKLOAD_KINDS if kind == WORKLOADS else (kind,))
    return tuple(out)


def join(
    package: str, data_path: Path, entries: dict[str, dict[str, Any]], functions: dict[str, CheckFunc]
) -> list[tuple[str, CheckFunc, dict[str, Any]]]:
    """Entries paired with their functions, in the data file's order.

    Fails on the first check with no partner: a function with no entry (named by file and line) or an
    entry with no function (named by data file and id).
    """
    for check_id, func in functions.items():
        if check_id not in entries:
            raise CheckRegistrationError(
                f"check {check_id} ({where(func)}) has no metadata: add an entry {check_id}: to {display(data_path)}"
            )
    for check_id in entries:
        if check_id not in functions:
            raise CheckRegistrationError(
                f"{display(data_path)}: {check_id} has metadata but no function in package {package} is "
                f'decorated @check("{check_id}")'
            )
    return [(check_id, functions[check_id], entry) for check_id, entry in entries.items()]
