"""Limits on what kwa reads, and the bounded record of what it could not read.

Manifests come from anywhere (a CI job's ``helm template``, a dump someone mailed, stdin), so
every resource a document can make kwa spend has a ceiling: bytes per file, per run and per
document, documents per input, nesting depth, YAML aliases and what they expand to, string
length. A document over a limit is skipped with a problem naming the file, the document and the
limit (``limits.depth``); everything else is still read. The defaults leave room for any real
cluster (docs/configuration.md, "Limits", gives the facts each one rests on); the ``limits:``
section of the config file and ``KWA_LIMIT_<NAME>`` environment variables change them.

:class:`Problems` keeps the first ``limits.problems`` problems in full and only counts the rest,
so half a million junk documents cost a counter, not half a million log lines or stored strings.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from checks.snapshot import ParseProblem

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

ENV_PREFIX = "KWA_LIMIT_"
# From how many objects a read holds equal parts once (checks.sources.share); validated with the limits.
SHARE_ENV = "KWA_SHARE_FROM"


class LimitError(ValueError):
    """A limit is set to something unusable; the message names it (``limits.depth: ...``)."""


@dataclass(frozen=True)
class Limits:
    """Ceilings on one run's manifest input. Sizes are bytes, ``depth`` counts nested collections."""

    # The largest cluster Kubernetes supports (~400,000 objects) dumped by `kubectl get -A -o json`
    # with managedFields and last-applied annotations, with room to spare; a large List is read
    # item by item (checks.sources.jsonlist), so memory is the input plus the slimmed objects.
    file_bytes: int = 2 * GiB
    # Every file and stdin of one run together: what parsing may hold in memory at once.
    input_bytes: int = 2 * GiB
    # YAML documents in one file or stdin (a 100,000-object dump written one object per document
    # has 100,000); past this, reading that input stops with one problem saying so.
    documents: int = 250_000
    # One document other than a List: etcd stores objects of at most 1.5 MiB and the API server
    # takes request bodies of at most 3 MiB; YAML's indentation can double that. A `kind: List`
    # (kubectl's dump: one document for the whole cluster) may hold this much per item on average.
    document_bytes: int = 8 * MiB
    # Nested mappings and sequences. Real CRD schemas reach 30-40 (the corpus' deepest: 35);
    # orjson cannot write anything deeper than 254 and Python recurses at most ~1,000 deep.
    depth: int = 100
    # YAML aliases (*name, and <<: merges) in one document: hand-written manifests use a few.
    aliases: int = 1_000
    # Nodes one document would have with every alias expanded (memoised over the node graph):
    # about what an 8 MiB document has without any. The 437-byte "billion laughs" has 435 million.
    alias_nodes: int = 1_000_000
    # Characters in one string (a key or a value): no object etcd stores holds a longer one.
    string_length: int = 1536 * KiB
    # Problems kept in full per run (and so logged and stored); the rest are counted by kind.
    problems: int = 20

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class _Spec:
    kind: str  # "bytes" (an integer or a size like 512Mi: string_length too) | "count"
    minimum: int
    maximum: int | None
    help: str


SPECS: dict[str, _Spec] = {
    "file_bytes": _Spec("bytes", 1, None, "bytes of one file or of stdin"),
    "input_bytes": _Spec("bytes", 1, None, "bytes of every input of one run together"),
    "documents": _Spec("count", 1, None, "YAML documents in one file or stdin"),
    "document_bytes": _Spec("bytes", 1, None, "bytes of one document (a List: per item, on average)"),
    "depth": _Spec("count", 2, 250, "nested mappings and sequences in one document"),
    "aliases": _Spec("count", 0, None, "YAML aliases and merge keys in one document (0: none allowed)"),
    "alias_nodes": _Spec("count", 1, None, "nodes of one document with every alias expanded"),
    "string_length": _Spec("bytes", 1, None, "characters in one string, key or value (written like a size)"),
    "problems": _Spec("count", 1, 100_000, "problems kept in full per run; the others are counted"),
}
assert set(SPECS) == {f.name for f in fields(Limits)}

