"""Objects validated against the full Kubernetes OpenAPI schema of a target version (OPS-012).

The input boundary (:mod:`checks.schema`) keeps only field *types*; this module keeps what the API
server would reject besides: ``enum`` values, ``required`` fields, unknown fields
(``additionalProperties: false``) and integer ranges. It reads the *strict* variant that
``kubernetes-validate`` ships beside each version (``v1.NN.0-local-strict/_definitions.json``:
every object type closed to unknown fields), and adds the closed value sets Kubernetes enforces but
its OpenAPI names only in descriptions (``checks/data/schema_enums.yaml``: ``imagePullPolicy``,
``procMount``, ``restartPolicy`` ...) with a hint for fields a newer apiVersion moved (a v1beta1
``serviceName`` inside a ``networking.k8s.io/v1`` Ingress). Formats (``date-time``, ``byte``...)
are not checked: the API server's own checks of them differ from JSON Schema's. Nor is an
object's ``status``: controllers write it and the API server ignores it on create and update.

Per object, the answer is one of: valid; a list of :class:`Violation` (JSON path and message,
every one found, sorted by path); or no known schema (a custom resource whose
CustomResourceDefinition is not in the snapshot, or an apiVersion the target version does not
serve), which the check reports as ``skipped``. Custom resources whose CRD is in the snapshot are
validated against its schema (:mod:`checks.schema_crd`).

Reading, reducing and compiling the strict schemas is :mod:`checks.schema_strict`.

The answers are computed once per run, as the snapshot index :data:`INDEX`, in the parent process
before checks fork: the schema check reports them, and :func:`checks.runner.evaluate` turns every
*other* check's ``passing`` verdict on an invalid object into an ``error`` naming the invalid
paths. A run whose config names another target version than the snapshot's default computes that
version's answers once per worker process instead.

Cost: per bundled version used, its reduced strict definitions are read once per process (a few
ms from the user's cache directory, ~55 ms the first time); the validators for the kinds present
are compiled once (the pod-owning kinds share one: ~30 ms for the 26 kinds of a 10k-object dump);
each object costs one ``is_valid`` call, and only invalid ones an ``iter_errors`` walk (10k
objects: ~80 ms).
"""

from __future__ import annotations

import contextlib
import re
import threading
from dataclasses import dataclass, replace
from typing import Any

import orjson

from checks.fieldwalk import JSON_TYPE, TYPE_NOUN
from checks.schema_crd import CrdSchemas, crd_validators
from checks.schema_strict import StrictBundle, curated, library
from checks.snapshot import K8sObject, Snapshot, register_index

SCHEMA_CHECK = "OPS-012"  # the check that reports these answers (it judges malformed objects itself)
INDEX = "schema-validation"
VERSION_SETTING = "kubernetes_version"
MAX_VIOLATIONS = 20  # per object; the count says how many more


@dataclass(frozen=True, slots=True)
class Violation:
    path: str  # spec.template.spec.containers[0].imagePullPolicy ("" for the object itself)
    message: str  # 'Sometimes' is not one of Always, IfNotPresent, Never

    def __str__(self) -> str:
        return f"{self.path or 'the object'}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One object's answer: ``violations`` (empty when valid), or ``unknown`` saying why no schema applies."""

    violations: tuple[Violation, ...] = ()
    total: int = 0
    unknown: str | None = None
    against: str | None = None  # what it was validated against when not the bundled schema (a CRD)


VALID = Verdict()


