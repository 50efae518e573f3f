"""cli is presentation: it depends on storage only, never on checks' execution or on flows/Prefect."""

from __future__ import annotations

from tests.layering import forbidden_imports


def test_cli_imports_no_execution_or_orchestration_code() -> None:
    modules = [
        "cli.main", "cli.query", "cli.runs", "cli.history", "cli.formatters.table", "cli.formatters.sarif",
        "cli.formatters.junit", "cli.formatters.csvout", "cli.formatters.structured", "cli.formatters.report",
        "cli.options", "cli.timeparse", "storage.queries", "storage.gates", "storage.grades", "cli.stream",
        "cli.pipes", "cli.formatters.text", "storage.counts",
    ]  # fmt: skip
    assert forbidden_imports(modules, {"checks", "flows", "prefect"}, then="cli.main.build_parser()") == []


def test_storage_query_modules_import_no_presentation_code() -> None:
    forbidden = {"checks", "flows", "prefect", "cli", "kwa", "pandas", "matplotlib", "rich"}
    assert forbidden_imports(["storage.queries", "storage.gates", "storage.grades"], forbidden) == []


def test_the_catalogue_and_the_pipe_guard_stay_light() -> None:
    """``kwa checks list`` (the console helpers) and every entry point's pipe guard import neither
    storage (SQLAlchemy) nor Prefect: a second of start-up for nothing."""
    forbidden = {"flows", "prefect", "storage", "sqlalchemy"}
    assert forbidden_imports(["cli.pipes", "cli.formatters.text"], forbidden) == []
    then = "import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()): kwa.cli.main(['checks', 'list'])"
    assert forbidden_imports(["kwa.cli"], forbidden, then=then) == []
