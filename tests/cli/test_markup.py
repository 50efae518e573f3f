"""Stored text is never read as markup: every command, every format, on a run full of Rich markup.

Object names like ``web[/]``, paths like ``[/x]``, messages like ``Oops[/]``, a cluster id with
``[bold]``: each must print as itself, and no output may end in a MarkupError (issue 10: the final
report crashed, exit 1, so the CI gates after it were never evaluated).
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kwa.app import call as main
from storage.db import Database
from tests.cli import hostile

ALL = ("table", "json", "yaml", "csv", "sarif", "junit")
COMMANDS = {
    "list": (("query", "assessments", "list", "--run", hostile.RUN), ALL),
    "list-since": (("query", "assessments", "list", "--since", "3650d", "--cluster", hostile.CLUSTER), ("table",)),
    "summary": (("query", "assessments", "summary", "--cluster", hostile.CLUSTER), ALL),
    "gate": (("query", "assessments", "summary", "--run", hostile.RUN, "--fail-on", "low"), ("table", "json")),
    "history": (("query", "assessments", "history", "--cluster", hostile.CLUSTER), ("table", "json", "yaml", "csv")),
    "diff": (("query", "assessments", "diff", hostile.RUN_OLD, hostile.RUN), ("table", "json", "yaml", "csv")),
    "diff-latest": (("query", "assessments", "diff", "--cluster", hostile.CLUSTER), ("table",)),
    "get-run": (("query", "assessments", "get", hostile.RUN), ("table", "json", "yaml")),
    "runs-get": (("runs", "get", hostile.RUN), ("table", "json", "yaml")),
    "runs-list": (("runs", "list", "--cluster", hostile.CLUSTER), ("table", "json", "yaml", "csv")),
}  # fmt: skip
CASES = [(name, fmt) for name, (_, formats) in COMMANDS.items() for fmt in formats]


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'kwa.db'}"
    db = Database(url)
    hostile.build(db)
    db.dispose()
    yield url


@pytest.fixture
def run_cli(hostile_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("KWA_DATABASE_URL", hostile_url)

    def run(*argv: str) -> tuple[int, str, str]:
        out = io.StringIO()
        capsys.readouterr()
        code = main(list(argv), out=out)
        return code, out.getvalue(), capsys.readouterr().err

    return run


def _texts(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)
    elif isinstance(value, str):
        yield value


# What each command must show literally, in every format that carries it.
RESULT = (hostile.OBJECT, hostile.NAMESPACE, "Oops[/] [red]not red[/red]")
RUN_TEXT = (hostile.CLUSTER, hostile.ERROR, "Deployment: Oops[/] (403)", hostile.PROBLEM)
EXPECT = {
    "list": RESULT,
    "list-since": (*RESULT, hostile.CLUSTER),
    "summary": RUN_TEXT,
    "gate": RUN_TEXT,
    "history": (hostile.CLUSTER,),
    "diff": RESULT,
    "diff-latest": RESULT,
    "get-run": RUN_TEXT,
    "runs-get": RUN_TEXT,
    "runs-list": RUN_TEXT,
}
# Formats that carry only part of it: CSV has fixed columns, SARIF/JUnit carry results.
PARTIAL = {
    ("list", "sarif"): (hostile.NAMESPACE, hostile.OBJECT, "Oops[/] [red]not red[/red]"),
    ("summary", "csv"): (hostile.CHECK_NAME,),
    ("summary", "sarif"): (hostile.OBJECT, "Oops[/] [red]not red[/red]", "Deployment: Oops[/] (403)"),
    ("summary", "junit"): (*RESULT, "Deployment: Oops[/] (403)"),
    ("history", "csv"): (),
    ("runs-list", "csv"): (hostile.CLUSTER, hostile.ERROR),
    ("runs-list", "table"): (hostile.CLUSTER,),
}
WRAPPED = {"Oops[/] [red]not red[/red]": ("Oops[/]", "red[/red]")}  # a table may wrap a message


@pytest.mark.parametrize(("name", "fmt"), CASES)
def test_every_output_shows_markup_literally(run_cli, name: str, fmt: str) -> None:
    argv, _ = COMMANDS[name]
    code, out, err = run_cli(*argv, "-o", fmt)
    assert code == (6 if name == "gate" else 0), err
    assert "Traceback" not in err and "MarkupError" not in err + out
    if fmt == "table":
        texts = [out]
        if name == "gate":
            assert "[coverage] coverage" in out and "[fail-on]" in out
        assert "C:\\\\" not in out  # a trailing backslash is not doubled (rich.markup.escape would)
    else:
        texts = {
            "json": lambda: list(_texts(json.loads(out))),
            "sarif": lambda: list(_texts(json.loads(out))),
            "yaml": lambda: list(_texts(yaml.safe_load(out))),
            "csv": lambda: [c for row in csv.reader(io.StringIO(out)) for c in row],
            "junit": lambda: [v for el in ET.fromstring(out).iter() for v in (el.text or "", *el.attrib.values())],
        }[fmt]()
    joined = "\n".join(texts)
    for expected in PARTIAL.get((name, fmt), EXPECT[name]):
        for literal in WRAPPED.get(expected, (expected,)) if fmt == "table" else (expected,):
            assert literal in joined, f"{literal!r} not shown literally in {name} -o {fmt}:\n{joined[:3000]}"


def test_a_result_in_full(run_cli) -> None:
    code, out, _ = run_cli("query", "assessments", "list", "--run", hostile.RUN, "--status", "failing", "-o", "json")
    result_id = json.loads(out)["items"][0]["id"]
    code, out, err = run_cli("query", "assessments", "get", result_id)
    assert code == 0, err
    for literal in (hostile.OBJECT, hostile.NAMESPACE, hostile.CHECK_NAME, "[i][/]", "k8s/[/x]/app.yaml#0"):
        assert literal in out
    assert "Oops[/] [red]not red[/red] :smile: C:\\" in out  # emoji codes and a trailing backslash too


def test_the_run_report_shows_markup_literally(hostile_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``kwa run``'s final table (kwa.verdict.render → cli.formatters.report) on the same run."""
    from kwa.verdict import render, run_view

    db = Database(hostile_url)
    try:
        view = run_view(db, hostile.RUN)
    finally:
        db.dispose()
    render(view, "table")
    out = capsys.readouterr().out
    for literal in (hostile.CLUSTER, hostile.ERROR, hostile.PROBLEM, "Oops[/] (403)", f"KeyError: {hostile.MESSAGE}"):
        assert literal in out, out
    assert "incomplete" in out or "capped" in out  # a 403'd check and a failed one: coverage shows


def test_plot_title_is_not_mathtext(tmp_path: Path) -> None:
    from cli import history

    rows = [{"run_id": "r1", "finished_at": "2026-01-01T00:00:00+00:00", "state": "completed",
             "scores": {"overall": {"score": 50.0}, "pillars": {}}, "pillar_counts": {}, "total": 1}]  # fmt: skip
    pillars, _, frame = history.aggregate(rows)
    assert history.plot(r"prod$\frac{a$", pillars, frame, str(tmp_path / "t.png")) == "score per pillar"
    assert (tmp_path / "t.png").stat().st_size > 0
