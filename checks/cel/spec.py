"""One ``kind: Check`` document read and validated: its metadata, match rules and compiled expressions.

Every problem is a :class:`CheckFileError` naming the file, the document, the check and the field
(``team.yaml: document 2: check CUS-001: spec.severity: 'urgent' is not one of critical, ...``);
an expression that does not compile also gives its position in the file and in the expression.
The format is described in docs/custom-checks.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from checks.cel.engine import CelCompileError, Program, compile_expression
from checks.metadata import CheckRegistrationError
from checks.model import DYNAMIC_ID_PATTERN, PREFIX_PILLAR, Pillar, Severity

API_VERSION = "kwa.io/v1"
CHECK_KIND = "Check"
SPEC_KEYS = {
    "pillar", "name", "severity", "description", "remediation", "match", "variables", "validations",
    "params", "timeout", "docsUrl", "optIn",
}  # fmt: skip
MATCH_KEYS = {"kinds", "namespaces", "excludeNamespaces", "namespaceSelector", "objectSelector", "labelSelector"}
_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CheckFileError(CheckRegistrationError):
    """A check file that cannot be loaded; the message names the file, document, check and field."""


@dataclass(frozen=True)
class Validation:
    expression: Program
    message: str | None
    message_expression: Program | None
    reason: str | None


@dataclass(frozen=True)
class Match:
    kinds: tuple[str, ...]  # () = every kind ("*")
    namespaces: frozenset[str] | None = None
    exclude_namespaces: frozenset[str] = frozenset()
    namespace_selector: dict[str, Any] | None = None
    object_selector: dict[str, Any] | None = None


@dataclass(frozen=True)
class CheckSpec:
    """A check as its file declares it, expressions compiled."""

    id: str
    pillar: Pillar
    name: str
    severity: Severity
    description: str
    remediation: str
    match: Match
    variables: tuple[tuple[str, Program], ...]
    validations: tuple[Validation, ...]
    params: Any = None
    timeout: float | None = None
    docs_url: str = ""
    opt_in: bool = False
    where: str = ""
    programs: tuple[Program, ...] = field(default=(), repr=False)


def parse_check(doc: Any, where: str, node: Any = None) -> CheckSpec:
    """Validate one document (already known to be ``kind: Check``). ``node`` is the document's
    YAML node, for file positions of expressions that do not compile."""
    if doc.get("apiVersion") != API_VERSION:
        raise CheckFileError(f"{where}: apiVersion must be {API_VERSION}, got {doc.get('apiVersion')!r}")
    meta = doc.get("metadata")
    raw_id = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise CheckFileError(f"{where}: metadata.name (the check id, such as CUS-001) is required")
    check_id = raw_id.strip().upper()
    where = f"{where}: check {check_id}"
    if not DYNAMIC_ID_PATTERN.match(check_id):
        raise CheckFileError(
            f"{where}: metadata.name must be a prefix of 2-10 capitals and digits, a dash and a name (CUS-001)"
        )
    prefix = check_id.split("-", 1)[0]
    if prefix in PREFIX_PILLAR:
        raise CheckFileError(
            f"{where}: metadata.name: prefix {prefix} is reserved for kwa's built-in checks "
            f"({', '.join(PREFIX_PILLAR)}); use your own, such as CUS"
        )
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise CheckFileError(f"{where}: spec: expected a mapping")
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        known = ", ".join(sorted(SPEC_KEYS))
        raise CheckFileError(f"{where}: spec: unknown key(s) {', '.join(unknown)} (known: {known})")
    text = {k: _text(spec, k, where) for k in ("name", "description", "remediation")}
    try:
        pillar = Pillar.parse(str(spec.get("pillar") or ""))
    except ValueError:
        raise CheckFileError(
            f"{where}: spec.pillar: {spec.get('pillar')!r} is not one of {', '.join(p.value for p in Pillar)}"
        ) from None
    try:
        severity = Severity(str(spec.get("severity") or "").strip().lower())
    except ValueError:
        raise CheckFileError(
            f"{where}: spec.severity: {spec.get('severity')!r} is not one of {', '.join(s.value for s in Severity)}"
        ) from None
    timeout = spec.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise CheckFileError(f"{where}: spec.timeout: expected a positive number of seconds, got {timeout!r}")
    compile_at = _Compiler(where, node)
    variables = _variables(spec.get("variables"), where, compile_at)
    validations = _validations(spec.get("validations"), where, compile_at)
    programs = tuple(p for _, p in variables) + tuple(
        p for v in validations for p in (v.expression, v.message_expression) if p is not None
    )
    return CheckSpec(
        id=check_id,
        pillar=pillar,
        severity=severity,
        match=_match(spec.get("match"), where),
        variables=variables,
        validations=validations,
        params=spec.get("params"),
        timeout=float(timeout) if timeout is not None else None,
        docs_url=str(spec.get("docsUrl") or ""),
        opt_in=bool(spec.get("optIn", False)),
        where=where,
        programs=programs,
        **text,
    )


def _text(spec: dict[str, Any], key: str, where: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CheckFileError(f"{where}: spec.{key}: a non-empty string is required")
    return value.strip()


def _string_list(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CheckFileError(f"{path}: expected a list of strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _match(value: Any, where: str) -> Match:
    if not isinstance(value, dict):
        raise CheckFileError(f"{where}: spec.match: a mapping with at least 'kinds' is required")
    unknown = sorted(set(value) - MATCH_KEYS)
    if unknown:
        known = ", ".join(sorted(MATCH_KEYS))
        raise CheckFileError(f"{where}: spec.match: unknown key(s) {', '.join(unknown)} (known: {known})")
    kinds = _string_list(value.get("kinds"), f"{where}: spec.match.kinds")
    if not kinds:
        raise CheckFileError(f"{where}: spec.match.kinds: name at least one kind (or '*')")
    selectors = {}
    for key in ("namespaceSelector", "objectSelector", "labelSelector"):
        sel = value.get(key)
        if sel is None:
            continue
        if not isinstance(sel, dict) or set(sel) - {"matchLabels", "matchExpressions"}:
            raise CheckFileError(f"{where}: spec.match.{key}: expected a LabelSelector (matchLabels, matchExpressions)")
        for i, expr in enumerate(sel.get("matchExpressions") or []):
            ok = isinstance(expr, dict) and expr.get("operator") in ("In", "NotIn", "Exists", "DoesNotExist")
            if not ok or not isinstance(expr.get("key"), str):
                raise CheckFileError(
                    f"{where}: spec.match.{key}.matchExpressions[{i}]: needs a key and an operator "
                    "(In, NotIn, Exists, DoesNotExist)"
                )
        selectors[key] = sel
    namespaces = value.get("namespaces")
    return Match(
        kinds=() if "*" in kinds else kinds,
        namespaces=frozenset(_string_list(namespaces, f"{where}: spec.match.namespaces")) if namespaces else None,
        exclude_namespaces=frozenset(
            _string_list(value.get("excludeNamespaces") or [], f"{where}: spec.match.excludeNamespaces")
        ),
        namespace_selector=selectors.get("namespaceSelector"),
        object_selector=selectors.get("objectSelector", selectors.get("labelSelector")),
    )


def _variables(value: Any, where: str, compile_at: _Compiler) -> tuple[tuple[str, Program], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise CheckFileError(f"{where}: spec.variables: expected a list of {{name, expression}}")
    out: list[tuple[str, Program]] = []
    for i, item in enumerate(value):
        path = f"spec.variables[{i}]"
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _VARIABLE_NAME.match(name):
            raise CheckFileError(f"{where}: {path}.name: expected an identifier, got {name!r}")
        if any(n == name for n, _ in out):
            raise CheckFileError(f"{where}: {path}.name: variable {name!r} is declared twice")
        out.append((name, compile_at(item.get("expression"), f"{path}.expression")))
    return tuple(out)


def _validations(value: Any, where: str, compile_at: _Compiler) -> tuple[Validation, ...]:
    if not isinstance(value, list) or not value:
        raise CheckFileError(f"{where}: spec.validations: a non-empty list of {{expression, message}} is required")
    out = []
    for i, item in enumerate(value):
        path = f"spec.validations[{i}]"
        if not isinstance(item, dict):
            raise CheckFileError(f"{where}: {path}: expected a mapping with expression and message")
        message = item.get("message")
        if message is not None and not isinstance(message, str):
            raise CheckFileError(f"{where}: {path}.message: expected a string")
        if message is None and item.get("messageExpression") is None:
            raise CheckFileError(f"{where}: {path}: give a message or a messageExpression")
        reason = item.get("reason")
        out.append(
            Validation(
                expression=compile_at(item.get("expression"), f"{path}.expression"),
                message=message,
                message_expression=(
                    compile_at(item["messageExpression"], f"{path}.messageExpression")
                    if item.get("messageExpression") is not None
                    else None
                ),
                reason=str(reason) if reason is not None else None,
            )
        )
    return tuple(out)


class _Compiler:
    """Compiles a field's expression; a compile error names the file position too."""

    def __init__(self, where: str, node: Any) -> None:
        self.where, self.node = where, node

    def __call__(self, source: Any, path: str) -> Program:
        if not isinstance(source, str):
            raise CheckFileError(f"{self.where}: {path}: expected a CEL expression (a string), got {source!r}")
        try:
            return compile_expression(source, where=f"{self.where} {path}")
        except CelCompileError as exc:
            at = _file_position(self.node, path, exc.line, exc.column)
            prefix, _, _ = self.where.partition(": ")
            if at is not None:  # "file.yaml:14:22: document 1: check CUS-001 ..." like a compiler
                raise CheckFileError(f"{prefix}:{at[0]}:{at[1]}: {exc.where[len(prefix) + 2 :]}: {_at(exc)}") from None
            raise CheckFileError(f"{exc.where}: {_at(exc)}") from None


