"""The policy's CEL expressions compiled once with kwa's CEL engine (:mod:`checks.cel.engine`).

A compile error is kept with the field it is in (``spec.validations[1].expression``) and its
position, never raised: the expressions that compile are still evaluated, and the verdicts say
which one did not (the policy's ``failurePolicy`` decides what the cluster does about it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from checks.vap.policies import Expression, Policy

_AUTHORIZER = re.compile(r"\bauthorizer\b")


def uses_authorizer(expression: Expression) -> bool:
    """An expression that asks the API server's authorizer, which an audit has no access to."""
    return bool(_AUTHORIZER.search(expression.source))


@dataclass
class Compiled:
    programs: dict[str, Any] = field(default_factory=dict)  # field path -> compiled program
    problems: dict[str, str] = field(default_factory=dict)  # field path -> why it does not compile
    positions: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)

    @staticmethod
    def run(program: Any, activation: dict[str, Any]) -> tuple[Any, str | None]:
        """(value, None) or (None, the error as the cluster would word it)."""
        from checks.cel.engine import CelEvaluationError

        try:
            return program.evaluate(activation), None
        except CelEvaluationError as exc:
            return None, str(exc)
        except RecursionError:
            return None, "the expression nests too deeply"
        except Exception as exc:  # the engine's own failure on this object: an error, never a pass
            return None, f"{type(exc).__name__}: {exc}"


def expressions(policy: Policy) -> list[Expression]:
    """Every CEL expression of the policy, in the order the API server evaluates them."""
    found = [e for _, e in policy.variables]
    found += [e for _, e in policy.match_conditions]
    for v in policy.validations:
        found.append(v.expression)
        if v.message_expression is not None:
            found.append(v.message_expression)
    found += [e for _, e in policy.audit_annotations]
    return found


def compile_policy(policy: Policy) -> Compiled:
    from checks.cel.engine import CelCompileError, compile_expression

    out = Compiled()
    for expression in expressions(policy):
        if uses_authorizer(expression):
            continue  # never evaluated (checks.vap.evaluate says why): its calls are not kwa's to compile
        where = f"ValidatingAdmissionPolicy {policy.name}: {expression.path}"
        try:
            out.programs[expression.path] = compile_expression(expression.source, where=where)
        except CelCompileError as exc:
            line, column = getattr(exc, "line", None), getattr(exc, "column", None)
            message = getattr(exc, "message", None) or str(exc)
            at = f" at line {line}, column {column}" if line is not None else ""
            out.problems[expression.path] = f"{message}{at}"
            out.positions[expression.path] = (line, column)
        except Exception as exc:  # kwa's engine failing on a source: this expression only
            out.problems[expression.path] = f"{type(exc).__name__}: {exc}"
    return out
