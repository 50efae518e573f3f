"""SARIF within GitHub code scanning's upload limits, valid against the 2.1.0 schema, stable
fingerprints, regions only from stored values."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
from typing import Any

import pytest

from cli.formatters import sarif
from cli.formatters.sarif import MAX_GZIP_BYTES, MAX_RESULTS, MAX_RUNS, build_sarif, write_sarif
from tests.cli.test_formats import sarif_validator

SEVERITIES = ("info", "low", "medium", "high", "critical")


def rows(n: int, run_id: str = "run_x", noise: int = 0, start: int = 0) -> list[dict[str, Any]]:
    """``n`` findings of mixed severities; ``noise``: bytes of random text in each message."""
    out = []
    for i in range(start, start + n):
        message = base64.b64encode(os.urandom(noise)).decode() if noise else None
        severity = SEVERITIES[i % len(SEVERITIES)]
        out.append(
            {
                "id": f"asm_{run_id}_{i:08d}",
                "run_id": run_id,
                "check_id": f"SEC-{i % 7:03d}",
                "check_name": "a check",
                "pillar": "security",
                "severity": severity,
                "status": "failing" if i % 3 else "warning",
                "object_kind": "Deployment",
                "object_namespace": "shop",
                "object_name": f"app-{i}",
                "container": None,
                "message": message or f"finding {i}",
                "remediation": "fix it",
                "source": f"k8s/app-{i % 50}.yaml#{i % 4}",
                "source_line": 10 + i % 40,
                "source_end_line": 60,
                "field_path": "spec.replicas",
                "field_line": 12 + i % 40,
            }
        )
    return out


def run(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "cluster_id": "c", "state": "completed"}


def notes(log: dict[str, Any], i: int = 0) -> list[str]:
    return [n["message"]["text"] for n in log["runs"][i]["invocations"][0]["toolExecutionNotifications"]]


def test_a_run_keeps_the_most_severe_results_within_githubs_limit_and_says_so() -> None:
    log, said = build_sarif([(run("run_x"), rows(MAX_RESULTS + 1200))])
    results = log["runs"][0]["results"]
    assert len(results) == MAX_RESULTS
    levels = [r["level"] for r in results]
    assert levels == sorted(levels, key=["error", "warning", "note"].index)  # errors first
    assert results[0]["properties"]["severity"] == "critical"
    # every critical and high finding (the "error" level) made it
    kept = {r["properties"]["kwaResultId"] for r in results}
    assert all(r["id"] in kept for r in rows(MAX_RESULTS + 1200) if r["severity"] in ("critical", "high"))
    assert any("1,200 less severe results left out" in n for n in notes(log))
    assert any("1,200 less severe results left out" in n for n in said)
    log["runs"][0]["results"] = results[:200]  # the schema check of 5,000 alike results takes long
    assert sarif_validator().is_valid(log)


def test_at_most_twenty_runs_the_newest_kept() -> None:
    groups = [(run(f"run_{i:02d}"), rows(3, f"run_{i:02d}")) for i in range(MAX_RUNS + 5)]
    log, said = build_sarif(groups)
    assert len(log["runs"]) == MAX_RUNS
    kept = [r["properties"]["kwaRunId"] for r in log["runs"]]
    assert kept[0] == "run_05" and kept[-1] == "run_24"
    assert "5 older run(s) left out" in said[0] and "5 older run(s) left out" in notes(log)[0]
    assert sarif_validator().is_valid(log)


def test_the_file_stays_under_ten_megabytes_gzip_compressed() -> None:
    group = [(run("run_big"), rows(MAX_RESULTS, "run_big", noise=3000))]  # barely compressible
    out, err = io.StringIO(), io.StringIO()
    write_sarif(group, out, warn=err)
    text = out.getvalue()
    assert len(gzip.compress(text.encode())) <= MAX_GZIP_BYTES
    log = json.loads(text)
    assert 0 < len(log["runs"][0]["results"]) < MAX_RESULTS
    assert "10 MB gzip-compressed" in err.getvalue()
    assert any("10 MB gzip-compressed" in n for n in notes(log))


def test_many_errors_become_a_bounded_list_of_notifications() -> None:
    errors = [dict(r, status="error", message=f"boom {i}") for i, r in enumerate(rows(3000))]
    log, _ = build_sarif([(run("run_err"), errors)])
    said = notes(log)
    assert len(said) == sarif.MAX_NOTIFICATIONS + 1 and said[-1].startswith("2,000 more check errors")


def test_fingerprints_follow_the_finding_not_its_line() -> None:
    before = rows(20)
    after = [dict(r, source_line=r["source_line"] + 7, field_line=r["field_line"] + 7) for r in before]
    a, _ = build_sarif([(run("run_a"), before)])
    b, _ = build_sarif([(run("run_b"), after)])

    def prints(log: dict[str, Any]) -> dict[str, str]:
        return {r["properties"]["object"]: r["partialFingerprints"]["kwaObject/v1"] for r in log["runs"][0]["results"]}

    assert prints(a) == prints(b)
    lines_a = {r["properties"]["object"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
               for r in a["runs"][0]["results"]}  # fmt: skip
    lines_b = {r["properties"]["object"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
               for r in b["runs"][0]["results"]}  # fmt: skip
    assert all(lines_b[k] == lines_a[k] + 7 for k in lines_a)


def test_no_file_is_ever_read_for_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("SARIF output read a file")

    monkeypatch.setattr("builtins.open", refuse)
    monkeypatch.setattr("pathlib.Path.read_text", refuse)
    log, _ = build_sarif([(run("run_x"), rows(10))])
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == region["endLine"]
