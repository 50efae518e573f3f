"""One rule for every number kwa shows: cut toward zero, never rounded (storage.grades).

The case that made the rule: a grade decided on one number shown beside another ("80 C" under
"80 B"). With the rule, the number shown is the number the grade, the band and the gate were
decided on, in every output.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from cli.formatters.common import api_server_line, fmt_ms, not_evaluated_lines, ratio_text
from cli.formatters.report import report_score, run_report
from storage.grades import (
    age_text,
    compact_score_text,
    coverage_text,
    cut,
    grade,
    number_text,
    percent_text,
    score_text,
    signed_text,
    verdict,
)


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        (79.96, 1, 79.9),
        (79.9, 1, 79.9),  # already one decimal: kept exactly (79.9 * 10 is 798.9999…)
        (0.29, 2, 0.29),  # 0.29 * 100 is 28.999999999999996
        (80.0, 1, 80.0),
        (99.999, 1, 99.9),
        (-12.15, 1, -12.1),  # toward zero
        (3.0999999999999943, 1, 3.1),  # 83.5 - 80.4 in floating point
        (999.7, 0, 999.0),
    ],
)
def test_cut_is_toward_zero_and_exact_for_values_that_have_the_decimals(value, places, expected) -> None:
    assert cut(value, places) == expected


def test_texts() -> None:
    assert [number_text(v) for v in (80.4, 80.0, 79.96, 100, 0, -0.04, None, float("nan"), True)] == [
        "80.4", "80", "79.9", "100", "0", "0", "-", "-", "-",
    ]  # fmt: skip
    assert [signed_text(v) for v in (3.0999999999999943, -12.1, 0, 0.04, None)] == ["+3.1", "-12.1", "0", "0", "-"]
    assert [percent_text(v) for v in (99.96, 100.0, 87.5, None)] == ["99.9 %", "100 %", "87.5 %", "-"]
    assert coverage_text(69.0) == "69 %"
    assert ratio_text(199, 200) == "99.5 %" and ratio_text(19_999, 20_000) == "99.9 %" and ratio_text(0, 0) == "-"


def test_the_number_shown_and_its_grade_always_agree() -> None:
    """The grade of the number shown is the grade of the stored number: no score shows as a
    number of another band than its letter (the "80 C" under "80 B")."""
    for score in [x / 1000 for x in range(0, 100_001, 7)] + [79.96, 89.99, 59.999, 80.0, 90.0, 0.1 + 0.2]:
        entry = verdict(score, 100.0)
        shown = number_text(entry["score"])
        assert grade(float(shown)) == entry["grade"], (score, shown, entry["grade"])
        assert score_text(entry) == f"{shown} ({entry['grade']})"
        assert report_score(entry) == compact_score_text(entry) == f"{shown} {entry['grade']}"


def test_every_score_view_shows_the_same_number() -> None:
    capped = {"score": 91.47, "grade": "D", "grade_capped": True, "coverage": 69.96}
    assert score_text(capped) == "91.4 (D, capped)"
    assert report_score(capped) == "91.4 D (capped)"
    assert coverage_text(capped["coverage"]) == "69.9 %"
    assert report_score({"incomplete": True, "score": None}) == score_text({"incomplete": True}) == "incomplete"
    assert report_score(None) == score_text(None) == "-"


def test_the_run_report_shows_the_stored_number_with_its_grade() -> None:
    view = {
        "run": {"run_id": "run_x", "cluster_id": "c", "state": "completed"},
        "pillars": {"security": {"checks": 31, "passing": 1}},
        "scores": {
            "pillars": {"security": {"score": 79.9, "grade": "C", "coverage": 99.96}},
            "overall": {"score": 79.9, "grade": "C", "coverage": 99.96},
        },
    }
    out = io.StringIO()
    run_report(view, out)
    text = out.getvalue()
    assert "79.9 C" in text and "99.9 %" in text and "80 " not in text and "100 %" not in text


def test_durations_are_cut() -> None:
    assert [fmt_ms(v) for v in (None, 0, 999.7, 1000, 59_960, 60_000, 125_400, 3_840_000)] == [
        "-", "0 ms", "999 ms", "1.0 s", "59.9 s", "1 min 00 s", "2 min 05 s", "1 h 04 min",
    ]  # fmt: skip


def test_partly_evaluated_checks_show_the_cut_share() -> None:
    scores = {"not_evaluated": [{"check_id": "REL-001", "pillar": "reliability", "why": "partial", "evaluated": 0.999,
                                 "message": "1 of 1000 results are error/timeout", "applicable": True}]}  # fmt: skip
    assert not_evaluated_lines(scores) == [
        "REL-001 (reliability) partial, 99.9 % evaluated: 1 of 1000 results are error/timeout"
    ]


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (timedelta(days=90), "90 days"),
        (timedelta(days=1, hours=12), "1 day 12 hours"),
        (timedelta(days=1, minutes=5), "1 day"),  # the largest units, contiguous, cut
        (timedelta(days=89, hours=23, minutes=59), "89 days 23 hours"),  # never rounded up to 90 days
        (timedelta(minutes=10), "10 minutes"),
        (timedelta(seconds=45), "45 seconds"),
        (timedelta(seconds=1), "1 second"),
        (timedelta(days=36525), "100 years"),
        (timedelta(days=365), "365 days"),
        (timedelta(days=400), "1 year 34 days"),
        (timedelta(0), "0 seconds"),
        (3600, "1 hour"),
    ],
)
def test_ages_read_as_people_say_them(age, text: str) -> None:
    assert age_text(age) == text
    assert "0:00" not in age_text(age)


def test_the_run_report_says_what_a_live_read_cost_the_api_server() -> None:
    stats = {
        "requests": 812,
        "bytes_read": 1_912_000_000,
        "bytes_wire": 310_400_000,
        "wall_s": 14.23,
        "max_concurrency": 4,
        "watch_cache": "used",
    }
    assert api_server_line(stats) == "812 requests, 1.9 GB read (310.4 MB on the wire) in 14.2 s, 4 concurrent"
    rejected = {**stats, "watch_cache": "rejected (HTTP 400): plain first pages"}
    assert api_server_line(rejected).endswith("; watch cache rejected (HTTP 400): plain first pages")
    timed_out = {**stats, "watch_cache": "timed out (Pod): plain pages from then on"}
    assert api_server_line(timed_out).endswith("; watch cache timed out (Pod): plain pages from then on")
    assert api_server_line(None) is None and api_server_line({"requests": "many"}) is None
    view = {"run": {"run_id": "run_x", "cluster_id": "c", "state": "completed"}, "api_server": stats}
    out = io.StringIO()
    run_report(view, out)
    assert "API server: 812 requests, 1.9 GB read (310.4 MB on the wire) in 14.2 s, 4 concurrent" in out.getvalue()
    out = io.StringIO()
    run_report({**view, "api_server": None}, out)  # manifests: no line
    assert "API server" not in out.getvalue()
