"""``kwa frameworks list|show``: the compliance frameworks kwa maps its checks to.

Reads the framework files and the check registry (to validate them); neither Prefect nor kwa's
database is loaded.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from kwa.commands.common import CONTEXT, GROUP_SETTINGS, output_option
from kwa.errors import guarded
from kwa.exit_codes import ExitCode

app = typer.Typer(help="Compliance frameworks (NSA/CISA, CIS, …): list them, show one's controls.", **GROUP_SETTINGS)


@app.command("list", context_settings=CONTEXT)
def list_(output: Annotated[str, output_option(("table", "json", "yaml"))] = "table") -> int:
    """Every framework: name (the --framework value), title, version, controls and coverage by kwa."""
    return guarded(lambda: _list(output))


@app.command(context_settings=CONTEXT)
def show(
    name: Annotated[str, typer.Argument(metavar="NAME", help="a framework name, e.g. nsa")],
    output: Annotated[str, output_option(("table", "json", "yaml"))] = "table",
) -> int:
    """One framework's controls: reference, mapped checks and the note on each mapping decision."""
    return guarded(lambda: _show(name, output))


def _structured(kind: str, payload: dict[str, Any], output: str) -> None:
    from cli.formatters.structured import write_json, write_yaml

    (write_json if output == "json" else write_yaml)(kind, payload, sys.stdout)


def _list(output: str) -> int:
    from kwa.frameworks import names
    from kwa.views.frameworks import framework_option

    briefs = [framework_option(n).brief() for n in names()]  # type: ignore[union-attr]
    if output in ("json", "yaml"):
        _structured("FrameworkList", {"items": briefs}, output)
        return ExitCode.OK
    from cli.formatters.frameworks import framework_list

    framework_list(briefs, sys.stdout)
    return ExitCode.OK


def _show(name: str, output: str) -> int:
    from kwa.views.frameworks import framework_option

    framework = framework_option(name).as_dict()  # type: ignore[union-attr]
    if output in ("json", "yaml"):
        _structured("Framework", framework, output)
        return ExitCode.OK
    from cli.formatters.frameworks import framework_show

    framework_show(framework, sys.stdout)
    return ExitCode.OK