def _at(exc: CelCompileError) -> str:
    if exc.line is None:
        return exc.message
    return f"expression line {exc.line}, column {exc.column}: {exc.message}"


def _file_position(node: Any, path: str, line: int | None, column: int | None) -> tuple[int, int] | None:
    """Where (1-based line, column) in the file the expression at ``path`` has its error."""
    target = _node_at(node, path)
    if target is None:
        return None
    start = target.start_mark
    line, column = line or 1, column or 1
    style = getattr(target, "style", None)
    if style in ("|", ">"):  # a block scalar starts on the next line, indented
        indent = start.column + 2
        return start.line + 1 + line, indent + column
    if line == 1:  # start.column is 0-based; a quoted scalar's text starts after its quote
        return start.line + 1, start.column + column + (1 if style in ('"', "'") else 0)
    return start.line + line, column


def _node_at(node: Any, path: str) -> Any:
    if node is None:
        return None
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    current = node
    for part in parts:
        if part.startswith("["):
            items = getattr(current, "value", None)
            index = int(part[1:-1])
            if not isinstance(items, list) or index >= len(items):
                return None
            current = items[index]
        else:
            pairs = getattr(current, "value", None)
            if not isinstance(pairs, list):
                return None
            current = next((v for k, v in pairs if getattr(k, "value", None) == part), None)
            if current is None:
                return None
    return current
