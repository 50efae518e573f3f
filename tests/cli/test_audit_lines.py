"""The exemption audit as the reports print it (cli.formatters.audit)."""

from __future__ import annotations

from cli.formatters.audit import audit_lines, entry_line


def test_a_peer_rule_honoured_names_the_rule_its_counts_and_the_checks() -> None:
    entry = {
        "source": "kube-score", "name": "kube-score/ignore: pod-probes", "rule": "pod-probes",
        "checks": "REL-001, REL-002", "objects": 12, "results": 1, "status": "active",
        "message": "honoured as exempt:kube-score for REL-001, REL-002",
    }  # fmt: skip
    assert entry_line(entry) == (
        "exemption honoured: kube-score/ignore: pod-probes (12 objects, 1 result): "
        "honoured as exempt:kube-score for REL-001, REL-002"
    )


def test_an_annotation_names_its_object_and_the_list_is_bounded() -> None:
    expired = {
        "source": "annotation", "name": "kwa.io/exempt (metadata)", "object": "Deployment/shop/web",
        "checks": "SEC-001", "status": "expired", "message": "expired on 2025-01-31; no longer applied",
    }  # fmt: skip
    assert entry_line(expired) == (
        "exemption expired: kwa.io/exempt (metadata) on Deployment/shop/web: expired on 2025-01-31; no longer applied"
    )
    lines = audit_lines([expired] * 12, shown=10)
    assert len(lines) == 11 and lines[-1].startswith("exemption audit: 2 more entries")
    assert audit_lines(None) == [] and audit_lines([]) == []


def test_runs_get_and_the_run_report_list_the_audit() -> None:
    import io
    from datetime import UTC, datetime

    from cli.formatters.report import run_report
    from cli.formatters.table import run_detail

    entry = {"source": "polaris", "name": "polaris.fairwinds.com/exempt", "objects": 2, "results": 7,
             "status": "active", "message": "honoured as exempt:polaris for all mapped checks"}  # fmt: skip
    now = datetime(2026, 12, 6, tzinfo=UTC)
    run = {"run_id": "run_1", "cluster_id": "c", "state": "completed", "scope": "full", "source": "manifests",
           "trigger": "manual", "summary": {"exemption_audit": [entry]}}  # fmt: skip
    timings = {"requested_at": now, "started_at": now, "completed_at": now, "queued_ms": 0, "duration_ms": 1}
    out = io.StringIO()
    run_detail({"run": run, "history": {}, "timings": timings, "scores": {}, "warnings": []}, out)
    assert "exemption honoured: polaris.fairwinds.com/exempt (2 objects, 7 results)" in out.getvalue()
    report = io.StringIO()
    run_report({"run": run, "pillars": {}, "scores": {}, "exemption_audit": [entry]}, report)
    assert "exemption honoured: polaris.fairwinds.com/exempt (2 objects, 7 results)" in report.getvalue()