class SchemaFindings:
    """Every object's :class:`Verdict` for a target version, computed once per version and kept."""

    def __init__(self, snapshot: Snapshot):
        self.snapshot = snapshot
        self._by_version: dict[str, dict[int, Verdict]] = {}
        self._by_name: dict[str, dict[tuple[str, str | None, str], Verdict]] = {}
        self._lock = threading.Lock()

    # Built in a forked child while the parent builds other indexes (checks/offload.py): the answers
    # travel, the snapshot does not; keys by ``id(object)`` stay valid (the child is a fork of the
    # parent, its objects at the same addresses) and :meth:`adopt` joins the parent's snapshot.
    def __getstate__(self) -> dict[str, Any]:
        return {"by_version": self._by_version, "by_name": self._by_name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.snapshot = None  # type: ignore[assignment]  # set by adopt()
        self._by_version = state["by_version"]
        self._by_name = state["by_name"]
        self._lock = threading.Lock()

    def adopt(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        # The bundle the child read, read here too before the lanes fork: OPS-012 asks for it.
        with contextlib.suppress(Exception):
            self.target()

    def target(self, configured: Any = None) -> tuple[StrictBundle | None, str]:
        """The configured version, else the live server's, else the newest bundled."""
        return library().choose(configured or self.snapshot.server_version)

    def verdicts(self, configured: Any = None) -> tuple[StrictBundle | None, dict[int, Verdict]]:
        """``id(object) -> Verdict`` for every object that is not simply valid against the bundled
        schema: invalid ones, schema-less ones, and those validated against a CRD."""
        bundle, _ = self.target(configured)
        label = bundle.label if bundle is not None else ""
        if label not in self._by_version:
            with self._lock:
                if label not in self._by_version:
                    self._by_version[label] = _judge_all(self.snapshot, bundle)
        return bundle, self._by_version[label]

    def invalid_by_name(self, configured: Any = None) -> dict[tuple[str, str | None, str], Verdict]:
        """``(kind, namespace, name) -> verdict`` of the invalid objects, for the runner's rule."""
        bundle, verdicts = self.verdicts(configured)
        label = bundle.label if bundle is not None else ""
        if label not in self._by_name:
            by_id = {id(o): o for o in self.snapshot.objects}
            out: dict[tuple[str, str | None, str], Verdict] = {}
            for key, verdict in verdicts.items():
                obj = by_id.get(key)
                if obj is not None and verdict.violations:
                    out[(obj.kind, obj.namespace, obj.name)] = verdict
            self._by_name[label] = out
        return self._by_name[label]


def _judge_all(snapshot: Snapshot, bundle: StrictBundle | None) -> dict[int, Verdict]:
    out: dict[int, Verdict] = {}
    if bundle is None:
        return out
    objects = [*snapshot.objects, *(m.obj for m in snapshot.malformed)]
    keys = [(o.raw.get("apiVersion"), o.raw.get("kind")) for o in objects if isinstance(o.raw, dict)]
    with contextlib.suppress(Exception):  # a damaged schema: judge() names it for each object
        bundle.prepare({k for k in keys if all(isinstance(part, str) and part for part in k)})
    crds: CrdSchemas = {}
    if snapshot.of_kind("CustomResourceDefinition"):
        with contextlib.suppress(Exception):  # a CRD kwa cannot read: its resources go unvalidated
            crds = crd_validators(snapshot)
    validators: dict[tuple[Any, Any], Any] = {}
    for obj in objects:
        try:
            verdict = judge(obj, bundle, validators, crds)
        except Exception as exc:  # one object kwa cannot judge must not cost the run its index
            verdict = Verdict(unknown=f"it could not be validated ({type(exc).__name__})")
        if verdict is not VALID:
            out[id(obj)] = verdict
    return out


def judge(
    obj: K8sObject,
    bundle: StrictBundle,
    validators: dict[tuple[Any, Any], Any] | None = None,
    crds: CrdSchemas | None = None,
) -> Verdict:
    """``obj`` against ``bundle`` (or, for a custom resource, against its CustomResourceDefinition
    in ``crds``): VALID, its violations, or why no schema applies."""
    raw = obj.raw
    if not isinstance(raw, dict):
        return Verdict((Violation("", "is not a mapping"),), 1)
    api_version, kind = raw.get("apiVersion"), raw.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str) or not api_version or not kind:
        return Verdict(unknown="the object has no apiVersion or kind")
    cache = validators if validators is not None else {}
    key = (api_version, kind)
    if key not in cache:
        try:
            cache[key] = bundle.validator(api_version, kind)
        except Exception as exc:  # a damaged schema package must not fail the run
            return Verdict(unknown=f"the bundled {bundle.label} schema could not be read ({type(exc).__name__})")
    validator = cache[key]
    against = None
    if validator is None:
        defined = (crds or {}).get(key)
        if isinstance(defined, str):
            return Verdict(unknown=f"{api_version} {kind} has no schema in {bundle.label} and {defined}")
        if defined is None:
            why = "a custom resource whose CustomResourceDefinition is not in the input, or an API it does not serve"
            return Verdict(unknown=f"{api_version} {kind} has no schema in {bundle.label} ({why})")
        validator, against = defined
    try:
        if validator.is_valid(raw):
            return VALID if against is None else Verdict(against=against)
        errors = list(validator.iter_errors(raw))
    except ValueError:  # a value JSON cannot hold: the boundary already named it
        return Verdict((Violation("", "holds a value JSON cannot represent"),), 1, against=against)
    verdict = _violations(errors, bundle)
    return replace(verdict, against=against) if against else verdict


def _violations(errors: list[Any], bundle: StrictBundle) -> Verdict:
    found: list[Violation] = []
    for error in errors:
        found.extend(_explain(error, bundle))
    found.sort(key=lambda v: v.path)
    unique = tuple(dict.fromkeys(found))
    return Verdict(unique[:MAX_VIOLATIONS], len(unique))


def _explain(error: Any, bundle: StrictBundle) -> list[Violation]:
    path = list(error.instance_path)
    kind = type(error.kind).__name__
    detail = error.kind.as_dict()
    where = path_text(path)
    if kind == "Enum":  # closed value sets (pull policies, protocols...): no field that holds a credential
        options = ", ".join(str(o) for o in detail.get("options", []) if o is not None)
        return [Violation(where, f"{_show(error.instance)} is not one of {options}")]
    if kind == "Required":
        prop = str(detail.get("property", ""))
        return [Violation(path_text([*path, prop]), "required field is missing")]
    if kind == "AdditionalProperties":
        hints = _moved_hints(error)
        return [
            Violation(path_text([*path, name]), "unknown field" + (f" ({hints[name]})" if name in hints else ""))
            for name in detail.get("unexpected", [])
        ]
    if kind == "Type":
        types = detail.get("types", [])
        wanted = " or ".join(TYPE_NOUN.get(t, t) for t in types if t != "null")
        # Types only, never the value: a wrongly typed field may be a Secret's data or an env value.
        return [Violation(where, f"must be {wanted}, got {_noun_of(error.instance)}")]
    if kind in ("Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum"):
        bound = {"Minimum": "at least", "Maximum": "at most", "ExclusiveMinimum": "above", "ExclusiveMaximum": "below"}
        return [Violation(where, f"must be {bound[kind]} {detail.get('limit')}")]
    # jsonschema-rs's own message quotes the value: name the rule instead
    return [Violation(where, f"does not match the schema ({kind})")]


def _moved_hints(error: Any) -> dict[str, str]:
    """Hints for unknown fields that a newer apiVersion moved, from the definition the error is in."""
    _, moved = curated()
    schema_path = [str(p) for p in error.schema_path]
    # ``.../$defs/<definition>/additionalProperties``: the innermost definition names the type
    for n in range(len(schema_path) - 1, 0, -1):
        if schema_path[n - 1] == "$defs":
            return moved.get(schema_path[n].rsplit(".", 1)[-1], {})
    return {}


def _noun_of(value: Any) -> str:
    return "null" if value is None else TYPE_NOUN.get(JSON_TYPE.get(type(value), ""), type(value).__name__)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:59] + "…")
    if isinstance(value, (dict, list)):
        return _noun_of(value)
    return repr(value)


_PLAIN_KEY = re.compile(r"^[^.\[\]\"]+$")


def path_text(path: list[Any]) -> str:
    """``["spec", "containers", 0, "a.b"]`` -> ``spec.containers[0]["a.b"]`` (checks.positions reads it)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(str(part)):
            out += f".{part}" if out else str(part)
        else:
            out += "[" + orjson.dumps(str(part)).decode() + "]"
    return out


@register_index(INDEX, offload=True)
def _findings(snapshot: Snapshot) -> SchemaFindings:
    findings = SchemaFindings(snapshot)
    findings.invalid_by_name()  # the default target, computed in the parent so forked checks share it
    return findings
