"""Compiling and evaluating CEL expressions: the engine of CEL checks and of the admission-policy audit.

Built on ``common-expression-language`` (import ``cel``, the Rust ``cel`` crate; docs/custom-checks.md
says why), with the cel-go extensions of ``cel.stdlib`` and the Kubernetes library of
:mod:`checks.cel.k8s_library`.

Use::

    program = compile_expression("'team' in object.metadata.labels", where="team.yaml: check CUS-001 ...")
    program.evaluate({"object": obj})            # True / False / any value; CelEvaluationError

Activations hold plain JSON values (dict, list, str, int, float, bool, None). Converting a value
into CEL costs about 5 µs per map entry, so a program never converts more than it reads: each
program knows which fields of each variable its source can reach (``object.metadata.labels``
reads only that subtree; a variable used whole is passed whole) and is handed only those
(:func:`project`). Values fixed for a series of evaluations (the snapshot's objects for a
cross-object rule) go into an :class:`Environment`, converted once. A program inside the common
subset of CEL also gets a Python closure (:mod:`checks.cel.fast`) that reads the JSON directly and
hands an object to the library only when it cannot be certain of the library's answer.

Bounds: an expression longer than :data:`MAX_SOURCE` characters is refused at compile time; the
library functions that build values cap their size; the Rust evaluator itself has no cost budget,
so a check's evaluation is bounded by the hard per-check timeout of the worker lanes (SIGKILL),
like a built-in's, and checks.cel.files stops between objects once the check's deadline passed.
"""

from __future__ import annotations

import logging
import re
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

# The package's __init__ imports its interactive shell (cel.cli: prompt_toolkit, pygments, typer;
# 0.15-0.3 s) along with the evaluator; kwa never uses the shell, so it is not loaded.
if "cel" not in sys.modules:
    sys.modules.setdefault("cel.cli", types.ModuleType("cel.cli"))
import cel

from checks.cel.convertible import converter_check
from checks.cel.fast import Defer, Fn, compile_fast
from checks.cel.k8s_library import functions
from checks.cel.paths import WHOLE, PathTree, merge, project, reachable_paths

# The binding logs every failing library call before raising it; the error reaches the check's
# result, so the log line would only be noise on kwa's stderr.
logging.getLogger("cel").setLevel(logging.CRITICAL)

MAX_SOURCE = 20_000
# The names an activation may bind, as ValidatingAdmissionPolicy names them, plus ``objects``
# (the snapshot's objects by kind, for cross-object rules).
VARIABLES = ("object", "oldObject", "params", "namespaceObject", "request", "variables", "objects")
# Functions and macros of the CEL core as the Rust implementation provides them.
_CORE = """size has all exists exists_one map filter contains startsWith endsWith matches int uint double
    string bytes timestamp duration dyn type max min of none hasValue value orValue or ofNonZeroValue
    getFullYear getMonth getDate getDayOfMonth getDayOfWeek getDayOfYear getHours getMinutes getSeconds
    getMilliseconds"""
CORE_FUNCTIONS = frozenset(_CORE.split())
FUNCTIONS = functions()
KNOWN_FUNCTIONS = CORE_FUNCTIONS | {name.rpartition(".")[2] for name in FUNCTIONS}

_TOKEN = re.compile(
    r"""(?P<str>[rRbB]{0,2}(?:\"\"\"(?:\\.|[^\\])*?\"\"\"|'''(?:\\.|[^\\])*?'''|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
    |(?P<id>[A-Za-z_][A-Za-z0-9_]*)|(?P<num>[0-9][A-Za-z0-9_.]*)|(?P<ws>\s+)|(?P<op>.)""",
    re.S | re.X,
)
_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): (.*)")


class CelError(Exception):
    pass


class CelCompileError(CelError):
    """An expression that does not compile: where it is, what is wrong, and at which line and
    column of the expression (1-based)."""

    def __init__(self, where: str, message: str, line: int | None = None, column: int | None = None):
        self.where, self.message, self.line, self.column = where, message, line, column
        super().__init__(str(self))

    def __str__(self) -> str:
        at = f"line {self.line}, column {self.column}: " if self.line is not None else ""
        return f"{self.where}: {at}{self.message}"


class CelEvaluationError(CelError):
    """An expression that failed on one activation (a missing field, a type mismatch, ...)."""


class Program:
    """A compiled expression; :meth:`evaluate` runs it on one activation."""

    __slots__ = ("_compiled", "convertible", "fast", "functions", "paths", "source", "where")

    def __init__(
        self,
        source: str,
        where: str,
        compiled: Any,
        paths: dict[str, PathTree],
        functions: frozenset[str] = frozenset(),
        fast: Fn | None = None,
    ) -> None:
        self.source, self.where, self._compiled, self.paths = source, where, compiled, paths
        self.functions = functions  # the library functions it calls (names as registered)
        self.fast = fast  # the Python closure of checks.cel.fast, None outside its subset
        # Per variable it reads, whether the library would convert a value (the fast path's precondition).
        self.convertible = tuple((n, converter_check(t)) for n, t in paths.items() if n != "variables") if fast else ()

    def evaluate(self, activation: Mapping[str, Any], env: Environment | None = None) -> Any:
        """The expression's value; :class:`CelEvaluationError` with a readable message on failure."""
        return (env or default_environment()).run(self, activation)

    def __repr__(self) -> str:
        return f"Program({self.source!r})"


