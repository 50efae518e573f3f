"""``kwa checks list|show``: the registered check catalogue, and one check in full.

Reads the registry only: neither Prefect nor kwa's database is loaded (tests/cli/test_layering.py).
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cli.errors import UsageError
from kwa.commands.common import CHECKS_DIR_OPTION, CONTEXT, GROUP_SETTINGS, PILLARS_OPTION, output_option
from kwa.errors import guarded
from kwa.exit_codes import ExitCode
from kwa.values import comma_list

app = typer.Typer(help="The check catalogue: list the checks, show one in full.", **GROUP_SETTINGS)

# The repository a source checkout runs from: where tests/checks/fixtures/<ID>/ lives.
REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path("tests") / "checks" / "fixtures"


@app.command("list", context_settings=CONTEXT)
def list_(
    pillar: Annotated[list[str] | None, PILLARS_OPTION] = None,
    output: Annotated[str, output_option(("table", "json", "yaml"))] = "table",
    checks_dir: Annotated[list[str] | None, CHECKS_DIR_OPTION] = None,
) -> int:
    """Every registered check: id, pillar, severity, mode and name."""
    return guarded(lambda: _list(comma_list(pillar), output, checks_dir or []))


@app.command(context_settings=CONTEXT)
def show(
    check_id: Annotated[str, typer.Argument(metavar="ID", help="a check id, e.g. SEC-017")],
    output: Annotated[str, output_option(("text", "json", "yaml"))] = "text",
    checks_dir: Annotated[list[str] | None, CHECKS_DIR_OPTION] = None,
) -> int:
    """One check in full: its rule, the settings it reads, its code, its fixtures, its peers' ids."""
    return guarded(lambda: _show(check_id, output, checks_dir or []))


def _load_checks_dirs(paths: list[str]) -> None:
    """The CEL checks of ``--checks-dir``, registered like ``kwa run`` does; a bad file is exit 2."""
    if not paths:
        return
    from checks.cel.files import load_paths
    from checks.metadata import CheckRegistrationError

    try:
        load_paths(paths)
    except CheckRegistrationError as exc:
        raise UsageError(str(exc)) from None


def _list(pillars: list[str], output: str, checks_dirs: list[str] = ()) -> int:  # type: ignore[assignment]
    from checks.registry import UnknownPillarError, load_all

    try:
        registry = load_all()
        _load_checks_dirs(list(checks_dirs))
        checks = registry.select(pillars, None)
    except UnknownPillarError as exc:
        raise UsageError(str(exc)) from None
    rows = [c.summary() for c in checks]
    if output in ("json", "yaml"):
        _structured(rows, output)
        return ExitCode.OK
    from rich.table import Table

    from cli.formatters.text import console_for, lit  # Rich only: the catalogue needs no storage

    table = Table(title=f"{len(rows)} checks")
    for col in ("id", "pillar", "severity", "mode", "name"):
        table.add_column(col)
    for r in rows:  # third-party checks register their own names: printed, never read as markup
        mode = r["mode"] + (" (opt-in)" if r["opt_in"] else "")
        table.add_row(*(lit(c) for c in (r["id"], r["pillar"], r["severity"], mode, r["name"])))
    console_for(sys.stdout).print(table)
    return ExitCode.OK


def describe(definition: Any, root: Path = REPO_ROOT) -> dict[str, Any]:
    """Everything ``kwa checks show`` prints about a registered check, as plain data."""
    if str(getattr(definition, "origin", "")).startswith("cel:"):
        return _describe_cel(definition, root)
    func = inspect.unwrap(definition.func)
    source = inspect.getsourcefile(func)
    line = inspect.getsourcelines(func)[1] if source else None
    fixtures_dir = root / FIXTURES / definition.id
    fixtures = sorted(p.name for p in fixtures_dir.iterdir() if p.is_file()) if fixtures_dir.is_dir() else []
    return {
        **definition.summary(),
        # The config keys the check reads (metadata kept with the check; older registries lack it).
        "settings": list(getattr(definition, "settings", ()) or ()),
        "code": {"file": _shown(source, root), "line": line, "function": func.__qualname__},
        "fixtures": {"directory": _shown(str(fixtures_dir), root) if fixtures else None, "files": fixtures},
    }


