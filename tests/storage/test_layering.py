"""Storage is the persistence layer: execution and presentation depend on it, never the reverse."""

from __future__ import annotations

from tests.layering import forbidden_imports


def test_storage_imports_no_execution_or_presentation_code() -> None:
    modules = [
        "storage", "storage.db", "storage.models", "storage.runs", "storage.results",
        "storage.queries", "storage.gates", "storage.scores", "storage.phases", "storage.queue",
        "storage.findings", "storage.retention", "storage.prefect_sync", "storage.assessed",
    ]  # fmt: skip
    assert forbidden_imports(modules, {"checks", "flows", "prefect", "cli", "kwa"}) == []
