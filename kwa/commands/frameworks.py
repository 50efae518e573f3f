"""``kwa frameworks list|show``: the compliance frameworks kwa maps its checks to.

Reads the framework files and the check registry (to validate them); neither Prefect nor kwa's
database is loaded.
"""

from __future__ import annotations

from typing import Annotated, Any, TextIO

import typer

from kwa.commands.common import CONTEXT, GROUP_SETTINGS, output_option, stream
from kwa.errors import guarded, say_error
from kwa.exit_codes import ExitCode

app = typer.Typer(help="Compliance frameworks (NSA/CISA, CIS, …): list them, show one's controls.", **GROUP_SETTINGS)


@app.command("list", context_settings=CONTEXT)
def list_(ctx: typer.Context, output: Annotated[str, output_option(("table", "json", "yaml"))] = "table") -> int:
    """Every framework: name (the --framework value), title, version, controls and coverage by kwa."""
    return guarded(lambda: _list(output, stream(ctx)))


@app.command(context_settings=CONTEXT)
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="a framework name, e.g. nsa")],
    output: Annotated[str, output_option(("table", "json", "yaml"))] = "table",
) -> int:
    """One framework's controls: reference, mapped checks and the note on each mapping decision."""
    return guarded(lambda: _show(name, output, stream(ctx)))


def _structured(kind: str, payload: dict[str, Any], output: str, out: TextIO) -> None:
    from cli.formatters.structured import write_json, write_yaml

    (write_json if output == "json" else write_yaml)(kind, payload, out)


def _list(output: str, out: TextIO) -> int:
    from cli.errors import UsageError
    from kwa.frameworks import names
    from kwa.views.frameworks import framework_option

    briefs = []
    for name in names():
        try:
            briefs.append(framework_option(name).brief())  # type: ignore[union-attr]
        except UsageError as exc:  # one broken file is said, the others are still listed
            say_error(exc)
    if output in ("json", "yaml"):
        _structured("FrameworkList", {"items": briefs}, output, out)
        return ExitCode.OK
    from cli.formatters.frameworks import framework_list

    framework_list(briefs, out)
    return ExitCode.OK


def _show(name: str, output: str, out: TextIO) -> int:
    from kwa.views.frameworks import framework_option

    framework = framework_option(name).as_dict()  # type: ignore[union-attr]
    if output in ("json", "yaml"):
        _structured("Framework", framework, output, out)
        return ExitCode.OK
    from cli.formatters.frameworks import framework_show

    framework_show(framework, out)
    return ExitCode.OK
