"""bench.scale's derived numbers and summary, from small fake results; its /proc measurements."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from bench.proctree import run_measured, tree
from bench.scale import import_breakdown, stage_breakdown
from bench.scale_report import derive, summary_markdown, targets


def _mode(seconds: float, pss_mb: float) -> dict[str, Any]:
    stages = {"start-up": 1.0, "queued": 0.1, "waiting": 0.0, "initializing": 0.5, "running": seconds - 2, "exit": 0.4}
    return {
        "seconds": seconds,
        "cpu_s": seconds * 1.5,
        "tree_pss_mb": pss_mb,
        "tree_rss_mb": pss_mb * 2,
        "max_rss_mb": pss_mb * 0.8,
        "server_cpu_s": 1.0,
        "load_before": 0.5,
        "state": ["completed"],
        "exit": [0],
        "stages": stages,
        "runs": [{"api_double": None, "state": "completed", "exit": 0, "killed_over_limit": False}],
    }


def _result(size: str, objects: int, seconds: float, pss_mb: float) -> dict[str, Any]:
    return {
        "size": size,
        "objects": objects,
        "shape": "envelope",
        "dump": {"mb": objects / 200, "kinds": {"Pod": objects // 3, "Node": objects // 80}},
        "live": _mode(seconds, pss_mb),
        "json": _mode(seconds * 0.9, pss_mb * 0.9),
    }


@pytest.fixture
def results() -> list[dict[str, Any]]:
    # Given out of order: derive sorts by size.
    out = [_result("100k", 100_000, 40.0, 800.0), _result("10k", 10_000, 5.0, 200.0)]
    derive(out)
    return out


def test_cost_per_object_and_its_ratio_between_sizes(results: list[dict[str, Any]]) -> None:
    small, large = results
    assert small["size"] == "10k" and small["live"]["linearity"] is None
    assert small["live"]["per_object"]["us"] == pytest.approx(500.0)  # 5 s / 10,000
    assert large["live"]["per_object"]["us"] == pytest.approx(400.0)
    lin = large["live"]["linearity"]
    assert lin["vs"] == "10k"
    assert lin["seconds_ratio"] == lin["cpu_ratio"] == pytest.approx(0.8)  # CPU is 1.5 × wall here
    assert lin["bytes_ratio"] == pytest.approx((800 / 100_000) / (200 / 10_000))
    assert lin["marginal_us"] == pytest.approx(35.0 / 90_000 * 1e6)
    assert lin["marginal_bytes"] == pytest.approx(600 * 2**20 / 90_000)


def test_targets_are_checked_per_size_and_mode(results: list[dict[str, Any]]) -> None:
    rows = {what: (value, met) for what, value, _, met in targets(results)}
    assert rows["10k live: wall ≤ 3 s"] == (5.0, False)
    assert rows["100k json: wall ≤ 15 s"] == (36.0, False)
    assert rows["100k live: peak PSS (tree) ≤ 700 MB"] == (800.0, False)
    assert rows["100k json: peak PSS (tree) ≤ 700 MB"][1] is False  # 720 MB
    assert not any("10k" in what and "PSS" in what for what in rows)  # no memory target at 10k


def test_the_summary_renders_every_table(results: list[dict[str, Any]]) -> None:
    info = {"date": "2026-12-06", "command": "python -m bench.scale", "startup": {"python_s": 0.02}}
    text = summary_markdown(info, results)
    assert text.startswith("# Scale benchmark, 2026-12-06")
    assert "| 10k | live | 10,000 | 50 | 5.0 | 7.5 | 200 | 400 | 160 | 1.0 | 500 | 21.0 | completed | 0.5 |" in text
    assert "| live | 100k / 10k | 0.80 | 0.80 | 0.40 | 389 | 583 | 7.0 |" in text
    assert "| 10k live: wall ≤ 3 s | 5.0 | **missed** |" in text
    assert "| 100k | json | 1.00 | 0.10 | 0.00 | 0.50 | 34.00 | 0.40 | 36.00 |" in text
    assert "Shape at 100k (envelope): Pod 33,333, Node 1,250." in text


def test_the_summary_flags_runs_that_assessed_nothing_or_were_killed(results: list[dict[str, Any]]) -> None:
    runs = results[1]["json"]["runs"]
    runs[0].update(exit=9)  # kwa refused the input: "completed", nothing assessed
    runs.append({"state": None, "exit": -9, "killed_over_limit": True})
    text = summary_markdown({}, results)
    assert "| completed (exit 9), killed over the memory limit |" in text
    results[1]["json"]["seconds"] = 1.0  # fast because it stopped early: not a target met
    rows = {what: met for what, _, _, met in targets(results)}
    assert rows["100k json: wall ≤ 15 s (completed (exit 9), killed over the memory limit)"] is False
    assert rows["10k json: wall ≤ 3 s"] is False and rows["100k live: wall ≤ 15 s"] is False


def test_stages_come_from_the_runs_phase_timestamps() -> None:
    run = {
        "requested_at": "2026-12-06T10:00:02+00:00",
        "started_at": "2026-12-06T10:00:03+00:00",
        "running_at": "2026-12-06T10:00:05+00:00",
        "completed_at": "2026-12-06T10:00:15+00:00",
    }
    start = 1796551200.0  # 2026-12-06T10:00:00Z
    stages = stage_breakdown(run, start, start + 16)
    assert stages == {
        "start-up": 2.0,
        "queued": 1.0,  # no waiting_at: the wait is folded into the queue
        "waiting": 0.0,
        "initializing": 2.0,
        "running": 10.0,
        "exit": 1.0,
    }
    assert stage_breakdown({}, start, start + 1)["running"] is None


def test_import_time_is_summed_per_package() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:    100000 |     100000 |   prefect.settings",
            "import time:    400000 |     500000 | prefect",
            "import time:    300000 |     300000 | sqlalchemy",
            "some other line",
        ]
    )
    out = import_breakdown(stderr)
    assert out == {"total_s": 0.8, "by_package_s": {"prefect": 0.5, "sqlalchemy": 0.3}}


def test_the_process_tree_is_measured_children_included(tmp_path: Path) -> None:
    code = (
        "import subprocess, sys, time; b = bytearray(64 << 20);"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; b = bytearray(64 << 20); time.sleep(1.5)']);"
        "time.sleep(1.5); p.wait()"
    )
    out = run_measured([sys.executable, "-c", code], {}, tmp_path, timeout=60)
    assert out["exit"] == 0 and out["samples"] > 1
    assert out["tree_processes"] >= 2  # the parent and its child (and GNU time, when present)
    assert out["tree_rss_mb"] >= 128 and out["tree_pss_mb"] >= 100  # both 64 MB buffers, counted once each


def test_tree_lists_this_process() -> None:
    import os

    assert tree(os.getpid())[0] == os.getpid()


def test_a_tree_over_its_memory_limit_is_killed(tmp_path: Path) -> None:
    code = "import time; b = bytearray(300 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)"
    out = run_measured([sys.executable, "-c", code], {}, tmp_path, timeout=60, limit_mb=100)
    assert out["killed_over_limit"] and out["exit"] != 0
    assert out["seconds"] < 25  # killed, not waited out


def test_a_partial_run_meets_no_target(results: list[dict[str, Any]]) -> None:
    """Kinds it could not read or checks that did not finish: not "all checks, every result"."""
    live = results[1]["live"]
    live.update(seconds=1.0, tree_pss_mb=10.0)  # fast and small because most of it was not read
    live["runs"][0].update(state="partial", exit=3)
    rows = {what: met for what, _, _, met in targets(results)}
    assert [met for what, met in rows.items() if what.startswith("100k live")] == [False, False]


def test_the_double_counters_of_a_run_are_what_it_added_per_page_size_too() -> None:
    from bench.scale import _delta

    before = {"requests": 300, "limits": {"500": 260, "50": 2}, "max_in_flight": 1, "gzipped": 10}
    after = {"requests": 445, "limits": {"500": 398, "50": 2, "none": 1}, "max_in_flight": 4, "gzipped": 10}
    assert _delta(before, after) == {
        "requests": 145,
        "limits": {"500": 138, "none": 1},
        "max_in_flight": 4,
        "gzipped": 0,
    }
    assert _delta(None, None) is None
