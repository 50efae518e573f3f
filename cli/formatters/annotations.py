"""Findings as lines other tools read: ``text`` for editors and CI logs, ``github`` for GitHub Actions.

Both take result rows (dicts with the keys of ``storage.result_rows.COLUMNS``: stored rows, or the
rows ``kwa lint`` builds without a database) and print one line per finding: a ``failing``,
``warning`` (advice) or ``error``/``timeout`` result. ``passing`` and ``skipped`` are left out.

``text`` (:func:`text_lines`)::

    k8s/app.yaml:24: HIGH SEC-001 Deployment/shop/web[app]: container app is privileged

``file:line: SEV CHECK object: message``, the shape compilers print and that vim's default
``errorformat`` (``%f:%l: %m``), Emacs' compilation mode and a VS Code problem matcher read. The
line is the field's when the check named one, else the object's first line. SEV is the check's
severity in capitals for a failing result (``CRITICAL`` … ``INFO``), else the status:
``WARNING`` (advice), ``ERROR`` (the object could not be judged: malformed, or the check raised on
it), ``TIMEOUT``. The object is ``Kind/namespace/name`` (``Kind/name`` cluster-scoped) with
``[container]`` when the result names one; a check-level row has none (``SEV CHECK: message``).
A result with no file (a live cluster) starts with the object instead: ``Kind/ns/name: SEV CHECK:
message``. Sorted by file, line and column, results without a file last.

``github`` (:func:`github_commands`)::

    ::error file=k8s/app.yaml,line=24,col=11,title=SEC-001 Privileged container::Deployment/shop/web[app]: …

A workflow command per finding. Level: a failing critical/high check → ``error``, medium →
``warning``, low/info → ``notice``; advice (``warning`` status) → ``warning`` for
critical/high/medium checks, ``notice`` for low/info; ``error``/``timeout`` → ``error``. The
position is the field's line and column when the check named one, else the object's first line
and column to its last line. Values are escaped as GitHub's runner unescapes them (``%`` ``\\r``
``\\n`` in the message; also ``:`` ``,`` in properties).

GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job; notices
likewise): the rest stay in the step's log only. So commands come most severe first (errors, then
warnings, then notices; within each, critical before info), and when a level has more than 10 a
notice placed first among the notices says how many the summary will not show.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cli.formatters import ANNOTATION_FORMATS
from cli.formatters.sarif import parse_source
from redaction import controls

__all__ = ["ANNOTATION_FORMATS", "github_commands", "github_level", "object_label", "text_lines"]
FINDINGS = ("failing", "warning", "error", "timeout")
# GitHub Actions: annotations of one level shown per step (docs: actions/toolkit problem matchers).
GITHUB_SHOWN_PER_STEP = 10

_SEVERITIES = ("critical", "high", "medium", "low", "info")
_FAILING_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "info": "notice"}
_ADVICE_LEVEL = {"critical": "warning", "high": "warning", "medium": "warning", "low": "notice", "info": "notice"}
_LEVELS = ("error", "warning", "notice")
_SOURCE_INDEX = re.compile(r"(?:#\d+)+$")


def one_line(value: Any) -> str:
    """One line of plain text: line breaks and tabs as spaces, other controls as ``\\xNN``/``\\uNNNN``."""
    return controls.one_line("" if value is None else str(value))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _file(row: Mapping[str, Any], *, stdin: bool) -> str | None:
    """The manifest a row's object was read from; ``<stdin>`` too when ``stdin``."""
    parsed = parse_source(row.get("source"))
    if parsed is not None:
        return parsed[0]
    source = row.get("source") or ""
    if stdin and source.startswith("<stdin>"):
        return _SOURCE_INDEX.sub("", source)
    return None


def _position(row: Mapping[str, Any]) -> tuple[int | None, int | None, int | None]:
    """``(line, column, end line)``: the field's line and column, else the object's lines."""
    field = _int(row.get("field_line"))
    if field is not None:
        return field, _int(row.get("field_column")), None
    line = _int(row.get("source_line"))
    end = _int(row.get("source_end_line"))
    return line, _int(row.get("source_column")) if line else None, end if line and end and end > line else None


def object_label(row: Mapping[str, Any]) -> str:
    """``Kind/namespace/name[container]`` (``Kind/name`` cluster-scoped); "" for a check-level row."""
    parts = [row.get("object_kind"), row.get("object_namespace"), row.get("object_name")]
    ref = "/".join(one_line(p) for p in parts if p)
    if ref and row.get("container"):
        ref += f"[{one_line(row['container'])}]"
    return ref


def _sev(row: Mapping[str, Any]) -> str:
    status = row.get("status")
    if status == "failing":
        return str(row.get("severity") or "medium").upper()
    return str(status).upper()


def _message(row: Mapping[str, Any]) -> str:
    return one_line(row.get("message") or row.get("reason") or row.get("check_name") or row.get("status"))


