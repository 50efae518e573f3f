"""The typed input boundary: every object crosses it on its way into a Snapshot, whatever the source.

A check reads an object as plain dicts and lists and trusts the shapes Kubernetes promises: labels
are a mapping of strings, ``containers`` is a list of mappings, ``containerPort`` is an integer.
One document that breaks such a promise used to end the whole run (``'str' object has no attribute
'items'``) or make a check error for every object. Here each object is checked against the field
types of its Kubernetes type (:mod:`checks.schema`) before anything indexes it:

* **valid**: admitted as is (the fast path: one ``jsonschema_rs`` call, a few microseconds);
* **null where a value is typed**: Kubernetes treats null as unset, so the null is removed and the
  object admitted, exactly as if the field were absent. Timestamps (``metav1.Time``) are the one
  exception: the API server itself writes ``creationTimestamp: null`` into every pod template and
  ``lastProbeTime: null`` into pod conditions, every reader of a timestamp treats null as unset,
  and leaving them costs nothing;
* **values JSON cannot hold** (what YAML alone produces): dates and timestamps become the ISO
  strings the API server would receive, integer/boolean keys become strings, bytes are decoded;
* **wrong type** anywhere the schema types a field (a string where a mapping belongs, an int32
  out of range, a non-finite number): the object is *quarantined* - kept out of the snapshot's
  objects and indexes, so every other object is assessed exactly as if the document were absent -
  and recorded as a :class:`MalformedObject` with its identity (best effort), its source and its
  field problems. :func:`checks.runner.evaluate` turns it into one ``error`` result per check that
  would have evaluated it.

:class:`K8sObject` construction never raises, whatever the shape of the dict: identity fields are
read defensively so a broken object can still be named.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from checks.schema import TypeSchema, library

MAX_PROBLEMS = 10  # field problems kept per object
SHOWN_PROBLEMS = 3  # ... and named in its error message
MAX_TEXT = 80  # longest identity part or key shown in a message
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "ClusterRole",
        "ClusterRoleBinding",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "CustomResourceDefinition",
        "APIService",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "RuntimeClass",
        "CSIDriver",
    }
)


def _text(value: Any) -> str:
    """An identity field as text: strings as they are, other scalars printed, containers empty."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, dict | list | tuple | set | bytes):
        return ""
    return str(value)


class K8sObject:
    """A Kubernetes object as a raw dict plus the fields every check reads.

    The accessors (``spec``, ``labels``...) trust the shapes the boundary guarantees for admitted
    objects; only the identity read here, in ``__init__``, must survive any input.
    """

    __slots__ = ("api_version", "index", "kind", "name", "namespace", "raw", "source", "uid")

    def __init__(self, raw: dict[str, Any], source: str = "", index: int | None = None):
        self.raw = raw
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        self.kind: str = _text(body.get("kind"))
        self.api_version: str = _text(body.get("apiVersion"))
        ns = _text(meta.get("namespace"))
        self.namespace: str | None = None if self.kind in CLUSTER_SCOPED_KINDS else (ns or None)
        self.name: str = _text(meta.get("name")) or _text(meta.get("generateName"))
        uid = meta.get("uid")
        self.uid: str | None = uid if isinstance(uid, str) and uid else None
        self.source = source
        self.index = index

    @property
    def meta(self) -> dict[str, Any]:
        return self.raw.get("metadata") or {}

    @property
    def labels(self) -> dict[str, str]:
        return self.meta.get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.meta.get("annotations") or {}

    @property
    def spec(self) -> dict[str, Any]:
        return self.raw.get("spec") or {}

    @property
    def status(self) -> dict[str, Any]:
        return self.raw.get("status") or {}

    @property
    def owner_refs(self) -> list[dict[str, Any]]:
        return self.meta.get("ownerReferences") or []

    @property
    def controller_ref(self) -> dict[str, Any] | None:
        for ref in self.owner_refs:
            if ref.get("controller"):
                return ref
        return None

    @property
    def ref(self) -> str:
        """``Kind/namespace/name`` (or ``Kind/name`` when cluster-scoped) for messages."""
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"

    @property
    def where(self) -> str:
        """Where the object came from: ``file#doc`` for manifests, ``api`` for live objects."""
        if self.index is None:
            return self.source
        return f"{self.source}#{self.index}"

    def __repr__(self) -> str:
        return f"K8sObject({self.ref} from {self.where or '?'})"


