"""Pieces every command group shares: the ``--output`` option, the output stream, and how a
read-only command opens kwa's database and hands its options to its view."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, TextIO

import typer

from kwa.errors import guarded
from kwa.exit_codes import epilog
from kwa.values import choice_option, list_option

EPILOG = epilog()
# Plain Click help (no Rich panels): a help text is printed as written, never read as markup.
GROUP_SETTINGS: dict[str, Any] = {"no_args_is_help": True, "rich_markup_mode": None, "epilog": EPILOG}
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


def output_option(formats: tuple[str, ...], what: str = "output format") -> Any:
    """``--output/-o`` with its choices listed in the help."""
    return choice_option("--output", "-o", choices=formats, help=f"{what}: {', '.join(formats)}")


def stream(ctx: typer.Context) -> TextIO:
    """Where the command prints: a test's buffer when ``kwa.app.main(out=…)`` was given one."""
    out = (ctx.obj or {}).get("out") if isinstance(ctx.obj, dict) else None
    return out if out is not None else sys.stdout


def read(ctx: typer.Context, view: Callable[[Any, SimpleNamespace, TextIO], int], **options: Any) -> int:
    """Run a read-only view over kwa's database (never creating one); its exit code."""
    from kwa.session import open_database

    def body() -> int:
        prepare = options.pop("_prepare", None)
        args = SimpleNamespace(**options)
        if prepare is not None:
            prepare(args)  # values that need no database are checked before it is opened
        db = open_database()
        try:
            return view(db, args, stream(ctx))
        finally:
            db.dispose()

    return guarded(body)


# The selection options of run, lint, fleet and checks list (query filters name their own nouns).
CHECKS_OPTION = list_option("--check", "check", metavar="ID", help="only these checks (repeat, or a,b)")
PILLARS_OPTION = list_option("--pillar", "pillar", metavar="P", help="only these pillars (repeat, or a,b)")
CHECKS_DIR_OPTION = typer.Option(
    "--checks-dir", metavar="DIR", help="load the CEL checks (kind: Check YAML) in this directory or file; repeatable"
)


def assessment_options(a: Any) -> tuple[Any, Any, Any, list[Any], Any]:
    """What ``kwa run`` and ``kwa lint`` check before anything is read: the gates
    (``fail_on``, ``min_score``, ``min_coverage``), the CEL checks of ``--checks-dir`` (loaded
    before the configuration, which may name them), the configuration and the selected checks; any
    bad value is a :class:`cli.errors.UsageError` (exit 2) naming it."""
    from checks.config import Config, ConfigError
    from checks.metadata import CheckRegistrationError
    from checks.registry import UnknownCheckError, UnknownPillarError, load_all
    from cli.errors import UsageError
    from storage.gates import GateError, parse_fail_on, parse_min_coverage, parse_min_score

    try:
        fail_on, min_score = parse_fail_on(a.fail_on), parse_min_score(a.min_score)
        min_coverage = parse_min_coverage(a.min_coverage, requested=bool(fail_on or min_score))
        registry = load_all()
        if getattr(a, "checks_dirs", None):
            from checks.cel.files import load_paths  # the CEL engine only when there are CEL checks

            load_paths(a.checks_dirs)
        config = Config.load(a.config)
        return fail_on, min_score, min_coverage, registry.select(a.pillars, a.checks), config
    except (GateError, UnknownCheckError, UnknownPillarError, ConfigError, CheckRegistrationError) as exc:
        raise UsageError(str(exc)) from None


def hint_if_stdin_is_a_terminal(paths: list[str] | None, command: str) -> None:
    """Say so before ``-`` waits on a terminal: without a pipe, manifests are read from what is
    typed until Ctrl-D, and a forgotten pipe looked like a hang."""
    if paths and "-" in paths and sys.stdin is not None and sys.stdin.isatty():
        print(
            f"{command}: reading manifests from the terminal (stdin): paste them and press Ctrl-D, or pipe "
            f"them in (kubectl get all -A -o yaml | {command} -)",
            file=sys.stderr,
            flush=True,
        )
