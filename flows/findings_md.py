"""The run's findings as Markdown for the Prefect UI: one block per check, most severe first.

A table with one row per failing result pushed the message off-screen (the remediation was not
there at all). Here each check is a heading - id, name, severity, pillar, how many objects fail -
with its remediation under it, then one line per object: the object, where it is in its manifest
(``file:line``, the offending field's line when the check named the field) and the message.
Nothing is wider than the text it holds, so it reads at any window width.

Everything that comes from the cluster or the manifests (names, messages, paths) is escaped: it
is shown as the text it is, never as Markdown or HTML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from redaction.controls import escape_controls

SEVERITY_MARK = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md(text: Any) -> str:
    """``text`` as literal Markdown: one line, HTML characters as entities, Markdown escaped, and
    control and bidirectional characters as ``\\xNN`` / ``\\uNNNN`` (a right-to-left override
    would show a name reordered in the UI)."""
    flat = escape_controls(" ".join(str(text if text is not None else "").split()))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", flat)


def object_ref(row: Mapping[str, Any]) -> str:
    ref = "/".join(str(p) for p in (row.get("object_kind"), row.get("object_namespace"), row.get("object_name")) if p)
    return ref or "(the check as a whole)"


def where(row: Mapping[str, Any]) -> str | None:
    """``k8s/app.yaml:24``: the field's line when known, else the object's first line."""
    source = row.get("source")
    if not source or source == "api":
        return None
    path = str(source).split("#", 1)[0]
    line = row.get("field_line") or row.get("source_line")
    return f"{path}:{line}" if line else str(source)


def findings_markdown(run: Mapping[str, Any], failing: Sequence[Mapping[str, Any]]) -> str:
    """The failing results of ``run`` (rows of ``storage.findings.failing_results``) as blocks."""
    lines = [f"# Findings of kwa run {md(run.get('run_id'))}", ""]
    if not failing:
        return "\n".join([*lines, "No failing results."]) + "\n"
    checks = list(dict.fromkeys(r["check_id"] for r in failing))
    lines += [
        f"{len(checks)} failing check(s), most severe first; each object with where it is in its "
        "manifest (file:line) when it came from one.",
        "",
    ]
    for check_id in checks:
        rows = [r for r in failing if r["check_id"] == check_id]
        first = rows[0]
        severity = str(first.get("severity") or "")
        total = int(first.get("check_failing") or len(rows))
        lines.append(
            f"## {SEVERITY_MARK.get(severity, '')} {md(check_id)} · {md(first.get('check_name'))}".replace("  ", " ")
        )
        lines.append(f"**{md(severity)}** · {md(first.get('pillar'))} · {total} failing result(s)")
        lines.append("")
        if first.get("remediation"):
            lines += [f"**Fix:** {md(first['remediation'])}", ""]
        for r in rows:
            place = where(r)
            container = f" (container {md(r['container'])})" if r.get("container") else ""
            field = f", field {md(r['field_path'])}" if r.get("field_path") and r.get("field_line") else ""
            at = f" — {md(place)}{field}" if place else ""
            lines.append(f"- **{md(object_ref(r))}**{container}{at}: {md(r.get('message'))}")
        if total > len(rows):
            lines.append(
                f"- … and {total - len(rows):,} more: `kwa query assessments list --run {run.get('run_id')} "
                f"--check {check_id} --status failing`"
            )
        lines.append("")
    return "\n".join(lines)