# Matched against the value with its ASCII blanks stripped: with "\s*" at both ends as well, a value
# of many blanks that is no size made the pattern try every split of them (60 kB: 10 s).
_SIZE = re.compile(r"(\d+)\s*([KMGT]i?B?|B)?", re.IGNORECASE | re.ASCII)
_BLANKS = " \t\n\r\x0b\x0c"  # what \s is under re.ASCII
_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
          "ki": KiB, "mi": MiB, "gi": GiB, "ti": 1024 * GiB}


def parse_size(value: Any, path: str) -> int:
    """Bytes from an integer or a size: ``1048576``, ``512Mi``, ``1GiB``, ``10MB`` (decimal)."""
    if isinstance(value, bool):
        raise LimitError(f"{path}: expected a size in bytes (e.g. 512Mi), got {value!r}")
    if isinstance(value, int):
        return value
    match = _SIZE.fullmatch(value.strip(_BLANKS)) if isinstance(value, str) else None
    if match is None:
        raise LimitError(f"{path}: expected a size in bytes (e.g. 512Mi, 1GiB, 1048576), got {value!r}")
    unit = (match.group(2) or "").lower().removesuffix("b")
    return int(match.group(1)) * _UNITS[unit]


def _validate(key: str, value: Any, path: str) -> int:
    spec = SPECS[key]
    if spec.kind == "bytes":
        number = parse_size(value, path)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():  # int() fails on '²'
        number = int(value.strip())  # environment variables arrive as text
    elif isinstance(value, bool) or not isinstance(value, int):
        raise LimitError(f"{path}: expected a whole number, got {value!r}")
    else:
        number = value
    if number < spec.minimum:
        raise LimitError(f"{path}: must be at least {spec.minimum}, got {value!r}")
    if spec.maximum is not None and number > spec.maximum:
        raise LimitError(f"{path}: must be at most {spec.maximum}, got {value!r}")
    return number


def configured(section: Any, environ: Mapping[str, str] | None = None) -> Limits:
    """The limits of a config file's ``limits:`` section, then ``KWA_LIMIT_*`` variables on top.

    The environment wins: it is the one-off (``KWA_LIMIT_DEPTH=200 kwa run ...``), the file the
    standing policy. Raises :class:`LimitError` naming the key or the variable.
    """
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise LimitError(f"limits: expected a mapping of limit to value, got {type(section).__name__}")
    values: dict[str, int] = {}
    for key, value in section.items():
        if key not in SPECS:
            raise LimitError(f"limits.{key}: unknown limit; known limits: {', '.join(SPECS)}")
        values[key] = _validate(key, value, f"limits.{key}")
    env = os.environ if environ is None else environ
    for key in SPECS:
        raw = env.get(ENV_PREFIX + key.upper())
        if raw is not None and raw.strip():
            values[key] = _validate(key, raw, ENV_PREFIX + key.upper())
    share_threshold(env.get(SHARE_ENV))  # read by checks.sources.share, refused here with the limits
    limits = replace(Limits(), **values)
    if limits.file_bytes > limits.input_bytes:
        limits = replace(limits, file_bytes=limits.input_bytes)  # one file cannot be more than all of them
    return limits


def share_threshold(text: str | None) -> int | None:
    """``KWA_SHARE_FROM`` read: objects from which a read shares equal parts (``off``: never), None
    when unset; :class:`LimitError` naming the variable for anything else."""
    value = (text or "").strip()
    if not value:
        return None
    if value.lower() == "off":
        return sys.maxsize
    if value.isascii() and value.isdigit():  # '²' is a digit int() refuses
        return int(value)
    raise LimitError(f"{SHARE_ENV}: expected a whole number of objects (0: always) or off, got {value[:20]!r}")


def from_environment() -> Limits:
    """The defaults with ``KWA_LIMIT_*`` applied: what a caller that passes no limits gets."""
    return configured(None)


