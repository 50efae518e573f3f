"""Storage is the persistence layer: execution and presentation depend on it, never the reverse."""

from __future__ import annotations

from tests.layering import forbidden_imports


def test_storage_imports_no_execution_or_presentation_code() -> None:
    modules = [
        "storage", "storage.db", "storage.models", "storage.runs", "storage.results", "storage.bench",
        "storage.queries", "storage.gates", "storage.scores", "storage.lifecycle",
    ]  # fmt: skip
    assert forbidden_imports(modules, {"checks", "flows", "prefect", "cli", "kwa"}) == []