@dataclass
class ParseProblem:
    """A document that could not be used, with where it was."""

    source: str
    index: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.index is None else f"{self.source} (document {self.index})"
        return f"{where}: {self.message}"


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field whose value does not have the type Kubernetes gives it."""

    path: str  # spec.template.spec.containers[0].ports[0].containerPort
    expected: str  # "a mapping", "a string or an integer", "an int32 (-2147483648..2147483647)"
    got: str  # "a string", "null", "an integer of 40 digits"

    def __str__(self) -> str:
        return f"{self.path or 'the object'} must be {self.expected}, got {self.got}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "expected": self.expected, "got": self.got}


@dataclass(slots=True)
class MalformedObject:
    """An object kept out of the snapshot, with what is wrong with it."""

    obj: K8sObject
    problems: list[FieldProblem]
    total: int  # problems found; only the first MAX_PROBLEMS are kept
    schema: str  # what it was checked against, e.g. "Kubernetes 1.37 apps/v1 Deployment"
    _message: str = field(default="", repr=False)

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

    def problem(self) -> ParseProblem:
        """The input problem that reports it along with documents that do not parse."""
        shown = "; ".join(str(p) for p in self.problems[:SHOWN_PROBLEMS])
        if self.total > SHOWN_PROBLEMS:
            shown += f" (and {self.total - SHOWN_PROBLEMS} more)"
        return ParseProblem(self.obj.source, self.obj.index, f"{self.ref} is malformed and was not assessed: {shown}")

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
    compiler = _compile_ahead(objects, lib, fast) if len(objects) >= COMPILE_AHEAD_MIN else None
    verdicts: list[bool | None] = [None] * len(objects)
    for n, obj in enumerate(objects):
        raw = obj.raw
        if type(raw) is dict:
            key = (raw.get("apiVersion"), raw.get("kind"))
            try:
                is_valid = fast[key]
            except KeyError:
                if compiler is not None:
                    continue  # still being compiled: judged after the loop
                is_valid = fast[key] = _validator(lib, key)
            except TypeError:  # an unhashable apiVersion or kind: the slow path names it
                verdicts[n] = False
                continue
            try:
                verdicts[n] = bool(is_valid(raw))
            except Exception:  # a value JSON cannot hold (a YAML date, a non-string key): see below
                verdicts[n] = False
        else:
            verdicts[n] = False
    if compiler is not None:
        compiler.join()
    admitted: list[K8sObject] = []
    malformed: list[MalformedObject] = []
    for obj, ok in zip(objects, verdicts, strict=True):
        if ok is None:  # its validator was not ready in the loop above
            ok = _judge(obj, lib, fast)
        if ok:
            admitted.append(obj)
            continue
        bad = _admit_or_name(obj, lib)
        if bad is None:
            admitted.append(obj)
        else:
            malformed.append(bad)
    return admitted, malformed


COMPILE_AHEAD_MIN = 1000  # objects; below this a compiling thread costs more than it saves


def _compile_ahead(objects: list[K8sObject], lib: Any, fast: dict[tuple[Any, Any], Any]) -> threading.Thread:
    """Start compiling a validator per (apiVersion, kind) present, in order of appearance.

    jsonschema-rs releases the GIL while it compiles (~1-5 ms per kind, ~35 ms for a 26-kind
    cluster dump), so on a second core this overlaps with validating the objects whose validator
    is already there. Reading and reducing the schemas stays on this thread (it needs the GIL).
    """
    schemas: dict[tuple[Any, Any], TypeSchema] = {}
    for obj in objects:
        raw = obj.raw
        if type(raw) is dict:
            key = (raw.get("apiVersion"), raw.get("kind"))
            try:
                if key not in schemas:
                    schemas[key] = lib.for_object(*key)
            except TypeError:
                continue

    def compile_all() -> None:
        for key in schemas:
            fast[key] = _validator(lib, key)

    thread = threading.Thread(target=compile_all, name="kwa-schema-compile", daemon=True)
    thread.start()
    return thread


def _validator(lib: Any, key: tuple[Any, Any]) -> Callable[[Any], bool]:
    """The compiled check for one (apiVersion, kind); one that cannot be built sends every object
    of that kind down the slow path, which reports it, instead of failing the snapshot."""
    try:
        return lib.for_object(*key).validator().is_valid  # type: ignore[no-any-return]
    except Exception:
        return _never


def _never(raw: Any) -> bool:
    return False


def _judge(obj: K8sObject, lib: Any, fast: dict[tuple[Any, Any], Any]) -> bool:
    raw = obj.raw
    key = (raw.get("apiVersion"), raw.get("kind"))
    is_valid = fast.get(key) or _validator(lib, key)
    try:
        return bool(is_valid(raw))
    except Exception:
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
        got = _got(obj.raw)
        return MalformedObject(obj, [FieldProblem("", "a mapping", got)], 1, "a Kubernetes object")
    problems, total = normalise(obj.raw, schema)
    if not problems:
        try:
            if schema.is_valid(obj.raw):
                return None
            found = schema.first_error(obj.raw)
        except ValueError as exc:  # normalise() converts every such value; this is a safety belt
            found = ("", f"a value JSON cannot represent ({exc})")
        path, message = found or ("", "does not match its type schema")
        problems, total = [FieldProblem(path.lstrip("."), "valid", _short(message))], 1
    return MalformedObject(obj, problems, total, schema.name)


# ---- the slow walk ------------------------------------------------------------------------------

_JSON_TYPE = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
_NOUN = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
    "null": "null",
}


def normalise(raw: dict[str, Any], schema: TypeSchema) -> tuple[list[FieldProblem], int]:
    """Walk ``raw`` against ``schema`` without recursion (depth is the document's, not ours).

    In place: null mapping values are removed where the schema types them (null = unset), YAML-only
    values become what the API server would receive. Returns the type problems (at most
    :data:`MAX_PROBLEMS`) and how many there were.
    """
    problems: list[FieldProblem] = []
    total = 0
    stack: list[tuple[Any, dict[str, Any] | None, str]] = [(raw, schema.root, "")]
    while stack:
        value, node, path = stack.pop()
        if node is not None:
            node = schema.resolve(node)
            problem = _type_problem(value, node, path)
            if problem is not None:
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(problem)
                continue
        if isinstance(value, dict):
            total += _mapping(schema, value, node, path, stack, problems)
        elif isinstance(value, list):
            items = node.get("items") if node is not None else None
            for i in range(len(value) - 1, -1, -1):
                item = _plain(value[i])
                if item is not value[i]:
                    value[i] = item
                stack.append((item, items, f"{path}[{i}]"))
    return problems, total


def _mapping(
    schema: TypeSchema,
    value: dict[str, Any],
    node: dict[str, Any] | None,
    path: str,
    stack: list[tuple[Any, dict[str, Any] | None, str]],
    problems: list[FieldProblem],
) -> int:
    """Normalise one mapping's keys and values; push its children (in reverse: popped in order)."""
    props = node.get("properties") if node is not None else None
    extra = node.get("additionalProperties") if node is not None else None
    bad = 0
    if not all(type(k) is str for k in value):
        for key in list(value):
            if type(key) is str:
                continue
            item = value.pop(key)
            text = _key_text(key)
            if text is None:
                bad += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(FieldProblem(_join(path, _key_label(key)), "a string key", _got(key) + " as a key"))
                continue
            value.setdefault(text, item)
    children = []
    for key in list(value):
        item = value[key]
        sub = props.get(key) if props else None
        if sub is None:
            sub = extra
        if item is None:
            # Null is unset: removed wherever the schema gives the field a type, except where the
            # type admits null (timestamps, which the API server writes as null when unset). An
            # untyped field keeps it, as the fast path does.
            types = _types_of(schema, sub) if sub is not None else ()
            if types and "null" not in types:
                del value[key]
            continue
        plain = _plain(item)
        if plain is not item:
            value[key] = item = plain
        children.append((item, sub, _join(path, key)))
    stack.extend(reversed(children))
    return bad


def _plain(value: Any) -> Any:
    """``value`` as the API server would receive it, when YAML gave it a type JSON lacks."""
    kind = type(value)
    if kind in _JSON_TYPE or value is None:
        if kind is str and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: Go writes U+FFFD
                return value.encode("utf-8", "replace").decode("utf-8")
        return value
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, tuple):
        return list(value)
    return value  # anything else is reported by _type_problem where typed, and is unusable anyway


