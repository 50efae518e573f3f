"""SARIF 2.1.0 for code-scanning UIs (GitHub code scanning, Azure DevOps, VS Code's SARIF viewer).

One SARIF run per kwa run. Each check seen is a rule (``tool.driver.rules``) with its name,
remediation, pillar and severity. Results:

* ``failing`` → level by severity: critical/high → ``error``, medium/low → ``warning``,
  info → ``note``;
* ``warning`` (advice, e.g. "the PDB is not among the manifests") → ``warning`` for
  critical/high/medium checks, ``note`` for low/info;
* ``passing`` and ``skipped`` are not findings and are left out;
* ``error``/``timeout`` are the tool's own failures: ``invocations[0].toolExecutionNotifications``.

Locations: a result from manifests (``source`` = ``path#document``, or ``path#document#item`` for
an item of a ``kind: List``) gets a physical location — the file and, when the file is readable
from the current directory, the line where that document (or list item) starts. Live results get a
logical location ``Kind/namespace/name`` only. ``partialFingerprints`` identify the (check, object,
container) so a code-scanning UI tracks a finding across runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import yaml

from cli.formatters.common import object_ref

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FAILING_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "warning", "info": "note"}
ADVICE_LEVEL = {"critical": "warning", "high": "warning", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks security findings by this property (CVSS-like, 0.0–10.0).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SOURCE = re.compile(r"^(?P<path>.+?)(?P<idx>(?:#\d+)+)$")
_MAX_LOCATE_BYTES = 64 * 1024 * 1024
try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("kwa")
    except Exception:
        return "0.0.0"


def level_of(status: str, severity: str) -> str | None:
    if status == "failing":
        return FAILING_LEVEL.get(severity, "warning")
    if status == "warning":
        return ADVICE_LEVEL.get(severity, "note")
    return None


def parse_source(source: str | None) -> tuple[str, list[int]] | None:
    """``"k8s/app.yaml#2"`` → ``("k8s/app.yaml", [2])``; None for ``api`` and other non-files."""
    if not source:
        return None
    m = _SOURCE.match(source)
    path, idx = (m.group("path"), [int(i) for i in m.group("idx").split("#")[1:]]) if m else (source, [])
    if path.startswith("<") or not path.lower().endswith(MANIFEST_SUFFIXES):
        return None
    return path, idx


def artifact_uri(path: str) -> str:
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(Path(path).as_posix(), safe="/._-~")


@lru_cache(maxsize=64)
def _document_starts(path: str) -> tuple[tuple[int, Any], ...]:
    """Per document (as kwa's manifest reader numbers them): (first line, composed node or None)."""
    try:
        p = Path(path)
        if not p.is_file() or p.stat().st_size > _MAX_LOCATE_BYTES:
            return ()
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ()
    if text.lstrip().startswith(("{", "[")):
        return ((1, None),)  # JSON: one document; items are not located
    # The same split as checks.sources.manifests: lines starting with '---' separate documents.
    chunks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for n, line in enumerate(text.splitlines(keepends=True)):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t\r\n#"):
            chunks.append((start, current))
            rest = line[3:].lstrip() if line[3:].strip() else ""
            # the chunk's first text line is this line when '---' has content after it, else the next
            current, start = [rest], (n if rest else n + 1)
            continue
        current.append(line)
    chunks.append((start, current))
    if chunks and not "".join(chunks[0][1]).strip():
        chunks = chunks[1:] or [(0, [""])]
    out: list[tuple[int, Any]] = []
    for offset, lines in chunks:
        try:
            node = yaml.compose("".join(lines), Loader=_Loader)
        except yaml.YAMLError:
            node = None
        line = offset + (node.start_mark.line if node is not None else 0) + 1
        out.append((line, node))
    return tuple(out)


def locate(path: str, indexes: list[int]) -> int | None:
    """The 1-based line where document ``indexes[0]`` (and list item ``indexes[1]``) starts."""
    docs = _document_starts(path)
    if not indexes or indexes[0] >= len(docs):
        return None
    line, node = docs[indexes[0]]
    if len(indexes) > 1 and isinstance(node, yaml.MappingNode):
        offset = line - 1 - node.start_mark.line
        for key, value in node.value:
            is_items = getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode)
            if is_items and indexes[1] < len(value.value):
                return offset + value.value[indexes[1]].start_mark.line + 1
    return line


