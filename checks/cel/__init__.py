"""CEL in kwa: the engine (:mod:`checks.cel.engine`), the Kubernetes CEL library functions
(:mod:`checks.cel.k8s_library`) and CEL check files (:mod:`checks.cel.files`).

Checks made at load or run time register through :mod:`checks.dynamic` (its docstring describes
the API and the snapshot hook, ``CheckSource.checks_for(snapshot)``).
"""

from checks.cel.engine import (
    CelCompileError,
    CelError,
    CelEvaluationError,
    Environment,
    Program,
    compile_expression,
)

__all__ = ["CelCompileError", "CelError", "CelEvaluationError", "Environment", "Program", "compile_expression"]