def _findings(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") in FINDINGS]


def text_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """One ``file:line: SEV CHECK object: message`` line per finding (no line break at the end)."""
    located = []
    for row in _findings(rows):
        path = _file(row, stdin=True)
        line, column, _ = _position(row)
        located.append(((path is None, path or "", line or 0, column or 0, row.get("check_id") or ""), path, line, row))
    located.sort(key=lambda item: item[0])
    for _, path, line, row in located:
        what = f"{_sev(row)} {one_line(row.get('check_id'))}"
        obj = object_label(row)
        if path is None:
            yield f"{obj}: {what}: {_message(row)}" if obj else f"{what}: {_message(row)}"
            continue
        where = f"{one_line(path)}:{line}" if line else one_line(path)
        yield f"{where}: {what} {obj}: {_message(row)}" if obj else f"{where}: {what}: {_message(row)}"


def github_level(row: Mapping[str, Any]) -> str | None:
    """The workflow command a finding becomes (``error``/``warning``/``notice``); None otherwise."""
    status, severity = row.get("status"), row.get("severity") or "medium"
    if status == "failing":
        return _FAILING_LEVEL.get(severity, "warning")
    if status == "warning":
        return _ADVICE_LEVEL.get(severity, "notice")
    if status in ("error", "timeout"):
        return "error"
    return None


def escape_data(value: str) -> str:
    """A workflow command's message, as the runner unescapes it."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    """A workflow command's property value (``file=…``, ``title=…``), as the runner unescapes it."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _workspace_relative(path: str, workspace: str | None) -> str:
    """An absolute path inside the checkout as the repository-relative path GitHub matches files by."""
    if workspace and os.path.isabs(path):
        try:
            rel = os.path.relpath(path, workspace)
        except ValueError:  # another drive (Windows)
            return path
        if not rel.startswith(os.pardir):
            return rel.replace(os.sep, "/")
    return path


def _command(row: Mapping[str, Any], level: str, workspace: str | None) -> str:
    props: list[tuple[str, str]] = []
    path = _file(row, stdin=False)
    if path is not None:
        props.append(("file", _workspace_relative(path, workspace)))
        line, column, end = _position(row)
        if line:
            props.append(("line", str(line)))
            if column:
                props.append(("col", str(column)))
            if end:
                props.append(("endLine", str(end)))
    check_id = str(row.get("check_id") or "kwa")
    name = row.get("check_name")
    props.append(("title", f"{check_id} {name}" if name and name != check_id else check_id))
    obj = object_label(row)
    text = f"{obj}: {row.get('message') or ''}" if obj else str(row.get("message") or "")
    if row.get("status") != "failing":
        text = f"{row.get('status')}: {text}"
    # Properties and message keep their own line breaks out of the log line by escaping them;
    # other controls are shown as \xNN like the text output does.
    rendered = ",".join(f"{k}={escape_property(_keep_breaks(v))}" for k, v in props)
    return f"::{level} {rendered}::{escape_data(_keep_breaks(text))}"


def _keep_breaks(value: str) -> str:
    """Controls other than line breaks as ``\\xNN`` (line breaks are escaped, not lost)."""
    return controls.escape_controls(value, "\r\n")


def _rank(row: Mapping[str, Any]) -> int:
    severity = row.get("severity")
    return _SEVERITIES.index(severity) if severity in _SEVERITIES else len(_SEVERITIES)


def github_commands(rows: Iterable[Mapping[str, Any]], workspace: str | None = None) -> Iterator[str]:
    """One GitHub Actions workflow command per finding, most severe first (module docstring).

    ``workspace`` (default ``$GITHUB_WORKSPACE``): absolute paths under it are made relative to it,
    the form GitHub attaches annotations to files by."""
    if workspace is None:
        workspace = os.environ.get("GITHUB_WORKSPACE") or None
    by_level: dict[str, list[Mapping[str, Any]]] = {level: [] for level in _LEVELS}
    for row in _findings(rows):
        level = github_level(row)
        if level is not None:
            by_level[level].append(row)
    for level in _LEVELS:
        by_level[level].sort(
            key=lambda r: (_rank(r), str(r.get("check_id") or ""), str(r.get("source") or ""), _position(r)[0] or 0)
        )
    hidden = {level: len(found) - GITHUB_SHOWN_PER_STEP for level, found in by_level.items()}
    hidden = {level: n for level, n in hidden.items() if n > 0}
    for level in _LEVELS:
        if level == "notice" and hidden:
            said = " and ".join(f"{n:,} {lv}s" for lv, n in hidden.items())
            yield (
                f"::notice title=kwa::{said} beyond the {GITHUB_SHOWN_PER_STEP} per level GitHub shows for a step "
                "are in this step's log only (most severe shown first)"
            )
        for row in by_level[level]:
            yield _command(row, level, workspace)
