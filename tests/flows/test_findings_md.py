"""The findings artifact: one Markdown block per failing check, most severe first, text escaped."""

from __future__ import annotations

import re
from typing import Any

from flows.artifacts import summary_markdown
from flows.findings_md import findings_markdown, md

RUN = {"run_id": "run_20260301_120000_abcdef", "state": "completed", "cluster_id": "prod"}


def finding(check_id: str, severity: str, name: str, **extra: Any) -> dict[str, Any]:
    base = {
        "check_id": check_id,
        "check_name": f"name of {check_id}",
        "severity": severity,
        "pillar": "security",
        "object_kind": "Deployment",
        "object_namespace": "shop",
        "object_name": name,
        "container": "app",
        "message": f"{name} is bad",
        "remediation": f"Fix {check_id} like this.",
        "source": "k8s/app.yaml#1",
        "source_line": 7,
        "source_end_line": 24,
        "field_path": "spec.template.spec.containers[0].securityContext.privileged",
        "field_line": 24,
        "check_failing": 1,
    }
    return base | extra


def test_one_block_per_check_with_its_name_remediation_objects_and_lines() -> None:
    rows = [
        finding("SEC-001", "critical", "web", check_failing=3),
        finding("SEC-001", "critical", "api", check_failing=3, field_line=None, source_line=40),
        finding("REL-004", "high", "web", source="api", source_line=None, field_line=None),
    ]
    text = findings_markdown(RUN, rows)
    blocks = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    assert len(blocks) == 2 and "SEC\\-001" in blocks[0] and "REL\\-004" in blocks[1]
    sec = blocks[0]
    assert "name of SEC\\-001" in sec and "**critical**" in sec and "3 failing result(s)" in sec
    assert "**Fix:** Fix SEC\\-001 like this\\." in sec
    assert "k8s/app\\.yaml:24, field spec\\.template\\.spec\\.containers\\[0\\]\\.securityContext\\.privileged" in sec
    assert "k8s/app\\.yaml:40: api is bad" in sec  # no field line: the object's first line
    assert "… and 1 more" in sec and "--check SEC-001 --status failing" in sec
    assert "—" not in blocks[1].split("\n")[-2]  # a live object: no file, no line
    # no line is a huge table row: every line is a heading, a sentence or one object
    assert "|" not in text.replace("\\|", "")


def test_text_from_manifests_is_shown_as_text_never_as_markdown_or_html() -> None:
    hostile = "<script>alert(1)</script> **bold** [x](javascript:alert(1)) `code` | a | b\n# heading"
    text = findings_markdown(RUN, [finding("SEC-001", "critical", hostile, message=hostile, remediation=hostile)])
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "**bold**" not in text and "\\*\\*bold\\*\\*" in text
    assert "](javascript" not in text and "`code`" not in text
    assert "\n# heading" not in text  # newlines folded: a message cannot start a heading
    assert md("a_b*c") == "a\\_b\\*c"


def test_the_summary_lists_the_most_severe_checks_and_points_at_the_findings() -> None:
    rows = [finding("SEC-001", "critical", "web")]
    text = summary_markdown(RUN | {"error": "<b>x</b>"}, {}, None, [("SEC-001", "name | with pipe", 1)], rows)
    assert "| SEC\\-001 | critical | name \\| with pipe | 1 |" in text
    assert "findings artifact" in text and "&lt;b&gt;x&lt;/b&gt;" in text


def test_no_failing_results() -> None:
    assert "No failing results." in findings_markdown(RUN, [])


def test_control_and_bidirectional_characters_are_shown_as_escapes() -> None:
    shown = md("Pod/ns/evil\x1b[31m\u202eabc\x07")
    assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
    assert "\\\\x1b" in shown and "\\\\u202eabc\\\\x07" in shown  # backslashes escaped for Markdown
