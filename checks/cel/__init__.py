"""CEL in kwa: the engine (:mod:`checks.cel.engine`), the Kubernetes CEL library functions
(:mod:`checks.cel.k8s_library`) and CEL check files (:mod:`checks.cel.files`).

Checks made at load or run time register through :mod:`checks.dynamic` (its docstring describes
the API and the snapshot hook, ``CheckSource.checks_for(snapshot)``).

The engine's names are re-exported lazily: importing this package (the ConfigMap check source
does, for every run) does not load the CEL evaluator until a CEL check needs it.
"""

from typing import Any

__all__ = ["CelCompileError", "CelError", "CelEvaluationError", "Environment", "Program", "compile_expression"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from checks.cel import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'checks.cel' has no attribute {name!r}")
