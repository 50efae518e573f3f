"""Manifest files as a snapshot: files, directories, stdin; multi-document YAML, JSON, ``kind: List``.

A document that does not parse, or is not a Kubernetes object, becomes a :class:`ParseProblem`
naming its file and document index; every other document is still assessed.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import yaml

from checks.sandbox import IsolatedBatch, fork_available
from checks.snapshot import K8sObject, ParseProblem, Snapshot
from checks.sources import fastyaml

try:  # the C loader is ~10x faster on large dumps
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

SUFFIXES = (".yaml", ".yml", ".json")
PARALLEL_MIN_CHARS = 2_000_000  # below this, forking costs more than it saves
MAX_PARSE_WORKERS = 4
PARSE_TIMEOUT = 600.0
VET_GROUP = 128  # documents vetted together for the YAML fast path
STDIN = "-"


class SourceError(Exception):
    """The source as a whole cannot be read (missing path, unreadable directory)."""


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given, directories walked recursively for *.yaml/*.yml/*.json, ``-`` kept."""
    out: list[str] = []
    for raw in paths:
        if raw == STDIN:
            out.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            out.extend(str(p) for p in found)
        elif path.is_file():
            out.append(str(path))
        else:
            raise SourceError(f"manifest path not found: {raw}")
    return out


def load_manifests(paths: Iterable[str], stdin: TextIO | None = None, description: str | None = None) -> Snapshot:
    files = expand_paths(paths)
    objects: list[K8sObject] = []
    problems: list[ParseProblem] = []
    for name in files:
        if name == STDIN:
            text = (stdin or sys.stdin).read()
            label = "<stdin>"
        else:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(ParseProblem(name, None, f"cannot read file: {exc}"))
                continue
            label = name
        parse_text(text, label, objects, problems, json_first=name.lower().endswith(".json"))
    what = description or ", ".join(("<stdin>" if f == STDIN else f) for f in list(paths))
    return Snapshot(objects=objects, mode="manifest", description=f"manifests: {what}", problems=problems)


def parse_text(
    text: str,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    json_first: bool = False,
) -> None:
    """Append the objects of one file (or stdin) to ``objects``; problems go to ``problems``."""
    if json_first or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError:
            pass  # JSON is also YAML; fall through so the YAML parser reports a located error
        else:
            _accept(data, label, 0, objects, problems)
            return
    for index, doc in _documents(text, label, problems):
        _accept(doc, label, index, objects, problems)


def _documents(text: str, label: str, problems: list[ParseProblem]) -> Iterator[tuple[int, Any]]:
    """Yield ``(index, document)``; a broken document is reported and parsing resumes after it."""
    chunks = _split_documents(text)
    workers = min(os.cpu_count() or 1, MAX_PARSE_WORKERS)
    if len(text) >= PARALLEL_MIN_CHARS and len(chunks) >= 2 * workers and workers > 1 and fork_available():
        yield from _parse_in_parallel(chunks, label, problems, workers)
        return
    if len(chunks) == 1:
        # One pass over the whole stream (several documents the splitter could not see apart).
        try:
            yield from enumerate(_load_all(text))
            return
        except yaml.YAMLError:
            pass
    for index, doc, error in _parse_chunks(chunks, 0):
        if error is not None:
            problems.append(ParseProblem(label, index, error))
        else:
            yield index, doc


def _load_all(text: str, vetted: bool = False) -> list[Any]:
    """The documents of ``text``: rapidyaml where it provably agrees with PyYAML, else PyYAML.
    ``vetted``: the caller already knows that no word of ``text`` reads differently."""
    value = fastyaml.load(text, vetted=vetted)
    if value is not fastyaml.NOT_FAST:
        return [value]
    return list(yaml.load_all(io.StringIO(text) if len(text) > 1_000_000 else text, Loader=_Loader))


def _parse_chunks(chunks: list[str], first: int) -> list[tuple[int, Any, str | None]]:
    """``(index, document, error)`` for consecutive documents starting at index ``first``."""
    out: list[tuple[int, Any, str | None]] = []
    vetted: set[int] = set()
    if fastyaml.available():
        # Vet documents a group at a time: the words of similar documents repeat, so a group costs
        # about what one document does; a group with a doubtful word is vetted document by document.
        for start in range(0, len(chunks), VET_GROUP):
            group = chunks[start : start + VET_GROUP]
            if len(group) > 1 and not fastyaml.suspicious("\n".join(group)):
                vetted.update(range(start, start + len(group)))
    for offset, chunk in enumerate(chunks):
        try:
            docs = _load_all(chunk, vetted=offset in vetted)
        except yaml.YAMLError as exc:
            out.append((first + offset, None, f"YAML does not parse: {_yaml_message(exc)}"))
            continue
        out.extend((first + offset, doc, None) for doc in docs)
    return out


