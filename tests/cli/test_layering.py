"""cli is presentation: it depends on storage only, never on checks' execution or on flows/Prefect;
the read-only commands of the tree (kwa query, kwa runs list|get) load neither either."""

from __future__ import annotations

from tests.layering import forbidden_imports


def test_cli_imports_no_execution_or_orchestration_code() -> None:
    modules = [
        "kwa.app", "kwa.views.assessments", "kwa.views.runs", "cli.history", "cli.formatters.table",
        "cli.formatters.sarif", "cli.formatters.junit", "cli.formatters.csvout", "cli.formatters.structured",
        "cli.formatters.report", "kwa.values", "storage.queries", "storage.gates", "storage.grades", "cli.stream",
        "cli.pipes", "cli.formatters.text", "storage.counts", "cli.progress", "cli.runlogs",
    ]  # fmt: skip
    assert forbidden_imports(modules, {"checks", "flows", "prefect"}, then="kwa.app.command()") == []


def test_storage_query_modules_import_no_presentation_code() -> None:
    forbidden = {"checks", "flows", "prefect", "cli", "kwa", "pandas", "matplotlib", "rich"}
    assert forbidden_imports(["storage.queries", "storage.gates", "storage.grades"], forbidden) == []


def test_the_catalogue_and_the_pipe_guard_stay_light() -> None:
    """``kwa checks list`` (the console helpers) and every entry point's pipe guard import neither
    storage (SQLAlchemy) nor Prefect: a second of start-up for nothing."""
    forbidden = {"flows", "prefect", "storage", "sqlalchemy"}
    assert forbidden_imports(["cli.pipes", "cli.formatters.text"], forbidden) == []
    then = "import contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()): kwa.app.main(['checks', 'list'])"
    assert forbidden_imports(["kwa.app"], forbidden, then=then) == []
