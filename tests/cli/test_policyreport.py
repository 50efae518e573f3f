"""``-o policyreport`` and ``-o openreports``: a stored run as wg-policy and OpenReports reports,
every object valid against the vendored CRDs, every stored result in exactly one report with the
status mapped, and runs too large for one object split under 1 MiB."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import yaml

from cli.formatters.policyreport import MAX_OBJECT_BYTES, RESULT_OF, build_reports, label_value, object_name
from storage.db import Database
from storage.queries import run_results
from tests.cli.builder import HOSTILE_NS, RUN_1, RUN_2, RUN_FAILED, RUN_WARN
from tests.cli.crd_schema import problems

KINDS = {
    "policyreport": ("wgpolicyk8s.io/v1alpha2", "PolicyReport", "ClusterPolicyReport"),
    "openreports": ("openreports.io/v1alpha1", "Report", "ClusterReport"),
}
FORMATS = tuple(KINDS)
ARGVS = {
    "summary": ("query", "assessments", "summary", "--run", RUN_2),
    "get": ("query", "assessments", "get", RUN_1),
}


def _docs(text: str) -> list[dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the 20k-result stream in seconds
    return [d for d in yaml.load_all(text, Loader=loader) if d is not None]


def _stored(cli_db_url: str, run_id: str) -> list[dict[str, Any]]:
    db = Database(cli_db_url)
    try:
        return run_results(db, run_id)
    finally:
        db.dispose()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", sorted(ARGVS))
def test_every_object_is_valid_and_every_result_is_in_one_report(kwa, cli_db_url: str, fmt: str, command: str) -> None:
    code, out, err = kwa(*ARGVS[command], "-o", fmt)
    assert code == 0, err
    assert out.startswith("---\n")
    docs = _docs(out)
    api_version, kind, cluster_kind = KINDS[fmt]
    assert docs and {d["kind"] for d in docs} <= {kind, cluster_kind}
    for doc in docs:
        assert doc["apiVersion"] == api_version
        assert problems(doc) == [], doc["metadata"]["name"]
        counted = Counter(r["result"] for r in doc["results"])
        assert doc["summary"] == {k: counted[k] for k in ("pass", "fail", "warn", "error", "skip")}
        assert len(orjson.dumps(doc)) <= MAX_OBJECT_BYTES
    run_id = RUN_2 if command == "summary" else RUN_1
    stored = {r["id"]: r for r in _stored(cli_db_url, run_id)}
    seen = [r["properties"]["kwa.result"] for d in docs for r in d["results"]]
    assert sorted(seen) == sorted(stored)  # each stored result once, none invented
    for doc in docs:
        namespace = doc["metadata"].get("namespace")
        assert doc["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "kwa",
            "kwa.io/cluster": "prod-eu",
            "kwa.io/run": run_id,
        }
        for result in doc["results"]:
            row = stored[result["properties"]["kwa.result"]]
            assert (row["object_namespace"] or None) == namespace
            assert result["policy"] == row["check_id"] and result["category"] == row["pillar"]
            assert result["result"] == RESULT_OF[row["status"]] and result["properties"]["kwa.status"] == row["status"]
            assert result["severity"] == row["severity"] and result["source"] == "kwa"
            if row["object_name"]:
                assert result["resources"][0]["name"] == row["object_name"]
                assert result["resources"][0]["kind"] == row["object_kind"]


def test_every_dialect_is_an_output_format() -> None:
    from cli.formatters import REPORT_FORMATS
    from cli.formatters.policyreport import DIALECTS

    assert REPORT_FORMATS == tuple(DIALECTS) == FORMATS


def test_hostile_namespace_gets_a_valid_name_and_keeps_its_namespace(kwa) -> None:
    _, out, _ = kwa(*ARGVS["summary"], "-o", "openreports")
    (doc,) = [d for d in _docs(out) if d["metadata"].get("namespace") == HOSTILE_NS]
    assert doc["metadata"]["name"] == object_name(f"kwa-{HOSTILE_NS}") != f"kwa-{HOSTILE_NS}"
    assert problems(doc) == []
    assert "DROP TABLE" in doc["results"][0]["message"]  # the text is data, carried as it was stored


def test_output_is_deterministic(kwa) -> None:
    first = kwa(*ARGVS["summary"], "-o", "policyreport")[1]
    assert first == kwa(*ARGVS["summary"], "-o", "policyreport")[1]


def test_a_run_without_results_writes_nothing_and_says_so(kwa) -> None:
    code, out, err = kwa("query", "assessments", "get", RUN_FAILED, "-o", "policyreport")
    assert code == 0 and out == ""
    assert f"run {RUN_FAILED} stored no results" in err


def test_a_result_id_is_refused_with_the_reason(kwa, cli_db_url: str) -> None:
    asm = _stored(cli_db_url, RUN_WARN)[0]["id"]
    code, out, err = kwa("query", "assessments", "get", asm, "-o", "openreports")
    assert code == 2 and out == ""
    assert "renders a whole run: give a run id" in err and "Traceback" not in err


def _rows(n: int, namespace: str | None, message: str) -> list[dict[str, Any]]:
    statuses = ("passing", "failing", "warning", "skipped", "error", "timeout")
    return [
        {
            "id": f"asm_big_{i:06x}",
            "check_id": f"SEC-{i % 40:03d}",
            "check_name": "Privileged container",
            "pillar": "security",
            "severity": ("critical", "high", "medium", "low", "info")[i % 5],
            "status": statuses[i % len(statuses)],
            "object_kind": "Pod",
            "object_namespace": namespace,
            "object_name": f"pod-{i}",
            "container": "app",
            "message": message,
            "remediation": "Drop privileged: true from the container's securityContext.",
            "reason": None,
            "field_path": "spec.containers[0].securityContext.privileged",
            "assessed_at": datetime(2026, 2, 11, 9, 0, i % 60, tzinfo=UTC),
        }
        for i in range(n)
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_20k_results_in_one_namespace_split_under_1_mib(fmt: str) -> None:
    rows = _rows(20_000, "big", "x" * 300) + _rows(50, None, "cluster-scoped")
    run = {"run_id": "run_20260211_090000_eeeeee", "cluster_id": "prod eu/1", "state": "completed"}
    reports = build_reports(run, rows, fmt)
    big = [r for r in reports if r["metadata"].get("namespace") == "big"]
    assert len(big) > 1, "20,000 results of ~800 bytes cannot fit one 1 MiB object"
    assert [r["metadata"]["name"] for r in big] == ["kwa-big"] + [f"kwa-big-{n}" for n in range(2, len(big) + 1)]
    assert [r["metadata"]["annotations"]["kwa.io/part"] for r in big] == [
        f"{n}/{len(big)}" for n in range(1, len(big) + 1)
    ]
    total: Counter[str] = Counter()
    for report in reports:
        size = len(orjson.dumps(report))
        assert size <= MAX_OBJECT_BYTES, (report["metadata"]["name"], size)
        assert problems(report) == []
        assert report["summary"] == {k: sum(r["result"] == k for r in report["results"]) for k in report["summary"]}
        total.update(report["summary"])
    assert sum(len(r["results"]) for r in big) == 20_000
    assert total["error"] == sum(1 for r in rows if r["status"] in ("error", "timeout"))
    (cluster,) = [r for r in reports if "namespace" not in r["metadata"]]
    assert cluster["metadata"]["name"] == "kwa-cluster" and len(cluster["results"]) == 50
    # An illegal cluster id becomes a valid label value, the raw id is kept in an annotation.
    assert cluster["metadata"]["labels"]["kwa.io/cluster"] == label_value("prod eu/1")
    assert cluster["metadata"]["annotations"]["kwa.io/cluster-id"] == "prod eu/1"


def test_a_smaller_limit_splits_sooner_and_nothing_is_lost() -> None:
    rows = _rows(500, "shop", "m" * 100)
    reports = build_reports({"run_id": "r", "cluster_id": "c", "state": "completed"}, rows, "policyreport",
                            max_bytes=200_000)  # fmt: skip
    assert len(reports) > 1
    assert all(len(orjson.dumps(r)) <= 200_000 for r in reports)
    assert [x["properties"]["kwa.result"] for r in reports for x in r["results"]] == [r["id"] for r in rows]


def test_long_texts_are_clipped_not_dropped() -> None:
    (report,) = build_reports({"run_id": "r", "cluster_id": "c", "state": "completed"},
                              _rows(1, "shop", "y" * 50_000), "openreports")  # fmt: skip
    message = report["results"][0]["message"]
    assert message.startswith("yyyy") and message.endswith("…") and len(message) < 50_000


def test_the_schema_check_rejects_what_the_api_server_would() -> None:
    (report,) = build_reports({"run_id": "r", "cluster_id": "c", "state": "completed"}, _rows(1, "shop", "m"),
                              "policyreport")  # fmt: skip
    assert problems(report) == []
    report["results"][0]["severity"] = "urgent"
    report["results"][0]["colour"] = "red"  # pruned by the API server: lost, so an error here
    report["metadata"]["name"] = "Kwa_Shop"
    found = "\n".join(problems(report))
    assert "'urgent' is not one of" in found and "'colour' was unexpected" in found and "DNS-1123" in found


def test_the_yaml_stream_reads_back_as_the_objects_whatever_the_text() -> None:
    import io

    from cli.formatters.policyreport import write_reports

    nasty = 'a "quote" \\ back\nnew line\t---\n... : # {x} [y] &a *b !tag '
    nasty += "\x00\x07\x7f\x85\x9f\u2028\u2029\ufeff é 中 🚀"
    rows = _rows(3, "shop", nasty) + _rows(2, None, "yes")
    rows[0]["object_name"], rows[1]["reason"], rows[2]["container"] = "null", "true", "on"
    run = {"run_id": "r", "cluster_id": "no", "state": "completed"}
    for fmt in FORMATS:
        out = io.StringIO()
        assert write_reports(run, rows, fmt, out) == 2
        assert _docs(out.getvalue()) == build_reports(run, rows, fmt)


def test_a_stored_run_of_20k_results_in_one_namespace_splits_through_the_cli(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole path: 20,000 results written by storage's writer, read back by ``get -o policyreport``."""
    import io

    from kwa.app import call as main
    from storage.results import ResultWriter
    from storage.runs import create_run, finish_run, start_run
    from tests.cli.builder import check, row

    url = f"sqlite:///{tmp_path / 'big.db'}"
    db = Database(url)
    run_id = "run_20260212_090000_ffffff"
    at = datetime(2026, 2, 12, 9, 0, 0, tzinfo=UTC)
    create_run(db, run_id=run_id, cluster_id="big-cluster", check_ids=["SEC-001"], requested_at=at,
               scope="single", pillars=[], source="api", trigger="manual")  # fmt: skip
    start_run(db, run_id)
    statuses = ("failing", "passing", "warning", "skipped")
    rows = [row(statuses[i % 4], "Pod", "load", f"pod-{i:05d}", container="app", message="m" * 600)
            for i in range(20_000)]  # fmt: skip
    with ResultWriter(db, run_id, batch_size=5000) as writer:
        writer.add(check("SEC-001"), rows, at, 10)
    finish_run(db, run_id, "completed", history={"duration_ms": 1000})
    db.dispose()

    monkeypatch.setenv("KWA_DATABASE_URL", url)
    out = io.StringIO()
    capsys.readouterr()
    assert main(["query", "assessments", "get", run_id, "-o", "policyreport"], out=out) == 0, capsys.readouterr().err
    docs = _docs(out.getvalue())
    assert len(docs) > 1 and {d["metadata"]["namespace"] for d in docs} == {"load"}
    assert [d["metadata"]["name"] for d in docs] == ["kwa-load"] + [f"kwa-load-{n}" for n in range(2, len(docs) + 1)]
    assert sum(len(d["results"]) for d in docs) == 20_000
    assert sum(d["summary"]["fail"] for d in docs) == sum(d["summary"]["warn"] for d in docs) == 5_000
    for doc in docs:
        assert len(orjson.dumps(doc)) <= MAX_OBJECT_BYTES
    assert problems(docs[0]) == [] and problems(docs[-1]) == []  # every object: the 20k test above


@pytest.mark.parametrize("command", sorted(ARGVS))
def test_with_a_framework_only_its_checks_each_naming_its_controls(kwa, command: str) -> None:
    code, out, err = kwa(*ARGVS[command], "--framework", "nsa", "-o", "openreports")
    assert code == 0, err
    docs = _docs(out)
    results = [r for d in docs for r in d["results"]]
    assert results, "the seeded runs hold SEC-001 results, which the NSA framework maps"
    for doc in docs:
        assert problems(doc) == []
    for result in results:
        assert result["properties"]["framework.nsa"].startswith("NSA-"), result
    _, everything, _ = kwa(*ARGVS[command], "-o", "openreports")
    assert len(results) < sum(len(d["results"]) for d in _docs(everything))
