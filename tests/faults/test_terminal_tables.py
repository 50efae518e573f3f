"""Tables adapt to a pipe, every view shows a score by one rule, ages read as people say them.

Issue 11: piped tables cut pillar names and states ("operational-excel…"), a pillar-scoped run
showed "80 C" under "80 B" (a grade decided on one number shown beside another), and ``prune``
printed "90 days, 0:00:00 ago".
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from storage.grades import compact_score_text, number_text, score_text
from tests.faults import terminal_data
from tests.faults.harness import Kwa, Outcome, assert_no_traceback

ANSI = re.compile(r"\x1b\[")
LONG_NAME = "service-0000-with-a-rather-long-name"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("tables") / "kwa.db"
    return path, terminal_data.build(path, runs=2, objects=30)


@pytest.fixture
def stored(kwa_offline: Kwa, template: tuple[Path, list[str]]) -> list[str]:
    shutil.copyfile(template[0], kwa_offline.db_path)
    return template[1]


@pytest.mark.parametrize("columns", ["40", "200"])
def test_piped_tables_cut_nothing_and_have_no_colour(kwa_offline: Kwa, stored: list[str], columns: str) -> None:
    """Whatever COLUMNS says and however wide the rows, a pipe gets every id, state and pillar whole."""
    views = {
        ("runs", "list"): [terminal_data.LONG_CLUSTER, *stored, "completed"],
        ("runs", "get", stored[-1]): [terminal_data.LONG_CLUSTER, "operational-excellence", "sustainability"],
        ("query", "assessments", "summary"): [terminal_data.LONG_CLUSTER, "operational-excellence", "SEC-001 check"],
        ("query", "assessments", "list", "--limit", "10"): [stored[-1], f"Deployment/team-0/{LONG_NAME}:app"],
        ("query", "assessments", "history"): [*stored, "completed"],
        ("query", "assessments", "diff"): [*stored],
        ("checks", "list"): ["operational-excellence", "sustainability", "OPS-001", "manifest (opt-in)"],
    }  # fmt: skip
    for argv, whole in views.items():
        got = kwa_offline(*argv, COLUMNS=columns, FORCE_COLOR="", TERM="xterm-256color")
        assert got.code == 0, (argv, got.text)
        assert_no_traceback(got.out, got.err)
        assert "…" not in got.out, (argv, got.out)
        assert not ANSI.search(got.out), argv
        for text in whole:
            assert text in got.out, (argv, text, got.out)


def test_prune_says_ages_as_people_do(kwa_offline: Kwa, stored: list[str]) -> None:
    got = kwa_offline("runs", "prune", "--older-than", "90d")
    assert got.code == 0 and got.out == "removed 0 runs finished more than 90 days ago\n", got.text
    got = kwa_offline("runs", "prune", "--older-than", "1d12h")
    assert got.out == "removed 0 runs finished more than 1 day 12 hours ago\n"
    assert len(Outcome(0, "", "", kwa_offline.home, kwa_offline.db_path).runs()) == 2  # nothing was that old


@pytest.mark.prefect
def test_every_view_shows_the_score_its_grade_was_decided_on(kwa: Kwa) -> None:
    """A pillar-scoped run of the demo: the report, the summary, the run list, the run's page and
    the history show the stored score by one rule, with the stored grade."""
    ran = kwa("run", "--demo", "--pillar", "security", COLUMNS="50")
    assert ran.code == 0, ran.text
    run = ran.run()
    summary = json.loads(kwa("query", "assessments", "summary", "-o", "json").out)
    overall, security = summary["scores"]["overall"], summary["scores"]["pillars"]["security"]
    shown, compact = score_text(security), compact_score_text(security)
    assert number_text(security["score"]) in shown and security["grade"] in shown
    assert re.search(rf"│ security +│ +{re.escape(compact)} │", ran.out), ran.out  # the run's report
    assert re.search(rf"│ total +│ +{re.escape(compact_score_text(overall))} │", ran.out)
    assert "…" not in ran.out and not ANSI.search(ran.out)
    for argv in (("query", "assessments", "summary"), ("runs", "get", run["run_id"]), ("runs", "list")):
        view = kwa(*argv, COLUMNS="50")
        assert view.code == 0 and score_text(overall) in view.out, (argv, view.out)
    history = kwa("query", "assessments", "history", COLUMNS="50")
    assert number_text(overall["score"]) in history.out
