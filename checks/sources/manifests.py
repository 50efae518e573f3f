"""Manifest files as a snapshot: files, directories, stdin; multi-document YAML, JSON, ``kind: List``.

A document that cannot be used (does not parse, is not valid UTF-8, is over a limit of
checks.limits, defines a key twice, is not a Kubernetes object) becomes a problem naming its
file, document index and, where there is one, its line; every other document is still assessed.
Problems are collected in a :class:`checks.limits.Problems`: the first ``limits.problems`` in
full, every one counted, with what was read (files, bytes, documents, objects).

This module finds and reads the inputs and runs the parsers over them (serially, or in forked
workers for a large dump); what a parsed document must satisfy to become an object is in
:mod:`checks.sources.documents`, shared by every parser path.
"""

from __future__ import annotations

import codecs
import os
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import yaml

from checks.limits import (
    ENCODING,
    LIMIT,
    NOTHING_READ,
    SYNTAX,
    UNREADABLE,
    Limits,
    Problems,
    ReadStats,
    from_environment,
    size,
)
from checks.sandbox import IsolatedBatch, fork_available
from checks.snapshot import K8sObject, ParseProblem, Snapshot
from checks.sources import fastyaml, guards, jsondocs, stopping
from checks.sources.documents import (
    accept,
    check_document,
    check_unparsed,
    document_bytes,
    read_stats,
    report,
    syntax_error,
)
from checks.sources.guards import Rejected
from checks.sources.inputs import Decoded, NotText, Positions, TooLarge, decode, first_bad_char, read_path, read_stream
from checks.sources.places import Lines, document_place
from checks.sources.share import sharing
from checks.sources.splitting import split
from checks.sources.splitting import split_documents as _split_documents  # noqa: F401  (tests)
from checks.sources.splitting import split_lines as _split_lines  # noqa: F401  (tests)
from redaction.controls import shortened

SUFFIXES = (".yaml", ".yml", ".json")
PARALLEL_MIN_CHARS = 2_000_000  # below this, forking costs more than it saves
MAX_PARSE_WORKERS = 4
PARSE_TIMEOUT = 600.0
VET_GROUP = 128  # documents vetted together for the YAML fast path
STDIN = "-"

_JSON_START = re.compile(r"\s*[{\[]")
_JSON_START_BYTES = re.compile(rb"\s*[{\[]")

Result = tuple[int, Any, Rejected | None]  # (document index, document, why it is not usable)