def _describe_cel(definition: Any, root: Path) -> dict[str, Any]:
    """A CEL check: its file for code, ``fixtures/<ID>/`` next to it, and its expressions."""
    place = definition.origin.removeprefix("cel:")
    fixtures_dir = Path(place).parent / "fixtures" / definition.id
    fixtures = sorted(p.name for p in fixtures_dir.iterdir() if p.is_file()) if fixtures_dir.is_dir() else []
    spec = getattr(definition.func, "cel_spec", None)
    cel = None
    if spec is not None:
        cel = {
            "variables": [{"name": n, "expression": p.source} for n, p in spec.variables],
            "validations": [
                {
                    "expression": v.expression.source,
                    "message": v.message,
                    "messageExpression": v.message_expression.source if v.message_expression else None,
                }
                for v in spec.validations
            ],
        }
    return {
        **definition.summary(),
        "settings": [],
        "code": {"file": _shown(place, root) if Path(place).exists() else place, "line": None, "function": "CEL"},
        "fixtures": {"directory": _shown(str(fixtures_dir), root) if fixtures else None, "files": fixtures},
        "cel": cel,
    }


def _shown(path: str | None, root: Path) -> str | None:
    """A path relative to the repository when it is inside it, else as it is."""
    if path is None:
        return None
    resolved = Path(path).resolve()
    return str(resolved.relative_to(root)) if resolved.is_relative_to(root) else str(resolved)


def _show(check_id: str, output: str, checks_dirs: list[str] = ()) -> int:  # type: ignore[assignment]
    from checks.model import canonical_id
    from checks.registry import load_all

    registry = load_all()
    _load_checks_dirs(list(checks_dirs))
    wanted = canonical_id(check_id)
    if wanted not in registry:
        raise UsageError(f"no check {check_id!r}: `kwa checks list` shows the checks there are")
    info = describe(registry.by_id(wanted))
    if output in ("json", "yaml"):
        _structured(info, output)
        return ExitCode.OK
    for line in _text(info):
        print(line)
    return ExitCode.OK


def _text(info: dict[str, Any]) -> list[str]:
    code, fixtures = info["code"], info["fixtures"]
    where = (
        f"{code['file']}:{code['line']}" if code["file"] and code["line"] else code["file"] or "(source not available)"
    )
    lines = [
        f"{info['id']}  {info['name']}",
        f"  pillar       {info['pillar']}",
        f"  severity     {info['severity']}",
        f"  mode         {info['mode']}" + (" (opt-in)" if info["opt_in"] else ""),
        f"  reads        {', '.join(info['requires']) or '-'}",
        f"  settings     {', '.join(info['settings']) or '-'}",
        f"  code         {where} ({code['function']})",
        f"  fixtures     {fixtures['directory'] or 'none'}",
        *(f"                 {name}" for name in fixtures["files"]),
        "  peers        " + ("; ".join(f"{tool}: {', '.join(ids)}" for tool, ids in info["peers"].items()) or "-"),
        "",
        "description",
        *(f"  {t}" for t in info["description"].splitlines()),
        "",
        "remediation",
        *(f"  {t}" for t in info["remediation"].splitlines()),
    ]
    for variable in (info.get("cel") or {}).get("variables", []):
        lines += ["", f"variables.{variable['name']}", *_indented(variable["expression"])]
    for i, validation in enumerate((info.get("cel") or {}).get("validations", [])):
        message = validation["message"] or validation["messageExpression"]
        lines += ["", f"validations[{i}]", *_indented(validation["expression"]), f"  message: {message}"]
    if info.get("docs_url"):
        lines += ["", f"docs  {info['docs_url']}"]
    return lines


def _indented(expression: str) -> list[str]:
    return [f"  {t}" for t in expression.strip().splitlines()]


def _structured(payload: Any, output: str) -> None:
    if output == "json":
        print(json.dumps(payload, indent=2))
    else:
        import yaml

        print(yaml.safe_dump(payload, sort_keys=False))
