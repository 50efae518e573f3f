"""Every value ``kwa metrics`` exposes equals what the CLI says about the same run.

The seeded database (tests/cli/builder.py) has a partial run with a capped grade and an
incomplete pillar, a completed run before it, a failed run and a single-check run: the numbers
are compared with ``kwa query assessments summary -o json`` and ``kwa runs list -o json``, never
with constants.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from kwa.metrics.collector import GRADE_VALUES, METRICS, RUN_STATES
from storage.enums import STATUSES
from storage.query_model import SEVERITIES
from tests.metrics.helpers import exposition, parse, value

COMPARABLE = ("completed", "partial")


def _json(kwa_in: Any, *argv: str) -> Any:
    code, out, err = kwa_in(*argv, "-o", "json")
    assert code == 0, err
    return json.loads(out)


def _runs(kwa_in: Any) -> list[dict[str, Any]]:
    return _json(kwa_in, "runs", "list", "--limit", "0")["items"]


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_scores_grades_coverage_and_findings_equal_the_summary_of_the_scored_run(kwa_in, collector) -> None:
    samples = parse(exposition(collector))
    runs = _runs(kwa_in)
    clusters = sorted({r["cluster_id"] for r in runs})
    assert clusters == sorted({dict(k)["cluster"] for k in samples["kwa_runs"]})
    compared = 0
    for cluster in clusters:
        finished = [r for r in runs if r["cluster_id"] == cluster and r["state"] in COMPARABLE and r["history"]]
        scored = max(finished, key=lambda r: (r["history"]["finished_at"], r["run_id"]))
        summary = _json(kwa_in, "query", "assessments", "summary", "--run", scored["run_id"])
        overall = summary["scores"]["overall"]
        assert value(samples, "kwa_run_score", cluster=cluster) == overall["score"]
        assert value(samples, "kwa_run_grade", cluster=cluster) == GRADE_VALUES[overall["grade"]]
        assert value(samples, "kwa_run_coverage_ratio", cluster=cluster) == overall["coverage"] / 100
        assert value(samples, "kwa_scored_run_timestamp_seconds", cluster=cluster) == _ts(
            scored["history"]["finished_at"]
        )
        for pillar, p in summary["pillars"].items():
            entry, labels = p["score"], {"cluster": cluster, "pillar": pillar}
            assert value(samples, "kwa_score", **labels) == entry["score"]  # None (absent) when incomplete
            assert value(samples, "kwa_grade", **labels) == (GRADE_VALUES[entry["grade"]] if entry["grade"] else None)
            assert value(samples, "kwa_coverage_ratio", **labels) == entry["coverage"] / 100
            assert value(samples, "kwa_incomplete", **labels) == (1.0 if entry["incomplete"] else 0.0)
            for status in STATUSES:
                by_sev = {
                    sev: value(samples, "kwa_findings", **labels, severity=sev, status=status) for sev in SEVERITIES
                }
                assert sum(by_sev.values()) == p["counts"][status], (cluster, pillar, status)
                for sev, n in by_sev.items():
                    expected = sum(
                        c["counts"][status] for c in summary["checks"] if c["pillar"] == pillar and c["severity"] == sev
                    )
                    assert n == expected
            compared += 1
        failing = {
            sev: sum(v for k, v in samples["kwa_findings"].items() if _match(k, cluster, sev)) for sev in SEVERITIES
        }
        assert failing == summary["failing_by_severity"]
    assert compared >= 5  # both clusters, an incomplete pillar and a capped one among them


def _match(key: tuple[tuple[str, str], ...], cluster: str, severity: str) -> bool:
    labels = dict(key)
    return labels["cluster"] == cluster and labels["severity"] == severity and labels["status"] == "failing"


def test_an_incomplete_pillar_has_no_score_and_a_capped_grade_is_the_capped_one(kwa_in, collector) -> None:
    samples = parse(exposition(collector))
    summary = _json(kwa_in, "query", "assessments", "summary", "--cluster", "prod-eu")
    pillars = summary["scores"]["pillars"]
    incomplete = [p for p, e in pillars.items() if e["incomplete"]]
    capped = [p for p, e in pillars.items() if e["grade_capped"]]
    assert incomplete and capped  # the seeded data has both; the assertions below are about them
    for p in incomplete:
        assert value(samples, "kwa_score", cluster="prod-eu", pillar=p) is None
        assert value(samples, "kwa_grade", cluster="prod-eu", pillar=p) is None
    for p in capped:
        shown = value(samples, "kwa_grade", cluster="prod-eu", pillar=p)
        assert shown == GRADE_VALUES[pillars[p]["grade"]] != GRADE_VALUES[pillars[p]["uncapped_grade"]]


def test_run_metrics_equal_the_run_listing(kwa_in, collector) -> None:
    samples = parse(exposition(collector))
    runs = _runs(kwa_in)
    for cluster in {r["cluster_id"] for r in runs}:
        mine = [r for r in runs if r["cluster_id"] == cluster]
        for state in RUN_STATES:
            n = sum(1 for r in mine if r["state"] == state)
            assert value(samples, "kwa_runs", cluster=cluster, state=state) == n
        newest = max(mine, key=lambda r: (r["requested_at"], r["run_id"]))
        for state in RUN_STATES:
            assert value(samples, "kwa_last_run_state", cluster=cluster, state=state) == float(state == newest["state"])
        finished = [r for r in mine if r["history"]]
        last = max(finished, key=lambda r: (r["history"]["finished_at"], r["run_id"]))
        assert value(samples, "kwa_last_run_timestamp_seconds", cluster=cluster) == _ts(last["history"]["finished_at"])
        assert value(samples, "kwa_last_run_duration_seconds", cluster=cluster) == last["history"]["duration_ms"] / 1000
        done = [r for r in finished if r["state"] == "completed"]
        success = max(done, key=lambda r: r["history"]["finished_at"])["history"]["finished_at"] if done else None
        got = value(samples, "kwa_last_success_timestamp_seconds", cluster=cluster)
        assert got == (_ts(success) if success else None)


def test_every_declared_metric_is_exposed_with_its_help_and_a_kwa_prefix(collector) -> None:
    text = exposition(collector)
    samples = parse(text)
    assert set(samples) == set(METRICS)  # nothing declared and never emitted, nothing emitted undeclared
    for name, spec in METRICS.items():
        assert name.startswith("kwa_")
        assert f"# HELP {name} {spec.help}" in text
        assert f"# TYPE {name} gauge" in text
        if spec.unit:
            assert name.endswith(f"_{spec.unit}")
    assert value(samples, "kwa_database_up") == 1.0


def test_framework_scores_coverage_and_controls_equal_summary_framework(kwa_in, collector) -> None:
    """``kwa_framework_*`` of each cluster's scored run equal ``summary --framework NAME`` for every
    shipped framework."""
    from kwa.frameworks import names

    samples = parse(exposition(collector))
    runs = _runs(kwa_in)
    compared = 0
    for cluster in sorted({r["cluster_id"] for r in runs}):
        finished = [r for r in runs if r["cluster_id"] == cluster and r["state"] in COMPARABLE and r["history"]]
        scored = max(finished, key=lambda r: (r["history"]["finished_at"], r["run_id"]))
        for name in names():
            doc = _json(kwa_in, "query", "assessments", "summary", "--run", scored["run_id"], "--framework", name)
            report = doc  # kind FrameworkStatus: the run, score, coverage, counts by status, controls
            assert doc["framework"]["name"] == name and doc["run"]["run_id"] == scored["run_id"]
            labels = {"cluster": cluster, "framework": name}
            assert value(samples, "kwa_framework_score", **labels) == report["score"]
            coverage = value(samples, "kwa_framework_coverage_ratio", **labels)
            assert coverage == (None if report["coverage"] is None else report["coverage"] / 100)
            for status, n in report["counts"].items():
                assert value(samples, "kwa_framework_controls", **labels, status=status) == n
                compared += 1
    assert compared >= 5 * 5