def size(n: int) -> str:
    """``1536 KiB``, ``512 MiB``: a limit as people write it."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= factor and n % (factor // 16 or 1) == 0:
            amount = n / factor
            return f"{amount:g} {unit}"
    return f"{n:,} bytes"


# ---- problems ---------------------------------------------------------------------------------

# What went wrong, for counting: a stable word per class of problem.
UNREADABLE = "unreadable"  # a file or directory that cannot be read
ENCODING = "encoding"  # bytes that are not valid UTF-8 (or UTF-16/32 after a BOM)
SYNTAX = "syntax"  # YAML or JSON that does not parse
DUPLICATE_KEY = "duplicate-key"
LIMIT = "limit"  # over one of the limits above
NOT_AN_OBJECT = "not-an-object"  # parses, but is not a Kubernetes object
MALFORMED = "malformed"  # a Kubernetes object with a field of the wrong type (quarantined)
NOTHING_READ = "nothing-read"  # the inputs held no object at all
OTHER = "other"  # a plain ParseProblem, appended by code that does not say what kind it is

KIND_LABELS = {
    UNREADABLE: "unreadable",
    ENCODING: "not valid text",
    SYNTAX: "does not parse",
    DUPLICATE_KEY: "duplicate key",
    LIMIT: "over a limit",
    NOT_AN_OBJECT: "not a Kubernetes object",
    MALFORMED: "malformed object",
    NOTHING_READ: "nothing read",
    OTHER: "other",
}


@dataclass
class InputProblem(ParseProblem):
    """A :class:`ParseProblem` that also says what kind of problem it is (for counting)."""

    kind: str = SYNTAX


@dataclass
class ReadStats:
    """What reading the inputs found, so "no objects" can say why (and a later outcome can use it)."""

    inputs: int = 0  # files and stdin given or found in directories
    read: int = 0  # inputs actually read
    bytes: int = 0
    documents: int = 0  # YAML documents, a JSON file counting as one
    empty: int = 0  # documents with nothing in them (a trailing ---, comments only)
    objects: int = 0  # objects accepted, List items included
    undecoded: int = 0  # inputs read but not text in their encoding (UTF-16/32 that does not decode)

    def as_dict(self) -> dict[str, int]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if not out["undecoded"]:  # said only when it happened: the stored summary keeps its shape
            del out["undecoded"]
        return out


class Problems(list[ParseProblem]):
    """The problems of one read: the first ``keep`` in full, every one counted by kind.

    A list, so it goes wherever a ``list[ParseProblem]`` does (``Snapshot(problems=...)``);
    iterating it yields the kept problems only. ``total`` and ``counts`` cover all of them, and
    ``stats`` holds what was read. Code that copies it into a plain list keeps the first ``keep``
    and loses the count, so pass the object itself along.
    """

    def __init__(self, keep: int = Limits.problems, items: Iterable[ParseProblem] = ()) -> None:
        super().__init__()
        self.keep = keep
        self.total = 0
        self.counts: Counter[str] = Counter()
        self.stats = ReadStats()
        for item in items:
            self.append(item)

    def append(self, problem: ParseProblem) -> None:  # type: ignore[override]
        self.total += 1
        self.counts[getattr(problem, "kind", OTHER)] += 1
        if len(self) < self.keep:
            super().append(problem)

    def extend(self, problems: Iterable[ParseProblem]) -> None:  # type: ignore[override]
        for problem in problems:
            self.append(problem)

    def add(self, kind: str, source: str, index: int | None, message: str) -> None:
        self.append(InputProblem(source, index, message, kind))

    @property
    def omitted(self) -> int:
        """Problems counted but not kept."""
        return self.total - len(self)

    def summary(self) -> str:
        """One line for a log or a console, e.g. ``250,002 inputs skipped (250,000 not a Kubernetes
        object, 1 over a limit, 1 nothing read); the first 20 follow``."""
        if not self.total:
            return "no inputs skipped"
        parts = ", ".join(f"{n:,} {KIND_LABELS.get(kind, kind)}" for kind, n in self.counts.most_common())
        noun = "input" if self.total == 1 else "inputs"
        shown = f"; the first {len(self)} follow" if self.omitted else ""
        return f"{self.total:,} {noun} skipped ({parts}){shown}"

    def facts(self) -> dict[str, Any]:
        """What a run should store: bounded whatever the input (the first ``keep``, and counts)."""
        return {
            "total": self.total,
            "by_kind": dict(self.counts),
            "shown": [str(p) for p in self],
            "omitted": self.omitted,
            "read": self.stats.as_dict(),
        }
