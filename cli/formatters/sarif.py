"""SARIF 2.1.0 for code-scanning UIs (GitHub code scanning, Azure DevOps, VS Code's SARIF viewer).

One SARIF run per kwa run. Each check seen is a rule (``tool.driver.rules``) with its name,
remediation, pillar and severity. Results:

* ``failing`` → level by severity: critical/high → ``error``, medium/low → ``warning``,
  info → ``note``;
* ``warning`` (advice, e.g. "the PDB is not among the manifests") → ``warning`` for
  critical/high/medium checks, ``note`` for low/info;
* ``passing`` and ``skipped`` are not findings and are left out;
* ``error``/``timeout`` are the tool's own failures: ``invocations[0].toolExecutionNotifications``.

Results are written most severe first. Locations come from what the run stored with each result
(``source_line``/``source_column``/``source_end_line``/``field_line``/``field_column``, recorded
while it parsed the manifests): a manifest object's result gets the file and a region - the
offending field's line and the column of its key when the check named the field (the object's
lines then in ``contextRegion``), else the object's first line and column to its last line.
Columns are 1-based characters; ``endColumn`` is left out (the region runs to the end of its last
line). The manifest is never read here, so the lines are those of the file the run assessed even
if it has changed since. Results stored before kwa recorded positions (and ``<stdin>``) carry the
file without a region; live results a logical location ``Kind/namespace/name`` only.
``partialFingerprints`` identify the (check, object, container), not the line, so a code-scanning
UI tracks a finding across runs while the file around it changes.

GitHub code scanning's upload limits (docs/sarif.md) are enforced, each cut said in the SARIF
(a notification) and on stderr: at most :data:`MAX_RUNS` runs per file (the newest kept), at most
:data:`MAX_RESULTS` results per run (the most severe kept: GitHub rejects more than 25,000 and
shows only 5,000), one location per result, at most :data:`MAX_TAGS` tags per rule, and a file
whose gzip-compressed size stays under :data:`MAX_GZIP_BYTES`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from json.encoder import encode_basestring_ascii as _quote  # what json.dumps uses for a str
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import orjson

from cli.formatters.common import object_ref
from redaction.controls import BEYOND_C0, terminal_safe

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FAILING_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "warning", "info": "note"}
ADVICE_LEVEL = {"critical": "warning", "high": "warning", "medium": "warning", "low": "note", "info": "note"}
# GitHub code scanning ranks security findings by this property (CVSS-like, 0.0–10.0).
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_SOURCE = re.compile(r"^(?P<path>.+?)(?P<idx>(?:#\d+)+)$")

# GitHub code scanning (docs.github.com: "SARIF support for code scanning", "SARIF results exceed
# limit", "SARIF file is too large"). Results: 25,000 per run are accepted, 5,000 shown.
MAX_RUNS = 20
MAX_RESULTS = 5_000
MAX_RULES = 25_000
MAX_TAGS = 10  # 20 accepted, 10 shown
MAX_LOCATIONS = 1  # kwa gives each result one location (1,000 accepted, 100 shown)
MAX_GZIP_BYTES = 10 * 1024 * 1024
MAX_NOTIFICATIONS = 1_000  # not a GitHub limit: keeps a run with thousands of error rows readable
_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
_LEVEL_ORDER = {"error": 0, "warning": 1, "note": 2}


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


@functools.lru_cache(maxsize=4096)
def artifact_uri(path: str) -> str:
    """The path as a SARIF artifact URI (memoised: a file's findings all name it)."""
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(Path(path).as_posix(), safe="/._-~")


def _line(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def region_of(row: Mapping[str, Any]) -> tuple[dict[str, int] | None, dict[str, int] | None]:
    """``(region, contextRegion)`` from the stored positions: the field's line (and key column)
    with the object's lines around it, or the object's lines alone; ``(None, None)`` when nothing
    was stored. A column is given only with its line (rows stored before columns have none)."""
    start, end, field = _line(row.get("source_line")), _line(row.get("source_end_line")), _line(row.get("field_line"))
    whole: dict[str, int] | None = None
    if start is not None:
        whole = {"startLine": start}
        if (column := _line(row.get("source_column"))) is not None:
            whole["startColumn"] = column
        whole["endLine"] = end if end is not None and end >= start else start
    if field is None:
        return whole, None
    here = {"startLine": field}
    if (column := _line(row.get("field_column"))) is not None:
        here["startColumn"] = column
    here["endLine"] = field
    return here, whole if whole is not None and whole != here else None


def _location(row: Mapping[str, Any], ref: str) -> dict[str, Any] | None:
    logical = [{"fullyQualifiedName": ref.split(":", 1)[0], "kind": "resource"}] if ref != "-" else []
    parsed = parse_source(row.get("source"))
    if parsed is None:
        return {"logicalLocations": logical} if logical else None
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(parsed[0])}}
    region, context = region_of(row)
    if region is not None:
        physical["region"] = region
    if context is not None:
        physical["contextRegion"] = context
    loc: dict[str, Any] = {"physicalLocation": physical}
    if logical:
        loc["logicalLocations"] = logical
    return loc


