"""Input a run skipped — a document that does not parse, one that is not a Kubernetes object, one
over a limit — as each output format shows it.

A skipped document is not a finding of any check, but a pull request that breaks a manifest must
not pass a lint silently: the text output puts it among the findings in the same
``file:line: ERROR …`` shape (the line when the parser gave one, else the file alone),
``-o github`` makes it an error annotation on the file, SARIF a tool execution notification with
the file and line. The run keeps the problems as text (``ParseProblem.__str__``:
``"<source> (document N): <message>"``, the message ending ``(line L, column C)`` for a syntax
error), so this module reads the place back out of that text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cli.formatters.annotations import one_line
from cli.formatters.sarif import parse_source

_PROBLEM = re.compile(r"(?P<source>.+?)(?: \(document (?P<document>\d+)\))?: (?P<message>.+)", re.S)
_AT = re.compile(r"\(line (?P<line>\d+)(?:, column (?P<column>\d+))?\)")
_INDEX_TAIL = re.compile(r"(?:#\d+)*$")
_INDICES = re.compile(r"#(\d+)")


@dataclass(frozen=True)
class Skipped:
    """One skipped input: its whole text, and the file, document and position when known."""

    text: str
    file: str | None = None  # a manifest file; stdin is ``source`` "<stdin>" with no file
    source: str | None = None
    message: str | None = None  # the text after the source and document
    document: int | None = None  # counted from 0, as the run's problem text counts them
    line: int | None = None
    column: int | None = None
    item: int | None = None  # a List item's index within its document


def parse(problem: str) -> Skipped:
    """A run's problem text as a :class:`Skipped`; a text of another shape keeps only its text."""
    match = _PROBLEM.fullmatch(problem)
    if match is None:
        return Skipped(problem)
    source = match["source"]
    parsed = parse_source(source)
    # A List item's problem: the source is "file#D" (the List is document D) and the index the item's.
    within = [int(i) for i in _INDICES.findall(_INDEX_TAIL.search(source)[0])]
    at = list(_AT.finditer(match["message"]))
    line = int(at[-1]["line"]) if at else None
    column = int(at[-1]["column"]) if at and at[-1]["column"] else None
    document = int(match["document"]) if match["document"] is not None else None
    item = None
    if within and document is not None:
        document, item = within[0], document
    return Skipped(problem, parsed[0] if parsed else None, source, match["message"], document, line, column, item)


def skipped_of(view: Mapping[str, Any] | None) -> tuple[list[Skipped], int]:
    """The kept problems of a run's view or summary facts, and how many there were in all."""
    problems = [str(p) for p in (view or {}).get("problems") or []]
    total = max(int((view or {}).get("problems_total") or 0), len(problems))
    return [parse(p) for p in problems], total


def text_lines(skipped: Iterable[Skipped], total: int = 0) -> Iterator[str]:
    """``file:line: ERROR input: <problem>`` per skipped input (the file alone without a line)."""
    count = 0
    for item in skipped:
        count += 1
        path = item.file or ("<stdin>" if (item.source or "").startswith("<stdin>") else None)
        if path is None or item.message is None:
            yield f"ERROR input: {one_line(item.text)}"
        else:
            where = f"{path}:{item.line}" if item.line else path
            document = f" (document {item.document}" if item.document is not None else ""
            document += f", items[{item.item}])" if document and item.item is not None else (")" if document else "")
            yield f"{one_line(where)}: ERROR input{document}: {one_line(item.message)}"
    if total > count:
        yield f"ERROR input: {total - count:,} more skipped input(s) not listed ({total:,} in all)"


def github_commands(skipped: Iterable[Skipped], total: int = 0) -> Iterator[str]:
    """An ``::error`` workflow command per skipped input, on its file and line when known."""
    from cli.formatters.annotations import escape_data, escape_property

    count = 0
    for item in skipped:
        count += 1
        props = []
        if item.file is not None:
            props.append(f"file={escape_property(item.file)}")
            if item.line:
                props.append(f"line={item.line}")
                if item.column:
                    props.append(f"col={item.column}")
        props.append("title=" + escape_property("kwa: input skipped"))
        yield f"::error {','.join(props)}::{escape_data(item.text)}"
    if total > count:
        yield f"::error title=kwa::{total - count:,} more skipped input(s) not listed ({total:,} in all)"


def sarif_notifications(skipped: Iterable[Skipped], total: int = 0) -> list[dict[str, Any]]:
    """SARIF ``toolExecutionNotifications`` (level error, descriptor ``kwa/input``), located."""
    from cli.formatters.sarif import artifact_uri

    out: list[dict[str, Any]] = []
    for item in skipped:
        note: dict[str, Any] = {
            "level": "error",
            "message": {"text": f"input skipped: {item.text}"},
            "descriptor": {"id": "kwa/input"},
        }
        if item.file is not None:
            physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(item.file)}}
            if item.line:
                physical["region"] = {"startLine": item.line, **({"startColumn": item.column} if item.column else {})}
            note["locations"] = [{"physicalLocation": physical}]
        out.append(note)
    if total > len(out):
        out.append({
            "level": "error",
            "message": {"text": f"{total - len(out):,} more skipped input(s) not listed ({total:,} in all)"},
            "descriptor": {"id": "kwa/input"},
        })  # fmt: skip
    return out