def _parse_in_parallel(
    chunks: list[str], label: str, problems: list[ParseProblem], workers: int
) -> Iterator[tuple[int, Any]]:
    """Parse a large dump on every core: even slices of its documents, each in a forked process.

    The C loader reads about 4 MB/s, so a 10,000-object dump (17 MB) took 4-5 s on one core.
    The semantics are PyYAML's own in every process, so the result is the same as a serial parse.
    """
    bounds = [round(i * len(chunks) / workers) for i in range(workers + 1)]
    slices = {str(i): (bounds[i], chunks[bounds[i] : bounds[i + 1]]) for i in range(workers)}
    # This process parses the first slice itself while forked workers parse the others: one
    # slice fewer to pickle across a pipe.
    others = [job for job in slices if job != "0"]
    batch = IsolatedBatch(
        [(job, PARSE_TIMEOUT) for job in others], lambda job: _parse_chunks(slices[job][1], slices[job][0]), len(others)
    ).start()
    for job in slices:
        if job == "0":
            parsed = _parse_chunks(slices[job][1], slices[job][0])
        else:
            try:
                parsed = batch.wait(job).unwrap(PARSE_TIMEOUT)
            except Exception:  # a worker that died: parse its slice here instead, nothing is lost
                parsed = _parse_chunks(slices[job][1], slices[job][0])
        for index, doc, error in parsed:
            if error is not None:
                problems.append(ParseProblem(label, index, error))
            else:
                yield index, doc


_MARKER = re.compile(r"^---(?:[ \t#][^\n]*)?(?:\n|\Z)", re.MULTILINE)
# Line breaks str.splitlines knows besides "\n": with any of them, the line-by-line split decides.
_OTHER_BREAKS = re.compile("[\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def _split_documents(text: str) -> list[str]:
    """Split on ``---`` document markers so one bad document cannot hide the others."""
    if _OTHER_BREAKS.search(text):
        return _split_lines(text)
    chunks: list[str] = []
    start, head = 0, ""
    for marker in _MARKER.finditer(text):  # one regex scan instead of a Python loop per line
        chunks.append(head + text[start : marker.start()])
        rest = marker.group()[3:]
        head = rest.lstrip() if rest.strip() else ""
        start = marker.end()
    chunks.append(head + text[start:])
    return _drop_leading_empty(chunks)


def _split_lines(text: str) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("---") and (len(line) == 3 or line[3] in " \t\r\n#"):
            chunks.append("".join(current))
            current = [line[3:].lstrip() if line[3:].strip() else ""]
            continue
        current.append(line)
    chunks.append("".join(current))
    return _drop_leading_empty(chunks)


def _drop_leading_empty(chunks: list[str]) -> list[str]:
    # A leading empty chunk (file starting with ---) is not a document.
    if chunks and not chunks[0].strip():
        chunks = chunks[1:] or [""]
    return chunks


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


def _accept(doc: Any, label: str, index: int, objects: list[K8sObject], problems: list[ParseProblem]) -> None:
    if doc is None:
        return
    if not isinstance(doc, dict):
        problems.append(ParseProblem(label, index, f"not a Kubernetes object (a {type(doc).__name__})"))
        return
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item_no, item in enumerate(doc["items"]):
            if not isinstance(item, dict):
                problems.append(ParseProblem(label, index, f"items[{item_no}] is not an object"))
                continue
            item.setdefault("kind", kind[: -len("List")] if kind != "List" else item.get("kind"))
            if "apiVersion" not in item and doc.get("apiVersion") and kind != "List":
                item["apiVersion"] = doc["apiVersion"]
            _accept_object(item, f"{label}#{index}", item_no, objects, problems)
        return
    _accept_object(doc, label, index, objects, problems)


def _accept_object(
    doc: dict[str, Any], label: str, index: int, objects: list[K8sObject], problems: list[ParseProblem]
) -> None:
    missing = [k for k in ("apiVersion", "kind") if not isinstance(doc.get(k), str) or not doc.get(k)]
    meta = doc.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        missing.append("metadata.name")
    if missing:
        problems.append(ParseProblem(label, index, f"not a Kubernetes object: missing {', '.join(missing)}"))
        return
    objects.append(K8sObject(doc, label, index))
