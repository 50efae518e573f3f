"""cli is presentation: it depends on storage only, never on checks' execution or on flows/Prefect."""

from __future__ import annotations

from tests.layering import forbidden_imports


def test_cli_imports_no_execution_or_orchestration_code() -> None:
    modules = [
        "cli.main", "cli.query", "cli.runs", "cli.history", "cli.formatters.table", "cli.formatters.sarif",
        "cli.formatters.junit", "cli.formatters.csvout", "cli.formatters.structured", "cli.formatters.report",
        "cli.options", "cli.timeparse", "storage.queries", "storage.gates", "storage.grades",
    ]  # fmt: skip
    assert forbidden_imports(modules, {"checks", "flows", "prefect"}, then="cli.main.build_parser()") == []


def test_storage_query_modules_import_no_presentation_code() -> None:
    forbidden = {"checks", "flows", "prefect", "cli", "kwa", "pandas", "matplotlib", "rich"}
    assert forbidden_imports(["storage.queries", "storage.gates", "storage.grades"], forbidden) == []
