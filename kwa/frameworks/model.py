"""Compliance framework files: their shape, and the strict loader that reads them.

A framework file (``kwa/frameworks/data/<name>.yaml``, format in docs/frameworks.md) maps each
control of a published framework to the kwa checks that assess it, or says why kwa cannot. The
loader refuses anything it does not understand, naming the file, the control and the field: a
typo in a mapping would otherwise silently turn a control into "not evaluated" or, worse, into a
control that passes because nothing maps to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from checks.sources.guards import Rejected, load_settings

DATA_DIR = Path(__file__).resolve().parent / "data"
API_VERSION = "kwa.io/v1"
KIND = "Framework"
NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
MAPPINGS = ("exact", "partial")

TOP_FIELDS = {"apiVersion", "kind", "metadata", "spec"}
METADATA_FIELDS = {"name"}
SPEC_FIELDS = {"title", "version", "source", "controls", "description"}
CONTROL_FIELDS = {"id", "title", "reference", "checks", "mapping", "note", "assessed", "reason"}


class FrameworkError(ValueError):
    """A framework file kwa cannot use; the message names the file, control and field."""


class UnknownFrameworkError(LookupError):
    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        self.known = sorted(known)
        super().__init__(name)

    def __str__(self) -> str:
        return f"unknown framework {self.name!r}; valid names: {', '.join(self.known) or '(none)'}"


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    reference: str
    checks: tuple[str, ...] = ()
    mapping: str = "exact"
    note: str | None = None
    assessed: bool = True
    reason: str | None = None

    @property
    def partial(self) -> bool:
        return self.assessed and self.mapping == "partial"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "title": self.title, "reference": self.reference}
        if self.assessed:
            out |= {"checks": list(self.checks), "mapping": self.mapping, "note": self.note}
        else:
            out |= {"assessed": False, "reason": self.reason}
        return out


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    version: str
    source: str
    controls: tuple[Control, ...]
    description: str | None = None
    path: str | None = field(default=None, compare=False)

    def check_ids(self) -> list[str]:
        """Every check some control maps to, in the order first mapped."""
        seen: dict[str, None] = {}
        for c in self.controls:
            for check_id in c.checks:
                seen.setdefault(check_id)
        return list(seen)

    def controls_by_check(self) -> dict[str, list[str]]:
        """``{check id: [control ids]}``: what a result of that check speaks to in this framework."""
        out: dict[str, list[str]] = {}
        for c in self.controls:
            for check_id in c.checks:
                out.setdefault(check_id, []).append(c.id)
        return out

    def brief(self) -> dict[str, Any]:
        assessed = sum(1 for c in self.controls if c.assessed)
        return {
            "name": self.name,
            "title": self.title,
            "version": self.version,
            "source": self.source,
            "controls": len(self.controls),
            "assessed": assessed,
            "not_assessed": len(self.controls) - assessed,
            "partial": sum(1 for c in self.controls if c.partial),
            "checks": len(self.check_ids()),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.brief(), "description": self.description, "items": [c.as_dict() for c in self.controls]}


def _text(where: str, data: Mapping[str, Any], key: str, required: bool = True) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise FrameworkError(f"{where}: field {key!r} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
        raise FrameworkError(f"{where}: field {key!r} must be a non-empty string, got {value!r}")
    return str(value).strip()


def _unknown(where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(str(k) for k in data if k not in allowed)
    if extra:
        raise FrameworkError(f"{where}: unknown field {extra[0]!r} (allowed: {', '.join(sorted(allowed))})")


def _control(where: str, data: Any, known_checks: set[str] | None) -> Control:
    if not isinstance(data, Mapping):
        raise FrameworkError(f"{where}: a control must be a mapping, got {type(data).__name__}")
    cid = _text(where, data, "id")
    where = f"{where.rsplit(' ', 1)[0]} {cid}"  # from here on the control is named by its id
    _unknown(where, data, CONTROL_FIELDS)
    title = _text(where, data, "title")
    reference = _text(where, data, "reference")
    assessed = data.get("assessed", True)
    if not isinstance(assessed, bool):
        raise FrameworkError(f"{where}: field 'assessed' must be true or false, got {assessed!r}")
    if not assessed:
        for key in ("checks", "mapping", "note"):
            if key in data:
                raise FrameworkError(f"{where}: field {key!r} is not allowed on a control with assessed: false")
        reason = _text(where, data, "reason", required=False)
        if reason is None:
            raise FrameworkError(f"{where}: field 'reason' is required when assessed is false (why kwa cannot)")
        return Control(cid, title, reference, assessed=False, reason=reason)  # type: ignore[arg-type]
    if "reason" in data:
        raise FrameworkError(f"{where}: field 'reason' is only for assessed: false controls")
    checks = data.get("checks")
    if not isinstance(checks, list) or not checks or not all(isinstance(c, str) and c.strip() for c in checks):
        raise FrameworkError(f"{where}: field 'checks' must be a non-empty list of check ids (or set assessed: false)")
    ids = tuple(c.strip() for c in checks)
    if len(set(ids)) != len(ids):
        raise FrameworkError(f"{where}: field 'checks' lists a check twice")
    if known_checks is not None:
        for check_id in ids:
            if check_id not in known_checks:
                raise FrameworkError(f"{where}: field 'checks': unknown check id {check_id!r}")
    mapping = data.get("mapping", "exact")
    if mapping not in MAPPINGS:
        raise FrameworkError(f"{where}: field 'mapping' must be one of {', '.join(MAPPINGS)}, got {mapping!r}")
    note = _text(where, data, "note", required=False)
    if note is None and (mapping == "partial" or len(ids) > 1):
        why = "mapping is partial" if mapping == "partial" else "more than one check is mapped"
        raise FrameworkError(f"{where}: field 'note' is required ({why}): say what the checks cover")
    return Control(cid, title, reference, ids, mapping, note)  # type: ignore[arg-type]


def parse(document: Any, where: str, known_checks: set[str] | None = None) -> Framework:
    """A framework from one parsed YAML document; ``known_checks`` None skips the id check."""
    if not isinstance(document, Mapping):
        raise FrameworkError(f"{where}: expected a mapping with apiVersion, kind, metadata and spec")
    _unknown(where, document, TOP_FIELDS)
    if document.get("apiVersion") != API_VERSION:
        raise FrameworkError(f"{where}: field 'apiVersion' must be {API_VERSION!r}, got {document.get('apiVersion')!r}")
    if document.get("kind") != KIND:
        raise FrameworkError(f"{where}: field 'kind' must be {KIND!r}, got {document.get('kind')!r}")
    meta, spec = document.get("metadata"), document.get("spec")
    if not isinstance(meta, Mapping):
        raise FrameworkError(f"{where}: field 'metadata' must be a mapping with a name")
    if not isinstance(spec, Mapping):
        raise FrameworkError(f"{where}: field 'spec' must be a mapping")
    _unknown(f"{where}: metadata", meta, METADATA_FIELDS)
    _unknown(f"{where}: spec", spec, SPEC_FIELDS)
    name = _text(f"{where}: metadata", meta, "name")
    if not NAME_PATTERN.match(name or ""):
        raise FrameworkError(f"{where}: metadata: field 'name' must match [a-z0-9-] (lowercase), got {name!r}")
    raw = spec.get("controls")
    if not isinstance(raw, list) or not raw:
        raise FrameworkError(f"{where}: spec: field 'controls' must be a non-empty list")
    controls: list[Control] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        control = _control(f"{where}: control #{i + 1}", item, known_checks)
        if control.id in seen:
            raise FrameworkError(f"{where}: control {control.id}: duplicate control id")
        seen.add(control.id)
        controls.append(control)
    return Framework(
        name=name,  # type: ignore[arg-type]
        title=_text(f"{where}: spec", spec, "title"),  # type: ignore[arg-type]
        version=_text(f"{where}: spec", spec, "version"),  # type: ignore[arg-type]
        source=_text(f"{where}: spec", spec, "source"),  # type: ignore[arg-type]
        description=_text(f"{where}: spec", spec, "description", required=False),
        controls=tuple(controls),
        path=where,
    )


def load_file(path: Path, known_checks: set[str] | None = None) -> Framework:
    where = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FrameworkError(f"{where}: cannot read: {exc.strerror or exc}") from None
    try:
        document = load_settings(text)
    except Rejected as exc:
        raise FrameworkError(f"{where}: {exc.describe()}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise FrameworkError(f"{where}: not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    framework = parse(document, where, known_checks)
    if framework.name != path.stem:
        raise FrameworkError(f"{where}: metadata: field 'name' is {framework.name!r} but the file is {path.name}")
    return framework