_RUST_DEBUG_MSG = re.compile(r'\bmsg: "((?:[^"\\]|\\.)*)"')


def compile_expression(source: str, *, where: str, variables: Iterable[str] = VARIABLES) -> Program:
    """Compile ``source``; :class:`CelCompileError` names ``where``, the problem and its position.

    Beyond what the parser refuses, a call to a function kwa does not provide is a compile error
    here, not an error on every object later.
    """
    if not isinstance(source, str) or not source.strip():
        raise CelCompileError(where, "the expression is empty")
    if len(source) > MAX_SOURCE:
        raise CelCompileError(where, f"the expression is {len(source)} characters long; at most {MAX_SOURCE}")
    try:
        compiled = cel.compile(source)
    except Exception as exc:  # the parser's ValueError; anything else from the binding alike
        text = str(exc)
        match = _ERROR.search(text)
        if match is None:
            raise CelCompileError(where, text.splitlines()[0] if text else type(exc).__name__) from None
        message = match.group(3).strip()
        # The binding shows some parser errors in Rust's debug form: keep only their message.
        debug = _RUST_DEBUG_MSG.search(message)
        if debug is not None:
            message = f"{message.partition(':')[0]}: {debug.group(1)}" if ":" in message else debug.group(1)
        raise CelCompileError(where, message, int(match.group(1)), int(match.group(2))) from None
    tokens = tokenize(source)
    called = compiled.references().get("functions", [])
    for name in called:
        if name[:1] in "_@!" or name in KNOWN_FUNCTIONS:
            continue
        line, column = _position_of_call(source, tokens, name)
        raise CelCompileError(where, f"undeclared function {name!r} (see docs/custom-checks.md)", line, column)
    used = {name for name in FUNCTIONS if name in called or name.rpartition(".")[2] in called}
    names = tuple(variables)
    fast = compile_fast(source, names) if fast_path_enabled() else None
    return Program(source, where, compiled, reachable_paths(tokens, names), frozenset(used), fast)


_FAST = [True]


def fast_path_enabled(enabled: bool | None = None) -> bool:
    """Whether programs compiled from now on get the Python fast path (checks.cel.fast); the
    benchmark and the differential tests turn it off to measure and compare the Rust path alone."""
    if enabled is not None:
        _FAST[0] = enabled
    return _FAST[0]


def tokenize(source: str) -> list[tuple[str, str, int]]:
    """(kind, text, offset) of every token but whitespace; strings are one token."""
    return [(m.lastgroup or "op", m.group(), m.start()) for m in _TOKEN.finditer(source) if m.lastgroup != "ws"]


def _position_of_call(source: str, tokens: list[tuple[str, str, int]], name: str) -> tuple[int | None, int | None]:
    for i, (kind, text, offset) in enumerate(tokens):
        if kind == "id" and text == name and i + 1 < len(tokens) and tokens[i + 1][1] == "(":
            before = source[:offset]
            return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
    return None, None