_KEY = ("check_id", "object_kind", "object_namespace", "object_name", "container")


def fingerprint(row: Mapping[str, Any]) -> str:
    """SHA-256 of ``json.dumps([check, kind, namespace, name, container])``, its first 32 hex digits.

    The JSON text is built here without ``json.dumps`` (byte for byte what it writes for strings
    and nulls, five times faster: a SARIF log hashes up to 5,000 of them)."""
    key = [row.get(k) for k in _KEY]
    if all(v is None or type(v) is str for v in key):
        text = "[" + ", ".join("null" if v is None else _quote(v) for v in key) + "]"
    else:
        text = json.dumps(key)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _rule(row: Mapping[str, Any]) -> dict[str, Any]:
    severity = row.get("severity") or "medium"
    rule: dict[str, Any] = {
        "id": row["check_id"],
        "name": re.sub(r"[^A-Za-z0-9]", "", row["check_id"].title()),
        "shortDescription": {"text": row.get("check_name") or row["check_id"]},
        "defaultConfiguration": {"level": FAILING_LEVEL.get(severity, "warning")},
        "properties": {
            "tags": ["kubernetes", row.get("pillar") or "unknown"][:MAX_TAGS],
            "pillar": row.get("pillar"),
            "severity": severity,
            "security-severity": SECURITY_SEVERITY.get(severity, "5.5"),
        },
    }
    if row.get("remediation"):
        rule["help"] = {"text": row["remediation"]}
    frameworks = row.get("frameworks")
    if frameworks:
        # ``--framework``: the control ids this check assesses, as data and as tags a code-scanning
        # UI can filter on (``nsa/NSA-POD-5``), within GitHub's tag limit.
        rule["properties"]["frameworks"] = {k: list(v) for k, v in frameworks.items()}
        tags = rule["properties"]["tags"]
        tags += [f"{name}/{cid}" for name, ids in frameworks.items() for cid in ids]
        rule["properties"]["tags"] = tags[:MAX_TAGS]
    return rule


def _result(row: Mapping[str, Any], level: str, rule_index: int) -> dict[str, Any]:
    status = row["status"]
    check_id = row["check_id"]
    ref = object_ref(row)
    # The alert's text as code scanning shows it: control and bidirectional characters from the
    # input as escapes, as the other formats people read show them (the properties keep the values).
    text = terminal_safe(row.get("message") or f"{row.get('check_name') or check_id}: {ref}")
    properties: dict[str, Any] = {
        "kwaResultId": row.get("id"),
        "status": status,
        "object": ref,
        "pillar": row.get("pillar"),
        "severity": row.get("severity"),
    }
    if row.get("field_path"):
        properties["field"] = row["field_path"]
    if row.get("frameworks"):
        properties["frameworks"] = {k: list(v) for k, v in row["frameworks"].items()}
    result: dict[str, Any] = {
        "ruleId": check_id,
        "ruleIndex": rule_index,
        "kind": "fail" if status == "failing" else "review",
        "level": level,
        "message": {"text": text},
        "partialFingerprints": {"kwaObject/v1": fingerprint(row)},
        "properties": properties,
    }
    location = _location(row, ref)
    if location is not None:
        result["locations"] = [location][:MAX_LOCATIONS]
    return result


def _order(row: Mapping[str, Any], level: str) -> tuple[Any, ...]:
    """Most severe first (what GitHub keeps when it truncates, and what a reader wants first)."""
    return (
        _LEVEL_ORDER.get(level, 3),
        _SEVERITY_ORDER.get(row.get("severity") or "", 5),
        row.get("check_id") or "",
        row.get("source") or "",
        _line(row.get("field_line")) or _line(row.get("source_line")) or 0,
        object_ref(row),
        row.get("id") or "",
    )


