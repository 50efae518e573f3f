"""The ``kwa`` command tree: every verb in one place, built on Typer.

Why Typer rather than Click directly: Typer builds the Click command tree from the functions'
type hints, so an option's type, default and help sit in one place beside the code that uses it;
it is in Prefect's dependency tree already (kwa pins it below 0.29, whose pydantic-based
parameter conversion adds 0.2 s to every start), and it is Click underneath, so Click's
parameter types, usage errors (exit 2) and shell completion come with it.

Groups, one module each in ``kwa/commands/``: ``run``, ``lint``, ``runs``, ``query``, ``checks``,
``server``, ``fleet``, ``serve`` (the HTTP API, ``kwa/service/``), ``tokens``, ``metrics``, ``notify``
(Prefect automations on run events). Each command
imports its layer when it runs, so ``kwa --help`` and ``kwa checks list`` never load Prefect or
SQLAlchemy. Exit codes: ``kwa/exit_codes.py``.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

import typer

from kwa.commands import checks, fleet, frameworks, lint, metrics, notify, query, run, runs, serve, server, tokens
from kwa.commands.common import CONTEXT, EPILOG
from kwa.exit_codes import ExitCode

app = typer.Typer(
    name="kwa",
    help="Kubernetes Well-Architected assessment: run checks, keep every result, query the history.",
    epilog=EPILOG,
    no_args_is_help=True,
    rich_markup_mode=None,  # plain Click help: texts printed as written, never read as Rich markup
    context_settings=CONTEXT,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
)
app.command("run", context_settings=CONTEXT, epilog=EPILOG)(run.run)
app.command("lint", context_settings=CONTEXT, epilog=EPILOG)(lint.lint)
# Every other top-level command, in the order --help lists them: a group (a Typer of verbs) or a
# command (a function). Built into the whole tree here, and alone when it is the one invoked.
_TOP: dict[str, Any] = {
    "runs": runs.app,
    "query": query.app,
    "checks": checks.app,
    "frameworks": frameworks.app,
    "server": server.app,
    "fleet": fleet.fleet,
    "serve": serve.serve,
    "tokens": tokens.app,
    "metrics": metrics.metrics,
    "notify": notify.app,
}


def _add(tree: typer.Typer, name: str) -> None:
    target = _TOP[name]
    if isinstance(target, typer.Typer):
        tree.add_typer(target, name=name)
    else:
        tree.command(name, context_settings=CONTEXT, epilog=EPILOG)(target)


for _name in _TOP:
    _add(app, _name)


# ``kwa lint`` runs in pre-commit hooks and CI jobs, where start-up is the whole cost: its tree
# holds only itself (Typer converts every command's parameters when it builds a tree: 0.1 s for
# all of kwa's). The command is the same function with the same options and help.
lint_app = typer.Typer(name="kwa", rich_markup_mode=None, context_settings=CONTEXT, add_completion=False)
lint_app.command("lint", context_settings=CONTEXT, epilog=EPILOG)(lint.lint)
lint_app.command("_", hidden=True)(lambda: None)  # two commands keep ``lint`` a subcommand
# ``kwa run`` (and ``python -m flows.run``) the same way: building the whole tree is wasted start-up.
run_app = typer.Typer(name="kwa", rich_markup_mode=None, context_settings=CONTEXT, add_completion=False)
run_app.command("run", context_settings=CONTEXT, epilog=EPILOG)(run.run)
run_app.command("_", hidden=True)(lambda: None)


# Every other top-level command the same way when it is the one invoked (``kwa query …``): a tree
# of that group alone is built in 1–13 ms, the whole tree in 35 (a third of a query's first page).
def _alone(name: str) -> Any:
    """The Click tree of ``kwa`` holding only the top-level command ``name`` (and a hidden one, so
    ``name`` stays a subcommand: its usage lines and errors read ``kwa name …`` as in the whole tree)."""
    tree = typer.Typer(name="kwa", rich_markup_mode=None, context_settings=CONTEXT, add_completion=False)
    _add(tree, name)
    tree.command("_", hidden=True)(lambda: None)
    return typer.main.get_command(tree)


def command(name: str | None = None) -> Any:
    """The Click command (Typer's) of the whole tree, or of one top-level command (``run``)."""
    if name is None:
        return typer.main.get_command(app)
    root = typer.main.get_command(run_app if name == "run" else app)
    found = root.get_command(typer.Context(root), name)  # type: ignore[attr-defined]
    assert found is not None, name
    return found


def main(argv: list[str] | None = None, out: TextIO | None = None, prog: str = "kwa", only: str | None = None) -> int:
    """Run ``kwa *argv`` (or, with ``only``, that one command: ``python -m flows.run`` is ``run``);
    its exit code. ``out`` (tests) receives what the read-only views print."""
    from cli.pipes import guard_streams
    from redaction import install

    install(streams=True)  # before anything can print, log or raise: no credential reaches the terminal
    guard_streams()  # `kwa … | head`: a reader that goes away ends the output quietly
    args = list(sys.argv[1:] if argv is None else argv)
    code = invoke(command(only) if only is not None else _tree_for(args), args, out, prog)
    if argv is None and out is None and (only == "run" or args[:1] == ["run"]):
        # The command line's own `kwa run`: once everything is delivered, the process ends
        # without freeing its heap object by object (kwa/quick_exit.py).
        from kwa import quick_exit

        if quick_exit.wanted():
            quick_exit.end(code)
    return code


def call(argv: list[str], out: TextIO | None = None) -> int:
    """``kwa *argv`` inside this process as it is (tests, embedding): no stream wrappers installed."""
    return invoke(_tree_for(argv), argv, out, "kwa")


def _tree_for(args: list[str]) -> Any:
    """The smallest tree that answers ``kwa *args`` as the whole tree would."""
    if args[:1] == ["lint"]:
        return typer.main.get_command(lint_app)
    if args[:1] == ["run"]:
        return typer.main.get_command(run_app)
    if args[:1] and args[0] in _TOP:
        return _alone(args[0])
    return command()


def invoke(cmd: Any, argv: list[str] | None, out: TextIO | None, prog: str) -> int:
    """``cmd`` with ``argv`` (default: ``sys.argv[1:]``), Click's usage errors shown as Click does."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cmd.main(args=args, prog_name=prog, standalone_mode=False, obj={"out": out})
    except typer.Abort:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except typer.TyperException as exc:  # Click's usage errors (Typer vendors Click): shown as Click does
        exc.show()  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", ExitCode.USAGE))
    return int(code) if isinstance(code, int) else ExitCode.OK