def _location(row: Mapping[str, Any]) -> dict[str, Any] | None:
    ref = object_ref(row)
    logical = [{"fullyQualifiedName": ref.split(":", 1)[0], "kind": "resource"}] if ref != "-" else []
    parsed = parse_source(row.get("source"))
    if parsed is None:
        return {"logicalLocations": logical} if logical else None
    path, indexes = parsed
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(path)}}
    line = locate(path, indexes)
    if line is not None:
        physical["region"] = {"startLine": line}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if logical:
        loc["logicalLocations"] = logical
    return loc


def fingerprint(row: Mapping[str, Any]) -> str:
    key = [row.get(k) for k in ("check_id", "object_kind", "object_namespace", "object_name", "container")]
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:32]


def _rule(row: Mapping[str, Any]) -> dict[str, Any]:
    severity = row.get("severity") or "medium"
    rule: dict[str, Any] = {
        "id": row["check_id"],
        "name": re.sub(r"[^A-Za-z0-9]", "", row["check_id"].title()),
        "shortDescription": {"text": row.get("check_name") or row["check_id"]},
        "defaultConfiguration": {"level": FAILING_LEVEL.get(severity, "warning")},
        "properties": {
            "tags": ["kubernetes", row.get("pillar") or "unknown"],
            "pillar": row.get("pillar"),
            "severity": severity,
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
        },
    }
    if row.get("remediation"):
        rule["help"] = {"text": row["remediation"]}
    return rule


def sarif_run(run: Mapping[str, Any] | None, rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    notifications: list[dict[str, Any]] = []
    for row in rows:
        check_id = row["check_id"]
        if check_id not in rules:
            index[check_id] = len(rules)
            rules[check_id] = _rule(row)
        status = row["status"]
        if status in ("error", "timeout"):
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": f"{check_id} {status}: {row.get('message') or row.get('reason') or status}"},
                    "associatedRule": {"id": check_id, "index": index[check_id]},
                }
            )
            continue
        level = level_of(status, row.get("severity") or "medium")
        if level is None:
            continue
        text = row.get("message") or f"{row.get('check_name') or check_id}: {object_ref(row)}"
        result: dict[str, Any] = {
            "ruleId": check_id,
            "ruleIndex": index[check_id],
            "kind": "fail" if status == "failing" else "review",
            "level": level,
            "message": {"text": text},
            "partialFingerprints": {"kwaObject/v1": fingerprint(row)},
            "properties": {
                "kwaResultId": row.get("id"),
                "status": status,
                "object": object_ref(row),
                "pillar": row.get("pillar"),
                "severity": row.get("severity"),
            },
        }
        location = _location(row)
        if location is not None:
            result["locations"] = [location]
        results.append(result)

    state = (run or {}).get("state")
    invocation: dict[str, Any] = {
        "executionSuccessful": state in (None, "completed", "partial"),
        "toolExecutionNotifications": notifications,
    }
    for key, prop in (("started_at", "startTimeUtc"), ("completed_at", "endTimeUtc")):
        value = (run or {}).get(key)
        if value is not None:
            invocation[prop] = value.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(value, "strftime") else str(value)
    sarif: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "kwa",
                "fullName": "kwa — Kubernetes Well-Architected assessment",
                "version": tool_version(),
                "rules": list(rules.values()),
            }
        },
        "invocations": [invocation],
        "results": results,
    }
    if run:
        sarif["automationDetails"] = {"id": f"kwa/{run.get('cluster_id')}/{run.get('run_id')}"}
        sarif["properties"] = {"kwaRunId": run.get("run_id"), "cluster": run.get("cluster_id"), "state": state}
    return sarif


def write_sarif(groups: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]], out: TextIO) -> None:
    """``groups``: (run, its rows) pairs; one SARIF run each (at least one, possibly empty)."""
    runs = [sarif_run(run, rows) for run, rows in groups] or [sarif_run(None, [])]
    json.dump({"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs}, out, indent=2, ensure_ascii=False)
    out.write("\n")
