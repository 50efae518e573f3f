"""The typed input boundary: every object crosses it on its way into a Snapshot, whatever the source.

A check reads an object as plain dicts and lists and trusts the shapes Kubernetes promises: labels
are a mapping of strings, ``containers`` is a list of mappings, ``containerPort`` is an integer.
One document that breaks such a promise used to end the whole run (``'str' object has no attribute
'items'``) or make a check error for every object. Here each object is checked against the field
types of its Kubernetes type (:mod:`checks.schema`) before anything indexes it:

* **valid**: admitted as is (the fast path: one ``jsonschema_rs`` call, a few microseconds);
* **null where a value is typed**: Kubernetes treats null as unset, so the null is removed and the
  object admitted, exactly as if the field were absent (still in jsonschema-rs: a variant that
  admits null proves nulls are all that is wrong, the strict validator's errors locate them).
  Timestamps (``metav1.Time``) are the one exception: the API server itself writes
  ``creationTimestamp: null`` into every pod template and ``lastProbeTime: null`` into pod
  conditions, every reader of a timestamp treats null as unset, and leaving them costs nothing;
* **values JSON cannot hold** (what YAML alone produces): dates and timestamps become the ISO
  strings the API server would receive, integer/boolean keys become strings, bytes are decoded
  (a Python walk, :mod:`checks.fieldwalk`, which also names the problems below);
* **wrong type** anywhere the schema types a field (a string where a mapping belongs, an int32
  out of range, a non-finite number): the object is *quarantined* - kept out of the snapshot's
  objects and indexes, so every other object is assessed exactly as if the document were absent -
  and recorded as a :class:`MalformedObject` with its identity (best effort), its source and its
  field problems. :func:`checks.runner.evaluate` turns it into one ``error`` result per check that
  would have evaluated it.

:class:`checks.snapshot.K8sObject` construction never raises, whatever the shape of the dict:
identity fields are read defensively so a broken object can still be named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from checks.fieldwalk import MAX_TEXT, FieldProblem, describe, normalise, shorten
from checks.positions import field_position
from checks.schema import TypeSchema, library
from checks.snapshot import K8sObject

SHOWN_PROBLEMS = 3  # field problems named in an error message (MAX_PROBLEMS are kept)
# (line, column, end_line, field path, field line, field column); see MalformedObject.position.
Position = tuple[int | None, int | None, int | None, str | None, int | None, int | None]


@dataclass(slots=True)
class MalformedObject:
    """An object kept out of the snapshot, with what is wrong with it."""

    obj: K8sObject
    problems: list[FieldProblem]
    total: int  # problems found; only the first MAX_PROBLEMS are kept
    schema: str  # what it was checked against, e.g. "Kubernetes 1.37 apps/v1 Deployment"
    _message: str = field(default="", repr=False)
    _position: Position | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return _clip(self.obj.kind) or "?"

    @property
    def namespace(self) -> str | None:
        return _clip(self.obj.namespace) if self.obj.namespace else None

    @property
    def name(self) -> str:
        return _clip(self.obj.name) or "?"

    @property
    def where(self) -> str:
        return self.obj.where

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    def message(self) -> str:
        """``Deployment/shop/web (app.yaml#3): spec.template.metadata.labels must be a mapping, got a string``."""
        if not self._message:
            shown = "; ".join(str(p) for p in self.problems[:SHOWN_PROBLEMS])
            if self.total > SHOWN_PROBLEMS:
                shown += f" (and {self.total - SHOWN_PROBLEMS} more)"
            where = f" ({self.where})" if self.where else ""
            self._message = f"{self.ref}{where}: {shown}"
        return self._message

    def position(self) -> Position:
        """``(line, column, end_line, field path, field line, field column)`` of the first wrongly
        typed field, found once (every check that would have read the object reports it)."""
        if self._position is None:
            place = self.obj.place
            path = self.problems[0].path if self.problems and self.problems[0].path else None
            found = field_position(place, path) if path else None
            self._position = (
                place.line if place is not None else None,
                place.column if place is not None else None,
                place.end_line if place is not None else None,
                path,
                found[0] if found else None,
                found[1] if found else None,
            )
        return self._position

    def summary(self) -> str:
        """The input problem it is, as reported with documents that do not parse (``skipped input``)."""
        shown = "; ".join(str(p) for p in self.problems[:SHOWN_PROBLEMS])
        if self.total > SHOWN_PROBLEMS:
            shown += f" (and {self.total - SHOWN_PROBLEMS} more)"
        return f"{self.ref} is malformed and was not assessed: {shown}"

    def as_dict(self) -> dict[str, Any]:
        """What the run keeps about it (``runs.summary``)."""
        return {
            "object": self.ref,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "source": self.where or None,
            "schema": self.schema,
            "problems": [p.as_dict() for p in self.problems],
            "problems_total": self.total,
        }

    def __str__(self) -> str:
        return self.message()


def _clip(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def screen(objects: list[K8sObject]) -> tuple[list[K8sObject], list[MalformedObject]]:
    """Split ``objects`` into the admitted (normalised in place, in their order) and the quarantined."""
    lib = library()
    # (apiVersion, kind) -> the compiled validator's is_valid. The loop below runs for every object
    # of every run (10k objects: ~70 ms inside jsonschema-rs), so nothing else may cost much in it.
    fast: dict[tuple[Any, Any], Callable[[Any], bool]] = {}
    admitted: list[K8sObject] = []
    malformed: list[MalformedObject] = []
    for obj in objects:
        raw = obj.raw
        ok = False
        if type(raw) is dict:
            key = (raw.get("apiVersion"), raw.get("kind"))
            try:
                is_valid = fast[key]
            except KeyError:
                is_valid = fast[key] = _validator(lib, key)
            except TypeError:  # an unhashable apiVersion or kind: the slow path names it
                is_valid = _never
            try:
                ok = is_valid(raw)
            except Exception:  # a value JSON cannot hold (a YAML date, a non-string key): see below
                ok = False
        if ok:
            admitted.append(obj)
            continue
        bad = _admit_or_name(obj, lib)
        if bad is None:
            admitted.append(obj)
        else:
            malformed.append(bad)
    return admitted, malformed


def _validator(lib: Any, key: tuple[Any, Any]) -> Callable[[Any], bool]:
    """The compiled check for one (apiVersion, kind); one that cannot be built sends every object
    of that kind down the slow path, which reports it, instead of failing the snapshot."""
    try:
        return lib.for_object(*key).validator().is_valid  # type: ignore[no-any-return]
    except Exception:
        return _never


def _never(raw: Any) -> bool:
    return False


def _admit_or_name(obj: K8sObject, lib: Any) -> MalformedObject | None:
    raw = obj.raw
    schema = lib.for_object(raw.get("apiVersion"), raw.get("kind")) if isinstance(raw, dict) else None
    try:
        return admit_slowly(obj, schema)
    except Exception as exc:  # the boundary itself must never fail a run: this object only
        problem = FieldProblem("", "an object kwa can read", f"{type(exc).__name__} while reading it")
        return MalformedObject(obj, [problem], 1, schema.name if schema is not None else "a Kubernetes object")


def admit_slowly(obj: K8sObject, schema: TypeSchema | None) -> MalformedObject | None:
    """The rare path: normalise what YAML alone produces, drop nulls, and name every type problem."""
    if schema is None:
        got = describe(obj.raw)
        return MalformedObject(obj, [FieldProblem("", "a mapping", got)], 1, "a Kubernetes object")
    admitted = _drop_nulls(obj.raw, schema)
    if admitted is not None:
        return None if admitted else MalformedObject(obj, *_non_finite(obj.raw, schema), schema.name)
    problems, total = normalise(obj.raw, schema)
    if not problems:
        # The walk found nothing wrong against the same reduced schema; jsonschema-rs confirms.
        try:
            if schema.is_valid(obj.raw):
                return None
            found = schema.first_error(obj.raw)
        except Exception:  # it cannot judge (its compile failed: kwa's problem, not the input's)
            return None
        path, message = found or ("", "does not match its type schema")
        problems, total = [FieldProblem(path.lstrip("."), "valid", shorten(message))], 1
    return MalformedObject(obj, problems, total, schema.name)


def _drop_nulls(raw: dict[str, Any], schema: TypeSchema) -> bool | None:
    """The common reason for missing the fast path, handled in jsonschema-rs: nulls in typed fields
    (a null is unset). True: they were all that was wrong and are removed. False: a number there
    is not finite. None: something else is wrong too (or a value JSON cannot hold): walk it."""
    try:
        paths = schema.null_paths(raw)
    except Exception:
        return None
    if paths is None:
        return None
    finite = True
    for path in paths:
        parent: Any = raw
        for key in path[:-1]:
            parent = parent[key]
        if parent[path[-1]] is None:
            del parent[path[-1]]
        else:
            finite = False  # inf or nan, which jsonschema-rs reads as null
    return finite


def _non_finite(raw: dict[str, Any], schema: TypeSchema) -> tuple[list[FieldProblem], int]:
    problems, total = normalise(raw, schema)
    return (problems, total) if problems else ([FieldProblem("", "finite numbers", "inf or nan")], 1)