def _key_label(key: Any) -> str:
    """A key that is not a string, shown in a path (a huge integer has no repr)."""
    try:
        text = repr(key)
    except ValueError:
        text = ""
    return text if text and len(text) <= MAX_TEXT else f"<{type(key).__name__}>"


def _key_text(key: Any) -> str | None:
    """A key as the API server's YAML-to-JSON conversion writes it, or None when it has no such form."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int) and -(10**300) < key < 10**300:
        return str(key)
    if isinstance(key, float) and math.isfinite(key):
        return repr(key)
    if isinstance(key, datetime | date):
        return key.isoformat()
    return None


def _type_problem(value: Any, node: dict[str, Any], path: str) -> FieldProblem | None:
    types = node.get("type")
    if types is None:  # typed by its fields only, or "anything"
        return None
    allowed = (types,) if isinstance(types, str) else tuple(types)
    actual = _JSON_TYPE.get(type(value), "null" if value is None else "")
    if actual == "integer" and "integer" not in allowed and "number" in allowed:
        actual = "number"
    elif actual == "number" and "integer" in allowed and math.isfinite(value) and value == int(value):
        actual = "integer"  # 2.0 is an integer in JSON Schema, so the fast path admits it too
    if type(value) is float and not math.isfinite(value):
        return FieldProblem(path, _expected(allowed), _got(value))
    if actual not in allowed:
        return FieldProblem(path, _expected(allowed), _got(value))
    if actual in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            if isinstance(high, int):
                span = "an int32" if high == 2**31 - 1 else "an int64" if high == 2**63 - 1 else "an integer"
                return FieldProblem(path, f"{span} ({low} to {high})", _got(value))
            return FieldProblem(path, "a number within the range of a double", _got(value))
    return None


def _types_of(schema: TypeSchema, node: dict[str, Any]) -> tuple[str, ...]:
    types = schema.resolve(node).get("type")
    if types is None:
        return ()
    return (types,) if isinstance(types, str) else tuple(types)


def _expected(types: tuple[str, ...]) -> str:
    nouns = [_NOUN.get(t, t) for t in types if t != "null"]
    return " or ".join(nouns) if nouns else "null"


def _got(value: Any) -> str:
    """What a value is, never the value itself when it could be long."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        if -(10**20) < value < 10**20:
            return f"an integer ({value})"
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    if isinstance(value, float):
        return "a number" if math.isfinite(value) else f"a non-finite number ({value})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _join(path: str, key: str) -> str:
    shown = key if len(key) <= MAX_TEXT else key[: MAX_TEXT - 1] + "…"
    if shown and all(c.isalnum() or c in "_-" for c in shown):
        return f"{path}.{shown}" if path else shown
    return f'{path}["{shown}"]'


def _short(message: str) -> str:
    return message if len(message) <= 120 else message[:119] + "…"
