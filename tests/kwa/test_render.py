"""The final report prints stored text as text: Rich markup in a path, a name or a reason never
crashes it (the CI gates come after the report: a crash there would skip them)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

HOSTILE = ["[/x]", "web[/]", "Oops[/]", "[bold red]", "[link=http://x]y[/link]", "[/]"]


def _view(text: str) -> dict:
    return {
        "run": {"run_id": f"run_{text}", "cluster_id": f"prod{text}", "state": "partial", "error": f"API said {text}"},
        "pillars": {"security": {"checks": 1, "passing": 1}},
        "scores": {"pillars": {"security": {"score": 80.0, "grade": "B"}}, "overall": {"score": 80.0, "grade": "B"}},
        "checks_not_executed": {f"SEC-{text}": {"outcome": "errored", "message": f"Status reason {text}"}},
        "problems": [f"k8s{text}/app.yaml#0: not a mapping"],
        "problems_total": 3,
        "unavailable": {"Deployment": f"forbidden: {text}"},
        "objects": 1,
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_markup_in_stored_text_prints_verbatim(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    from kwa.verdict import render

    render(_view(text), "table")  # stdout is a pipe here: the report's piped width
    printed = capsys.readouterr().out
    for expected in (f"cluster prod{text}", f"API said {text}", f"Status reason {text}", f"k8s{text}/app.yaml#0",
                     f"forbidden: {text}"):
        assert expected in printed, (expected, printed)
    assert "2 more skipped input(s)" in printed


def test_progress_and_fleet_tables_escape_names() -> None:
    from datetime import UTC, datetime

    from cli.progress import render_progress

    snapshot = {
        "run": {"run_id": "r", "cluster_id": "web[/]\x1b]0;t\x07", "state": "running", "phase": "running",
                "started_at": datetime.now(UTC), "completed_at": None},
        "pillars": {"security[/x]": {"total": 2, "done": 1, "counts": {"passing": 1}}},
    }
    out = io.StringIO()
    Console(file=out, width=200).print(render_progress(snapshot))
    assert "web[/]\\x1b]0;t\\x07" in out.getvalue() and "security[/x]" in out.getvalue()
    assert "\x1b]" not in out.getvalue()