class Environment:
    """The functions and variables a series of evaluations (one check's, over many objects) share.

    Each object's values are converted into CEL once for all the programs that read it
    (:meth:`bind`), projected onto what those programs read. ``fixed`` values (the snapshot's
    objects, for cross-object rules) are converted once for the whole series; the per-object
    values then come through the context's resolver (converted at each reference). Not
    thread-safe: one per thread (the worker lanes are processes).
    """

    def __init__(
        self,
        fixed: Mapping[str, Any] | None = None,
        *,
        programs: Iterable[Program] = (),
        names: Iterable[str] = VARIABLES,
    ) -> None:
        self.programs = list(programs)
        self.names = tuple(names)
        self.fixed = dict(fixed or {})
        if self.programs:
            used = set().union(*(p.functions for p in self.programs))
            self.functions = {name: FUNCTIONS[name] for name in used}
            names_read = {n for p in self.programs for n in p.paths}
            self.trees = {n: merge([p.paths[n] for p in self.programs if n in p.paths]) for n in names_read}
        else:
            self.functions, self.trees = dict(FUNCTIONS), {}
        # Whether the library would convert an object's values (checks.cel.fast.convertible),
        # per variable read; the values of ``variables`` are the programs' own results.
        self.checks = [(n, converter_check(t)) for n, t in self.trees.items() if n != "variables"]
        self._shared: Any = None
        if self.fixed:
            self._current: dict[str, Any] = {}
            context = self._context()
            for name, value in self.fixed.items():
                context.add_variable(name, project(value, self.trees.get(name, WHOLE)) if self.programs else value)
            context.set_variable_resolver(self._current.get)
            self._shared = context

    def _context(self) -> Any:
        context = cel.Context()
        for name, func in self.functions.items():
            context.add_function(name, func)
        for name in self.names:  # unbound names read as null, as ValidatingAdmissionPolicy's do
            context.add_variable(name, None)
        return context

    def bind(self, activation: Mapping[str, Any]) -> Bound:
        """The activation of one object, for every program of this environment."""
        return Bound(self, activation)

    def run(self, program: Program, activation: Mapping[str, Any]) -> Any:
        """One program on one activation (projected onto what that program reads)."""
        if self._shared is None:
            if program.fast is not None:
                # The closures read names with .get (unbound is null) and restore what a macro
                # binds, so a plain dict activation serves as the scope as it is.
                scope = activation if type(activation) is dict else dict(activation)
                try:
                    if all(check(scope.get(n)) for n, check in program.convertible):
                        return program.fast(scope)
                except (Defer, RecursionError):
                    pass
            context = cel.Context()
            for name in program.functions:
                context.add_function(name, FUNCTIONS[name])
            try:
                for name, tree in program.paths.items():
                    value = activation.get(name)
                    context.add_variable(name, None if value is None else project(value, tree))
            except Exception as exc:  # a value the binding cannot convert (a YAML date, a lone surrogate)
                raise CelEvaluationError(readable(exc)) from None
            return _execute(program, context)
        current = self._current
        current.clear()
        for name, tree in program.paths.items():
            value = activation.get(name)
            if value is not None and name not in self.fixed:
                current[name] = project(value, tree)
        try:
            return _execute(program, self._shared)
        finally:
            current.clear()


class Bound:
    """One object's activation for all the programs of its environment. A program with a fast
    path reads the JSON directly (checks.cel.fast); the Rust context is built, converting the
    values once for every program, only when a program first needs it. ``variables`` (the
    check's, computed one by one) come through the resolver."""

    __slots__ = ("_activation", "_context", "_fast_ok", "_scope", "env", "variables")

    def __init__(self, env: Environment, activation: Mapping[str, Any]) -> None:
        self.env, self._activation = env, activation
        self.variables: dict[str, Any] = {}
        self._context: Any = None
        self._scope: dict[str, Any] | None = None
        self._fast_ok: bool | None = None

    def _variable(self, name: str) -> Any:
        return self.variables if name == "variables" else None

    def _rust_context(self) -> Any:
        env, activation = self.env, self._activation
        context = cel.Context()
        for name, func in env.functions.items():
            context.add_function(name, func)
        # Only the names the programs read: each add_variable converts its value at once.
        for name, tree in env.trees.items():
            value = activation.get(name)
            if name == "variables" or value is None:
                context.add_variable(name, None)
            else:
                context.add_variable(name, project(value, tree))
        if "variables" in env.trees:
            context.set_variable_resolver(self._variable)
        return context

    def _fast_scope(self) -> dict[str, Any] | None:
        """The scope of the fast path, or None when the library would fail converting this
        object's values (the Rust path then reports that error)."""
        if self._fast_ok is None:
            env, activation = self.env, self._activation
            self._fast_ok = True
            try:
                for name, check in env.checks:
                    if not check(activation.get(name)):
                        self._fast_ok = False
                        break
            except RecursionError:  # nested deeper than Python's stack: the library's to judge
                self._fast_ok = False
            if self._fast_ok:
                # The closures read names with .get (unbound is null).
                scope = dict(activation)
                scope["variables"] = self.variables
                self._scope = scope
        return self._scope

    def run(self, program: Program) -> Any:
        if self.env._shared is not None:
            return self.env.run(program, {**self._activation, "variables": self.variables})
        if program.fast is not None:
            scope = self._fast_scope()
            if scope is not None:
                try:
                    return program.fast(scope)
                except Defer:
                    pass
        if self._context is None:
            try:
                self._context = self._rust_context()
            except Exception as exc:  # a value the binding cannot convert (a YAML date, a lone surrogate)
                raise CelEvaluationError(readable(exc)) from None
        return _execute(program, self._context)


def _execute(program: Program, context: Any) -> Any:
    try:
        return program._compiled.execute(context)
    except Exception as exc:
        raise CelEvaluationError(readable(exc)) from None


_DEFAULT: Environment | None = None


def default_environment() -> Environment:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Environment()
    return _DEFAULT


def readable(exc: BaseException) -> str:
    """What an evaluation error says, without the binding's advice text."""
    if isinstance(exc, KeyError):
        return f"no such key: {exc.args[0] if exc.args else ''}"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    text = str(exc).strip() or type(exc).__name__
    text = text.replace("Python function call failed: ", "")
    text = re.sub(r"^Function '([\w.]+)' error: (?:[A-Za-z]+Error: )?", r"\1(): ", text)
    text = re.sub(r"\. Check that the variable is defined.*$|\. Check function arguments.*$", "", text, flags=re.S)
    return text if len(text) <= 400 else text[:397] + "..."