class SourceError(Exception):
    """The source as a whole cannot be read (missing path, unreadable directory)."""


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given, directories walked recursively for *.yaml/*.yml/*.json, ``-`` kept."""
    return _expand(paths, None)[0]


def _expand(paths: Iterable[str], problems: list[ParseProblem] | None) -> tuple[list[str], list[str], int]:
    """``(inputs, directories without a manifest, manifests found but not readable)``; directories
    and manifests that cannot be read are problems."""
    out: list[str] = []
    empty: list[str] = []
    skipped = 0
    for raw in paths:
        if raw == STDIN:
            out.append(STDIN)
            continue
        path = Path(raw)
        try:
            is_dir, exists = path.is_dir(), path.exists()
        except OSError as exc:  # a name too long for the system, a loop of links: not a path kwa can use
            raise SourceError(f"manifest path cannot be used: {exc.strerror or exc}: {shortened(raw)}") from None
        if is_dir:
            found, unread = _walk(path, problems)
            skipped += unread
            out.extend(found)
            if not found:
                empty.append(raw)
        elif exists:  # a file, or a pipe such as <(helm template ...)
            out.append(str(path))
        else:
            raise SourceError(f"manifest path not found: {raw}")
    return out, empty, skipped


def _walk(root: Path, problems: list[ParseProblem] | None) -> tuple[list[str], int]:
    def unreadable(exc: OSError) -> None:
        if problems is not None:
            report(problems, UNREADABLE, str(exc.filename or root), None,
                    f"cannot read directory: {exc.strerror or exc}")

    found = [
        Path(folder, name)
        for folder, _, names in os.walk(root, onerror=unreadable)  # symlinked directories not followed
        for name in names
        if Path(name).suffix.lower() in SUFFIXES
    ]
    files: list[str] = []
    unread = 0
    for p in sorted(found):
        if p.is_file():
            files.append(str(p))
            continue
        unread += 1
        if problems is not None:  # a manifest that is not read must be said, not skipped silently
            report(problems, UNREADABLE, str(p), None, _not_a_file(p))
    return files, unread


def _not_a_file(path: Path) -> str:
    """Why a manifest-named entry of a directory is not read: a broken link, or not a regular file."""
    if path.is_symlink() and not path.exists():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"a symbolic link to {target}, which does not exist"
    return "not a regular file (a pipe, socket or device): not read"


def load_manifests(
    paths: Iterable[str], stdin: IO[Any] | None = None, description: str | None = None, limits: Limits | None = None
) -> Snapshot:
    """Every object in ``paths`` (``-``: ``stdin``, else the process' stdin), within ``limits``
    (default: checks.limits' defaults with ``KWA_LIMIT_*`` applied)."""
    paths = list(paths)
    limits = limits or from_environment()
    objects: list[K8sObject] = []
    problems = Problems(limits.problems)
    files, empty_dirs, unread = _expand(paths, problems)
    stats = problems.stats
    stats.inputs = len(files)
    with sharing():  # a large input's equal parts held once: checks.sources.share
        _read_files(files, stdin, limits, objects, problems)
    stats.objects = len(objects)
    if not objects:
        problems.add(NOTHING_READ, _inputs_label(files, paths), None, _why_nothing(stats, empty_dirs, unread))
    what = description or ", ".join(("<stdin>" if f == STDIN else f) for f in paths)
    return Snapshot(objects=objects, mode="manifest", description=f"manifests: {what}", problems=problems)


def _read_files(
    files: list[str], stdin: IO[Any] | None, limits: Limits, objects: list[K8sObject], problems: Problems
) -> None:
    stats = problems.stats
    budget = limits.input_bytes
    for name in files:
        stopping.check()
        label = "<stdin>" if name == STDIN else name
        allowed = min(limits.file_bytes, budget)
        try:
            if name != STDIN:
                data = read_path(name, allowed)
            elif (stdin or sys.stdin) is None:  # a daemon, pythonw: no stdin at all
                raise OSError("no standard input")
            else:
                data = read_stream(stdin or sys.stdin, allowed)
        except TooLarge as exc:
            problems.add(LIMIT, label, None, _too_large(exc, limits, budget))
            continue
        except OSError as exc:
            problems.add(UNREADABLE, label, None, f"cannot read file: {exc.strerror or exc}")
            continue
        budget -= len(data)
        stats.read += 1
        stats.bytes += len(data)
        json_first = name.lower().endswith(".json")
        if isinstance(data, str):
            parse_text(data, label, objects, problems, json_first=json_first, limits=limits)
        else:
            parse_bytes(data, label, objects, problems, json_first=json_first, limits=limits)


def _too_large(exc: TooLarge, limits: Limits, budget: int) -> str:
    if budget < limits.file_bytes:
        used = limits.input_bytes - budget
        return (f"not read: the inputs before it used {size(used)} of limits.input_bytes "
                f"({size(limits.input_bytes)})")
    if exc.size is None:  # a pipe or stdin: reading stopped at the limit
        return f"over limits.file_bytes ({size(limits.file_bytes)}); reading stopped there, nothing of it used"
    return f"{size(exc.size)}, over limits.file_bytes ({size(limits.file_bytes)}); not read"


def _inputs_label(files: list[str], paths: list[str]) -> str:
    names = ["<stdin>" if f == STDIN else f for f in (files or paths)]
    return names[0] if len(names) == 1 else f"{len(names)} inputs"


def _why_nothing(stats: ReadStats, empty_dirs: list[str], unread: int = 0) -> str:
    """Why a read found no object at all: the facts a user needs to tell a typo from a bad dump."""
    if not stats.inputs:
        where = f" in {', '.join(empty_dirs)}" if empty_dirs else ""
        if unread:  # each one said above: a broken link, a pipe
            return f"no Kubernetes objects: no readable .yaml, .yml or .json files{where} ({unread:,} not read)"
        return f"no Kubernetes objects: no .yaml, .yml or .json files{where}"
    if not stats.read:
        return "no Kubernetes objects: no input could be read"
    if not stats.bytes:
        return "no Kubernetes objects: the input is empty" if stats.read == 1 else (
            f"no Kubernetes objects: the {stats.read} inputs are empty")
    if stats.undecoded == stats.read:
        return f"no Kubernetes objects: {stats.bytes:,} bytes read, not text in their encoding (said above)"
    if stats.documents == stats.empty:
        undecoded = f"; {stats.undecoded:,} input(s) not text in their encoding (said above)" if stats.undecoded else ""
        return (f"no Kubernetes objects: {stats.bytes:,} bytes read, no document in them (blank or comments "
                f"only){undecoded}")
    used = stats.documents - stats.empty
    empty = f"; {stats.empty:,} more were empty" if stats.empty else ""
    if used == 1:
        return f"no Kubernetes objects: the one document read was skipped{empty}"
    return f"no Kubernetes objects: none of the {used:,} documents read is one{empty}"


def parse_bytes(
    data: bytes,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    json_first: bool = False,
    limits: Limits | None = None,
) -> None:
    """Append the objects of one input's bytes to ``objects``; problems go to ``problems``."""
    limits = limits or from_environment()
    body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    # JSON straight from the bytes: orjson checks the UTF-8 itself, and nothing is decoded twice.
    if (json_first or _JSON_START_BYTES.match(body)) and _json_document(body, label, objects, problems, limits):
        return
    try:
        decoded = decode(data)
    except NotText as exc:
        report(problems, ENCODING, label, None,
                f"not valid {exc.encoding.upper()} text: {exc.reason} at byte offset {exc.offset:,}")
        read_stats(problems).undecoded += 1
        return
    if decoded.cut is not None:
        report(problems, ENCODING, label, None,
               f"cut short: its last {len(data) - decoded.cut} byte(s), from offset {decoded.cut:,}, are not a whole "
               f"{decoded.encoding.upper()} character; the text before them is read")
    _yaml_documents(decoded, label, objects, problems, limits)


def parse_text(
    text: str,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    json_first: bool = False,
    limits: Limits | None = None,
) -> None:
    """Append the objects of one file (or stdin), already decoded, to ``objects``."""
    limits = limits or from_environment()
    if (json_first or _JSON_START.match(text)) and _json_document(text, label, objects, problems, limits):
        return
    _yaml_documents(Decoded(text, "utf-8", True, 0), label, objects, problems, limits)


def _json_document(
    text: str | bytes, label: str, objects: list[K8sObject], problems: list[ParseProblem], limits: Limits
) -> bool:
    """Read ``text`` as JSON (checks.sources.jsondocs); False if it is not (the YAML parser then
    reads it, or reports a located error: JSON is YAML)."""
    return jsondocs.read_json(text, label, objects, problems, limits)


def _yaml_documents(
    decoded: Decoded, label: str, objects: list[K8sObject], problems: list[ParseProblem], limits: Limits
) -> None:
    text = decoded.text
    stats = read_stats(problems)
    chunks: list[str | Rejected]
    raw, starts, truncated = split(text, limits.documents)
    chunks = list(raw)
    positions = Positions(text, decoded.skipped)
    lines = Lines(text)
    if not decoded.clean:
        for i, chunk in enumerate(raw):
            bad = first_bad_char(chunk)
            if bad is not None:
                chunks[i] = Rejected(ENCODING, f"not valid UTF-8: {positions.bad_byte(starts[i] + bad)}")
    for index, doc, failure in _documents(chunks, text, limits):
        stats.documents += 1
        if failure is not None:
            line = positions.line(starts[min(index, len(starts) - 1)])
            report(problems, failure.kind, label, index, failure.describe(line))
        else:
            stats.empty += doc is None
            if doc is not None:
                # A chunk the splitter could not cut (markers it cannot see) holds several
                # documents: they share its place.
                chunk = index if len(raw) > 1 else 0
                place = document_place(text, lines, starts[chunk], starts[chunk] + len(raw[chunk]))
                accept(doc, label, index, objects, problems, place, lines)
    if truncated:
        report(problems, LIMIT, label, None, f"more than limits.documents ({limits.documents:,}) documents; "
                                              f"the rest of the input was not read")


def _documents(chunks: list[str | Rejected], text: str, limits: Limits) -> Iterator[Result]:
    """``(index, document, failure)`` in document order, parsed in forked workers when large."""
    workers = min(os.cpu_count() or 1, MAX_PARSE_WORKERS)
    if len(text) >= PARALLEL_MIN_CHARS and len(chunks) >= 2 * workers and workers > 1 and fork_available():
        yield from _parse_in_parallel(chunks, workers, limits)
        return
    results = _parse_chunks(chunks, 0, limits)
    if len(chunks) == 1 and len(results) > 1:
        # One chunk holding several documents (markers the splitter could not see): number them.
        results = [(i, doc, failure) for i, (_, doc, failure) in enumerate(results)]
    yield from results


def _parse_chunks(chunks: list[str | Rejected], first: int, limits: Limits) -> list[Result]:
    """``(index, document, failure)`` for consecutive documents starting at index ``first``."""
    out: list[Result] = []
    for start in range(0, len(chunks), VET_GROUP):
        stopping.check()
        group = chunks[start : start + VET_GROUP]
        # Vet documents a group at a time: the words of similar documents repeat, so a group costs
        # about what one document does; a group with a doubtful word is vetted document by document.
        # (A document that may be over limits.document_bytes is vetted on its own, if parsed at all.)
        small = [isinstance(c, str) and len(c) * 4 <= limits.document_bytes for c in group]
        texts = [c for c, ok in zip(group, small, strict=True) if ok]
        vetted = fastyaml.available() and len(texts) > 1 and not fastyaml.suspicious("\n".join(texts))  # type: ignore[arg-type]
        with fastyaml.quiet():  # one stderr redirection for the group, not one per document
            for offset, (chunk, ok) in enumerate(zip(group, small, strict=True), first + start):
                if isinstance(chunk, Rejected):
                    out.append((offset, None, chunk))
                    continue
                try:
                    # A chunk with no document (blank, comments only) counts as one empty document.
                    docs = _parse_chunk(chunk, limits, vetted and ok)
                    out.extend((offset, doc, None) for doc in docs or [None])
                except Rejected as exc:
                    out.append((offset, None, exc))
                except yaml.YAMLError as exc:
                    out.append((offset, None, syntax_error(exc, chunk)))
                except Exception as exc:  # whatever a parser does with a hostile document stays with it
                    out.append((offset, None, Rejected(SYNTAX, f"YAML does not parse: {type(exc).__name__}: {exc}")))
    return out


def _parse_chunk(chunk: str, limits: Limits, vetted: bool) -> list[Any]:
    """The documents of one chunk: rapidyaml where it provably agrees with PyYAML, else PyYAML's
    guarded loader; raises Rejected, or yaml.YAMLError for a syntax error."""
    nbytes = document_bytes(chunk, limits)
    check_unparsed(chunk, nbytes, limits)
    if limits.depth < fastyaml.EMIT_DEPTH:
        guards.check_yaml_depth(chunk, limits.depth)  # the fast path bounds depth only at its own 66
    value = fastyaml.load(chunk, vetted=vetted, limits=limits, quiet=False)
    docs = [value] if value is not fastyaml.NOT_FAST else guards.load_guarded(chunk, limits)
    if nbytes is not None:  # a big document: a List is measured item by item (depth is known by now)
        for doc in docs:
            check_document(doc, nbytes, limits, depth_known=True)
    return docs


def _parse_in_parallel(chunks: list[str | Rejected], workers: int, limits: Limits) -> Iterator[Result]:
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
        [(job, PARSE_TIMEOUT) for job in others],
        lambda job: _parse_chunks(slices[job][1], slices[job][0], limits),
        len(others),
    ).start()
    try:
        for job in slices:
            if job == "0":
                parsed = _parse_chunks(slices[job][1], slices[job][0], limits)
            else:
                while not batch.done(job, 0.25):  # a stop does not wait for a worker's slice
                    stopping.check()
                try:
                    parsed = batch.wait(job).unwrap(PARSE_TIMEOUT)
                except Exception:  # a worker that died: parse its slice here instead, nothing is lost
                    parsed = _parse_chunks(slices[job][1], slices[job][0], limits)
            yield from parsed
    except stopping.ReadStopped:
        batch.cancel("reading was stopped")  # its workers are killed
        raise
