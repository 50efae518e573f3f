"""Cross-object CEL checks evaluated for all their objects in one call per expression.

A cross-object rule reads the snapshot (``objects.PodDisruptionBudget``) inside a loop that also
reads the object (``pdb.metadata.namespace == object.metadata.namespace``). Evaluated object by
object, the per-object values reach the evaluator through the context's resolver, which converts
them at every reference, inside every iteration: 837 Services against 916 workloads took minutes.
Here each expression is rewritten to run over every matched object at once,

    _kwa_subjects.map(_kwa_s, <expression with object → _kwa_s.object, variables → _kwa_s.variables, ...>)

so the snapshot's objects and the matched objects are each converted once per expression, and
the loops run inside the evaluator. An expression that fails for some object fails the whole
call: the objects are then split in halves until each error is pinned on its object(s), which
get an error result while the others keep their values. An expression that cannot be rewritten
(it rebinds ``object`` as a macro variable) is evaluated object by object.
"""

from __future__ import annotations

from typing import Any

from checks.cel.engine import VARIABLES as BASE_VARIABLES
from checks.cel.engine import CelCompileError, CelEvaluationError, Environment, Program, compile_expression, tokenize

SUBJECTS, SUBJECT = "_kwa_subjects", "_kwa_s"
PER_OBJECT = ("object", "oldObject", "namespaceObject", "request", "variables")
VARIABLES = (*BASE_VARIABLES, SUBJECTS)

Outcome = tuple[bool, Any]  # (True, value) or (False, error message)


def rewrite(source: str) -> str:
    tokens = tokenize(source)
    parts: list[str] = []
    last = 0
    for i, (kind, text, offset) in enumerate(tokens):
        if kind == "id" and text in PER_OBJECT and not (i > 0 and tokens[i - 1][1] == "."):
            parts += [source[last:offset], f"{SUBJECT}.{text}"]
            last = offset + len(text)
    parts.append(source[last:])
    return f"{SUBJECTS}.map({SUBJECT}, {''.join(parts)})"


class Batch:
    """Evaluates a check's programs over a list of per-object activations."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._rewritten: dict[int, Program | None] = {}

    def _program(self, program: Program) -> Program | None:
        key = id(program)
        if key not in self._rewritten:
            try:
                self._rewritten[key] = compile_expression(
                    rewrite(program.source), where=program.where, variables=VARIABLES
                )
            except CelCompileError:  # e.g. a macro variable named object: evaluated one by one
                self._rewritten[key] = None
        return self._rewritten[key]

    def evaluate(self, program: Program, subjects: list[dict[str, Any]]) -> list[Outcome]:
        if not subjects:
            return []
        batched = self._program(program)
        if batched is None:
            return [self._one(program, s) for s in subjects]
        try:
            values = self.env.run(batched, {SUBJECTS: subjects})
        except CelEvaluationError as exc:
            if len(subjects) == 1:
                return [(False, str(exc))]
            middle = len(subjects) // 2
            return self.evaluate(program, subjects[:middle]) + self.evaluate(program, subjects[middle:])
        if not isinstance(values, list) or len(values) != len(subjects):
            return [self._one(program, s) for s in subjects]
        return [(True, v) for v in values]

    def _one(self, program: Program, subject: dict[str, Any]) -> Outcome:
        try:
            return True, self.env.run(program, subject)
        except CelEvaluationError as exc:
            return False, str(exc)
