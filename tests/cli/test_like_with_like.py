"""``history`` and ``diff`` compare like with like (one cluster, one scope), say which runs they
compare, and refuse unlike runs with a usage error; the plot shows every run it counts.

On the shared database (builder.py): ``prod-eu`` has two full runs; ``staging`` a failed
``pillar:security`` run and a completed ``check:SEC-002`` run.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from cli import history
from tests.cli.builder import RUN_1, RUN_2, RUN_FAILED, RUN_WARN


def test_history_without_a_cluster_lists_the_clusters_and_exits_2(kwa) -> None:
    code, out, err = kwa("query", "assessments", "history")
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "error: runs of 2 clusters are stored: name one with --cluster ID"
    assert lines[1].startswith(f"  staging  2 runs  latest {RUN_WARN} 2026-02-11 11:00 UTC completed (check:SEC-002)")
    assert lines[2].startswith(f"  prod-eu  2 runs  latest {RUN_2} 2026-02-11 09:00 UTC partial (full)")


def test_history_asks_which_cluster_on_a_terminal(kwa, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "2")
    code, out, err = kwa("query", "assessments", "history", "-o", "json")
    assert code == 0, err
    assert "which one?" in err and "    2  prod-eu  2 runs" in err
    doc = json.loads(out)
    assert doc["cluster_id"] == "prod-eu" and [i["run_id"] for i in doc["items"]] == [RUN_1, RUN_2]

    monkeypatch.setattr("builtins.input", lambda prompt: "nowhere")
    code, _, err = kwa("query", "assessments", "history")
    assert code == 2 and "no cluster 'nowhere' among the 2 listed" in err


def test_history_keeps_to_one_scope_and_says_what_it_left_out(kwa) -> None:
    code, out, _ = kwa("query", "assessments", "history", "--cluster", "staging", "-o", "json")
    assert code == 0
    doc = json.loads(out)
    # no full run in staging: the latest run's scope, and the other scope counted, not mixed in
    assert doc["scope"] == "check:SEC-002" and doc["scope_chosen"] == "the latest run's"
    assert [i["run_id"] for i in doc["items"]] == [RUN_WARN] and doc["other_scopes"] == {"pillar:security": 1}

    code, out, _ = kwa("query", "assessments", "history", "--cluster", "staging")
    assert "History of cluster staging · scope check:SEC-002: 1 run(s)" in out
    assert "not shown: 1 run of other scopes than check:SEC-002 (pillar:security ×1)" in out

    argv = ("query", "assessments", "history", "--cluster", "staging")
    code, out, _ = kwa(*argv, "--scope", "pillar:security", "-o", "json")
    assert [i["run_id"] for i in json.loads(out)["items"]] == [RUN_FAILED]
    code, out, _ = kwa("query", "assessments", "history", "--cluster", "staging", "--any-scope", "-o", "csv")
    assert code == 0 and [line.split(",")[0] for line in out.splitlines()[1:]] == [RUN_FAILED, RUN_WARN]
    assert out.splitlines()[0].startswith("run_id,finished_at,state,trigger,scope,")

    code, _, err = kwa("query", "assessments", "history", "--cluster", "staging", "--scope", "pillar:securty")
    assert code == 2 and "unknown pillar 'securty'" in err
    code, _, err = kwa("query", "assessments", "history", "--scope", "full", "--any-scope")
    assert code == 2 and "exclude each other" in err


def test_diff_refuses_unlike_runs_unless_asked(kwa) -> None:
    code, out, err = kwa("query", "assessments", "diff", RUN_1, RUN_WARN)
    assert code == 2 and out == ""
    assert "are of different clusters ('prod-eu' and 'staging')" in err and "--any-cluster" in err
    code, _, err = kwa("query", "assessments", "diff", RUN_1, RUN_WARN, "--any-cluster")
    assert code == 2 and f"{RUN_1} (full) and {RUN_WARN} (check:SEC-002) assessed different scopes" in err
    code, out, err = kwa("query", "assessments", "diff", RUN_1, RUN_WARN, "--any-cluster", "--any-scope", "-o", "json")
    assert code == 0, err
    compared = json.loads(out)["compared"]
    assert compared["cluster_id"] is None and compared["clusters"] == ["prod-eu", "staging"]
    assert compared["scope"] is None and compared["scopes"] == ["full", "check:SEC-002"]
    code, out, _ = kwa("query", "assessments", "diff", RUN_1, RUN_WARN, "--any-cluster", "--any-scope")
    assert "(2026-02-10 09:00:00, full) →" in out
    assert "(2026-02-11 11:00:00, check:SEC-002) · cluster prod-eu vs staging" in out


def test_diff_without_run_ids_picks_two_like_runs_and_says_which(kwa) -> None:
    code, out, err = kwa("query", "assessments", "diff", "--cluster", "prod-eu")
    assert code == 0, err
    head = " ".join(out.split("\nnew failures")[0].split())  # the header, however the terminal wraps it
    assert head == (
        f"Diff {RUN_1} (2026-02-10 09:00:00, full) → {RUN_2} (2026-02-11 09:00:00, full) · cluster prod-eu · "
        "the latest two finished full runs of cluster prod-eu"
    )
    code, out, err = kwa("query", "assessments", "diff", "--cluster", "prod-eu", "-o", "csv")
    assert f"compared {RUN_1} (2026-02-10 09:00:00, full) → {RUN_2}" in err  # the CSV has no room for it
    # staging's latest comparable run is its only check:SEC-002 run; its failed run has nothing to compare
    code, _, err = kwa("query", "assessments", "diff", "--cluster", "staging")
    assert code == 2 and f"cluster staging has one completed or partial check:SEC-002 run ({RUN_WARN})" in err
    code, _, err = kwa("query", "assessments", "diff", "--cluster", "staging", "--scope", "pillar:security")
    assert code == 2 and "no completed or partial pillar:security run of cluster staging" in err
    code, _, err = kwa("query", "assessments", "diff", RUN_1, RUN_2, "--scope", "full")
    assert code == 2 and "give it without run ids" in err


def test_the_plot_shows_every_run_it_counts() -> None:
    """Four runs in one afternoon and one a month before, one of them failed (no score): five places
    on the x axis, each with its point or its "no score" mark, 0 and 100 inside the frame."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    times = [start, start + timedelta(days=30), *(start + timedelta(days=30, minutes=m) for m in (1, 2, 3))]
    rows = []
    for i, at in enumerate(times):
        failed = i == 2
        scores = None if failed else {
            "overall": {"score": 70.0 + i, "coverage": 100.0},
            "pillars": {"security": {"score": 100.0, "coverage": 100.0},
                        "cost": {"score": 40.0 + i, "coverage": 100.0}},
        }  # fmt: skip
        rows.append({
            "run_id": f"run_{i}", "finished_at": at, "state": "failed" if failed else "completed",
            "scores": scores, "pillar_counts": {"security": {"failing": 0}, "cost": {"failing": i}},
            "total": 10, "scope": "full",
        })  # fmt: skip
    pillars, records, frame = history.aggregate(rows)
    assert len(records) == 5
    fig, what = history.figure("shop", pillars, frame, "full")
    ax = fig.axes[0]
    shown: set[int] = set()
    for artist in ax.lines:
        xs, ys = artist.get_data()
        shown |= {int(x) for x, y in zip(xs, ys, strict=True) if y is not None and not math.isnan(float(y))}
    for collection in ax.collections:  # the "no score" marks
        shown |= {int(x) for x, _ in collection.get_offsets()}
    assert shown == {0, 1, 2, 3, 4}
    assert ax.get_xlim()[0] < 0 and ax.get_xlim()[1] > 4
    low, high = ax.get_ylim()
    assert low < 0 and high > 100  # a pillar at 100 is drawn inside the frame
    assert ax.get_xlabel().startswith("run #, oldest to newest: 5 runs") and ax.get_ylabel().startswith("score")
    assert ax.get_title() == "kwa · shop · scope full · score per pillar" and what == "score per pillar"
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "#1\n2026-01-01\n00:00" and labels[-1] == "#5\n2026-01-31\n00:03"
