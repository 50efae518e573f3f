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