def sarif_run(
    run: Mapping[str, Any] | None, rows: Iterable[Mapping[str, Any]], max_results: int = MAX_RESULTS
) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    findings: list[tuple[tuple[Any, ...], Mapping[str, Any], str]] = []
    notifications: list[dict[str, Any]] = []
    errors = 0
    for row in rows:
        check_id = row["check_id"]
        if check_id not in rules:
            if len(rules) >= MAX_RULES:
                continue
            index[check_id] = len(rules)
            rules[check_id] = _rule(row)
        status = row["status"]
        if status in ("error", "timeout"):
            errors += 1
            if len(notifications) < MAX_NOTIFICATIONS:
                notifications.append(
                    {
                        "level": "error",
                        "message": {
                            "text": terminal_safe(
                                f"{check_id} {status}: {row.get('message') or row.get('reason') or status}"
                            )
                        },
                        "associatedRule": {"id": check_id, "index": index[check_id]},
                    }
                )
            continue
        level = level_of(status, row.get("severity") or "medium")
        if level is not None:
            findings.append((_order(row, level), row, level))
    findings.sort(key=lambda f: f[0])
    kept = findings[:max_results]
    results = [_result(row, level, index[row["check_id"]]) for _, row, level in kept]
    if errors > len(notifications):
        notifications.append(_note(f"{errors - len(notifications):,} more check errors left out of this file"))
    from cli.formatters.skipped import sarif_notifications, skipped_of

    notifications += sarif_notifications(*skipped_of((run or {}).get("summary")))
    if len(findings) > len(kept):
        left = len(findings) - len(kept)
        notifications.append(
            _note(
                f"{left:,} less severe results left out: a SARIF run keeps the {len(kept):,} most severe "
                f"(GitHub code scanning shows at most {MAX_RESULTS:,} per run and rejects over 25,000); "
                "narrow with --severity or --status, or list them all with kwa query assessments list"
            )
        )

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


def _note(text: str) -> dict[str, Any]:
    return {"level": "warning", "message": {"text": text}, "descriptor": {"id": "kwa/truncated"}}


def build_sarif(
    groups: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]],
) -> tuple[dict[str, Any], list[str]]:
    """The SARIF log for ``groups`` ((run, its rows) pairs, oldest run first) within GitHub's limits,
    and what had to be left out (one line each)."""
    log, notes, _ = _build(groups)
    return log, notes


def _dumps(log: Mapping[str, Any]) -> str:
    """The file's text: two-space indents, UTF-8 as is (orjson: a 5,000-result log in a tenth of
    the time ``json.dumps`` takes), but for characters that would reorder or break the text where
    the alerts are shown (bidirectional overrides, C1 controls, line separators from an object's
    name or message): written as JSON escapes, the same strings to any reader of the JSON."""
    text = orjson.dumps(log, option=orjson.OPT_INDENT_2).decode()
    return _SHOWN_RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


# What orjson leaves raw in strings and a viewer would act on (it escapes C0 controls itself).
_SHOWN_RAW_UNSAFE = re.compile(f"[{BEYOND_C0}]")


def _build(
    groups: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]],
) -> tuple[dict[str, Any], list[str], str]:
    notes: list[str] = []
    dropped = max(0, len(groups) - MAX_RUNS)
    kept = groups[dropped:]
    runs = [sarif_run(run, rows) for run, rows in kept] or [sarif_run(None, [])]
    if dropped:
        text = f"{dropped} older run(s) left out: a SARIF file for GitHub code scanning holds at most {MAX_RUNS} runs"
        runs[0]["invocations"][0]["toolExecutionNotifications"].append(_note(text))
        notes.append(text)
    for run in runs:
        notes += [
            n["message"]["text"]
            for n in run["invocations"][0]["toolExecutionNotifications"]
            if n.get("descriptor", {}).get("id") == "kwa/truncated"
        ]
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": runs}
    # The upload limit is on the gzip-compressed file: halve the largest run's results until it fits.
    # (Compressed size never exceeds the raw size by more than a few bytes: small files skip this.)
    while len(text := _dumps(log)) > MAX_GZIP_BYTES and _gzip_size(text) > MAX_GZIP_BYTES - 1024:
        largest = max(range(len(kept)), key=lambda i: len(runs[i]["results"]), default=None)
        if largest is None or not runs[largest]["results"]:
            break
        run, rows = kept[largest]
        limit = len(runs[largest]["results"]) // 2
        runs[largest] = sarif_run(run, rows, max_results=limit)
        note = (
            f"results cut to {limit:,} in run {(run or {}).get('run_id')}: "
            "the file must stay under 10 MB gzip-compressed"
        )
        runs[largest]["invocations"][0]["toolExecutionNotifications"].append(_note(note))
        notes.append(note)
    return log, notes, text


def _gzip_size(text: str) -> int:
    return len(gzip.compress(text.encode("utf-8"), compresslevel=6))


def write_sarif(
    groups: list[tuple[Mapping[str, Any] | None, list[Mapping[str, Any]]]],
    out: TextIO,
    warn: TextIO | None = None,
) -> None:
    """``groups``: (run, its rows) pairs; one SARIF run each (at least one, possibly empty). What
    GitHub's limits made kwa leave out is said on ``warn`` (stderr) as well as in the file."""
    _, notes, text = _build(groups)
    out.write(text + "\n")  # one write: the output stream redacts per write
    for note in dict.fromkeys(notes):
        print(f"sarif: {note}", file=warn or sys.stderr)
