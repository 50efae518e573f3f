"""Baselines: accept the findings a repository or cluster already has, and fail only on new ones.

A *finding* is a ``failing`` or ``warning`` result row (a dict with the keys of
``storage.result_rows.COLUMNS``). A baseline is a list of entries, one per finding it accepts, kept in
a JSON file (``kwa-baseline.json``) or read from a stored run. :func:`split` sorts the findings of a
new assessment against it: *new* ones (what a gate judges), *known* ones (suppressed), and the entries
that need attention: *expired* (their date passed; they suppress nothing), *stale* (they match no
finding any more: the problem was fixed) and *unchecked* (their check did not run, so nothing can be
said about them).

Matching
--------
An entry matches a finding when their fingerprints are equal (:func:`finding_key`). The fingerprint
hashes the check id, the object (kind, namespace, name), the container, the field path without
list positions (:func:`field_shape`) and the finding's message with every number masked
(:func:`message_shape`). Left out on purpose:

* the file, line and column: moving an object in its file, reordering documents, renaming or
  reformatting the file do not make its findings new;
* list positions in the field path: reordering a pod's containers or volumes does not either (the
  container's name is in the fingerprint, and a message names the volume or port it is about);
* numbers in the message: ``limit 512Mi > 256Mi`` and ``limit 1Gi > 256Mi`` are the same finding,
  and a live cluster's figures (replicas ready, CPU used) do not churn a baseline run after run;
* the severity: a configuration that raises a check's severity does not make old findings new.

Kept in: the field, so two findings of one check on one object that differ only by field stay
apart; and the rest of the message, so a different problem on the same object and field (one more
capability granted, one more container without limits) is new. A finding whose text changed
counts as new, and its old entry as stale; :attr:`BaselineSplit.changed` counts these, so the
summary can say so. Entries are a multiset: two findings with one fingerprint need two entries.

The other fields of an entry (object, message, severity) are for the people reading the file and
for reports; only the check and the fingerprint decide a match.

This module imports only the standard library: ``kwa lint`` loads it on its fast path. The file
format (reading and checking a file, writing one atomically, ``--baseline-expires``) is in
:mod:`kwa.baseline_file`; its names are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from kwa.baseline_file import (
    ENTRY_FIELDS,
    FORMAT_VERSION,
    BaselineError,
    generator,
    parse_expires,
    read_document,
    today_utc,
    write_atomically,
)

__all__ = [
    "FORMAT_VERSION",
    "Baseline",
    "BaselineError",
    "BaselineOptions",
    "BaselineSplit",
    "Entry",
    "field_shape",
    "finding_key",
    "is_finding",
    "message_shape",
    "object_ref",
    "parse_expires",
    "run_entries",
    "split",
    "today_utc",
    "write_baseline",
]

FINDING_STATUSES = frozenset({"failing", "warning"})
LISTED = 200
"""Entries and new findings listed by :meth:`BaselineSplit.as_dict` (the rest are counted)."""
SUMMARY_NAMED = 3
"""Expired entries the summary line names (the rest are counted)."""

# A number with an optional unit or percent sign, standing alone: "512Mi", "11.5%", "2", "1.27".
# Not digits inside a word ("v1beta1", "web-7d9f8"): those are names, not measurements.
# The pattern starts with \d (the look-behind comes after the first digit) so that the regex engine
# scans for a digit instead of trying the look-behind at every position: 3x faster on long messages.
_NUMBER = re.compile(r"\d(?<![\w.]\d)\d*(?:\.\d+)*(?:[A-Za-z]{1,3}|%)?(?!\w)")
_DIGIT = re.compile(r"\d")
_INDEX = re.compile(r"\[\d+\]")


def is_finding(row: Mapping[str, Any]) -> bool:
    return row.get("status") in FINDING_STATUSES


@lru_cache(maxsize=65536)  # most messages repeat across objects ("no NetworkPolicy … selects this workload")
def message_shape(message: str | None) -> str:
    """The message with numbers masked and white space collapsed (what the fingerprint hashes)."""
    text = message or ""
    if _DIGIT.search(text):
        text = _NUMBER.sub("#", text)
    return " ".join(text.split())


def field_shape(field_path: str | None) -> str:
    """The field path without list positions: ``containers[1].image`` → ``containers[].image``."""
    return _INDEX.sub("[]", field_path) if field_path and "[" in field_path else field_path or ""


def object_ref(row: Mapping[str, Any]) -> str | None:
    """``Deployment/shop/api``, ``ClusterRole/admin`` (cluster-scoped), None for the cluster itself."""
    parts = [str(row[k]) for k in ("object_kind", "object_namespace", "object_name") if row.get(k)]
    return "/".join(parts) or None


def finding_key(row: Mapping[str, Any]) -> str:
    """The finding's fingerprint: 16 hex digits, stable across line moves and file renames."""
    parts = (
        "kwa-baseline-1",
        row.get("check_id"),
        row.get("object_kind"),
        row.get("object_namespace"),
        row.get("object_name"),
        row.get("container"),
        field_shape(row.get("field_path")),
        message_shape(row.get("message")),
    )
    # \x1f cannot occur in a Kubernetes name or a check id; None and "" hash alike on purpose
    # (a manifest without a namespace and one with an empty namespace are the same object).
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class Entry:
    """One accepted finding (the file's fields: :data:`kwa.baseline_file.ENTRY_FIELDS`).

    ``expires``: the last day it suppresses (None: never expires)."""

    check: str
    fingerprint: str
    object: str | None = None
    container: str | None = None
    field: str | None = None
    severity: str | None = None
    message: str | None = None
    expires: date | None = None
    reason: str | None = None

    @classmethod
    def of(cls, row: Mapping[str, Any], expires: date | None = None, reason: str | None = None) -> Entry:
        return cls(
            check=str(row.get("check_id")),
            fingerprint=finding_key(row),
            object=object_ref(row),
            container=row.get("container") or None,
            field=row.get("field_path") or None,
            severity=row.get("severity") or None,
            message=row.get("message") or None,
            expires=expires,
            reason=reason,
        )

    @property
    def label(self) -> str:
        """``SEC-001 Deployment/shop/api`` (with `` container app`` when it has one)."""
        text = f"{self.check} {self.object or '(the cluster)'}"
        return text + (f" container {self.container}" if self.container else "")

    @property
    def identity(self) -> tuple[str | None, ...]:
        """What the finding is about, without its text: tells a changed finding from a fixed one."""
        return (self.check, self.object, self.container, field_shape(self.field))

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def as_json(self) -> dict[str, Any]:
        values = {
            "check": self.check,
            "object": self.object,
            "container": self.container,
            "field": self.field,
            "fingerprint": self.fingerprint,
            "severity": self.severity,
            "message": self.message,
            "expires": self.expires.isoformat() if self.expires else None,
            "reason": self.reason,
        }
        return {k: values[k] for k in ENTRY_FIELDS}

    def sort_key(self) -> tuple[str, ...]:
        return (self.check, self.object or "", self.container or "", self.field or "", self.fingerprint)


def _identity(row: Mapping[str, Any]) -> tuple[str | None, ...]:
    return (str(row.get("check_id")), object_ref(row), row.get("container") or None, field_shape(row.get("field_path")))


@dataclass
class Baseline:
    """The accepted findings and where they came from (``source``: the file, or ``run <id>``)."""

    entries: list[Entry]
    source: str
    generator: str | None = None
    created: str | None = None
    stored: bool = False  # a stored run's findings, not a file: there is no file to trim

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, Any]],
        source: str,
        previous: Baseline | None = None,
        expires: date | None = None,
        keep: Iterable[Entry] = (),
    ) -> Baseline:
        """A baseline accepting every finding in ``rows``.

        An entry of ``previous`` with the same fingerprint passes on its ``expires`` and ``reason``
        (a rewrite keeps what people wrote, and never renews an expired entry); other entries get
        ``expires``. ``keep``: entries carried over as they are (those whose check did not run).
        """
        carried: dict[str, list[Entry]] = defaultdict(list)
        for old in previous.entries if previous else ():
            carried[old.fingerprint].append(old)
        entries = list(keep)
        for row in rows:
            if not is_finding(row):
                continue
            entry = Entry.of(row, expires)
            olds = carried.get(entry.fingerprint)
            if olds:
                old = olds.pop(0)
                entry = Entry.of(row, old.expires, old.reason)
            entries.append(entry)
        return cls(sorted(entries, key=Entry.sort_key), source)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Baseline:
        """Read and check a baseline file; :class:`BaselineError` names the file and the bad entry."""
        document = read_document(path)
        entries = [Entry(**values) for values in document["entries"]]
        return cls(entries, str(path), document.get("generator"), document.get("created"))

    def dumps(self, generator: str, created: str) -> str:
        """The file's text: keys in a fixed order, entries sorted, one entry per line (a changed entry is
        a changed line in a diff; and ``json.dumps`` of one entry runs in C, where ``indent`` would make
        the whole document go through the pure-Python encoder, ten times slower)."""
        head = {"version": FORMAT_VERSION, "generator": generator, "created": created}
        lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
        encode = json.JSONEncoder(ensure_ascii=False).encode
        entries = ",\n".join("    " + encode(e.as_json()) for e in sorted(self.entries, key=Entry.sort_key))
        body = f'  "entries": [\n{entries}\n  ]' if entries else '  "entries": []'
        return "{\n" + "\n".join(lines) + "\n" + body + "\n}\n"

    def write(self, path: str | os.PathLike[str], now: datetime | None = None) -> None:
        """Write the file atomically: a reader sees the old file or the new one, never half of one."""
        created = (now or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        write_atomically(Path(path), self.dumps(generator(), created))


@dataclass
class BaselineSplit:
    """The findings of an assessment sorted against a baseline (see the module docstring)."""

    source: str
    stored: bool = False
    new: list[Mapping[str, Any]] = field(default_factory=list)
    known: list[Mapping[str, Any]] = field(default_factory=list)
    expired: list[Entry] = field(default_factory=list)
    stale: list[Entry] = field(default_factory=list)
    unchecked: list[Entry] = field(default_factory=list)
    changed: int = 0  # new findings whose object, container and field a stale entry names: the text changed

    @property
    def new_failing(self) -> list[Mapping[str, Any]]:
        """The new ``failing`` rows: what ``--fail-on`` judges (``storage.gates.evaluate_gates(new_failing=…)``)."""
        return [r for r in self.new if r.get("status") == "failing"]

    def summary(self) -> str:
        """One line for stderr: ``baseline kwa-baseline.json: 12 known findings suppressed, 3 new, …``."""
        parts = [f"{len(self.known)} known finding{_s(len(self.known))} suppressed", f"{len(self.new)} new"]
        if self.changed:
            parts[-1] += f" ({self.changed} changed since the baseline)"
        if self.expired:
            named = "; ".join(f"{e.label}, expired {e.expires}" for e in self.expired[:SUMMARY_NAMED])
            more = len(self.expired) - SUMMARY_NAMED
            named += f"; and {more} more" if more > 0 else ""
            parts.append(f"{_entries(len(self.expired))} expired ({named})")
        if self.stale:
            hint = "" if self.stored else ": remove or rewrite with --write-baseline"
            parts.append(f"{_entries(len(self.stale))} stale (no longer found{hint})")
        if self.unchecked:
            parts.append(f"{_entries(len(self.unchecked))} not checked (their check did not run)")
        return f"baseline {self.source}: " + ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """The split for ``-o json|yaml``: counts, the new findings and the entries that need attention."""
        return {
            "source": self.source,
            "known": len(self.known),
            "new": len(self.new),
            "new_failing": len(self.new_failing),
            "changed": self.changed,
            "expired": len(self.expired),
            "stale": len(self.stale),
            "unchecked": len(self.unchecked),
            "new_findings": [_finding_json(r) for r in self.new[:LISTED]],
            "expired_entries": [e.as_json() for e in self.expired[:LISTED]],
            "stale_entries": [e.as_json() for e in self.stale[:LISTED]],
        }


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"


def _finding_json(row: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("check_id", "severity", "status", "object_kind", "object_namespace", "object_name", "container",
            "field_path", "message", "source", "source_line")  # fmt: skip
    return {**{k: row.get(k) for k in keys}, "fingerprint": finding_key(row)}


def split(
    rows: Iterable[Mapping[str, Any]],
    baseline: Baseline,
    today: date | None = None,
    checks: Iterable[str] | None = None,
) -> BaselineSplit:
    """Sort the findings in ``rows`` (other statuses are ignored) against ``baseline``.

    ``today`` (default: today in UTC) decides which entries have expired: an entry suppresses through
    its ``expires`` day. ``checks``: the checks this assessment evaluated; an unexpired entry of
    another check is *unchecked*, not stale (``None``: every check ran).
    """
    today = today or today_utc()
    evaluated = None if checks is None else frozenset(checks)
    live: dict[str, list[Entry]] = defaultdict(list)
    out = BaselineSplit(baseline.source, baseline.stored)
    for entry in baseline.entries:
        if entry.expired(today):
            out.expired.append(entry)
        elif evaluated is not None and entry.check not in evaluated:
            out.unchecked.append(entry)
        else:
            live[entry.fingerprint].append(entry)
    for row in rows:
        if not is_finding(row):
            continue
        matches = live.get(finding_key(row))
        if matches:
            matches.pop()
            out.known.append(row)
        else:
            out.new.append(row)
    out.stale = sorted((e for entries in live.values() for e in entries), key=Entry.sort_key)
    out.expired.sort(key=lambda e: (e.expires or date.max, *e.sort_key()))
    stale_ids = Counter(e.identity for e in out.stale)
    for row in out.new:
        if stale_ids[_identity(row)] > 0:
            stale_ids[_identity(row)] -= 1
            out.changed += 1
    return out


@dataclass(frozen=True)
class BaselineOptions:
    """What a command (``kwa run``, ``kwa lint``) was asked to do with baselines: compare, write, or both."""

    compare: Baseline | None = None  # loaded (and checked) before the assessment started
    write: str | None = None  # --write-baseline FILE
    expires: date | None = None  # --baseline-expires: the last day new entries suppress

    def __bool__(self) -> bool:
        return self.compare is not None or self.write is not None


def write_baseline(
    rows: Iterable[Mapping[str, Any]], options: BaselineOptions, result: BaselineSplit | None = None
) -> Baseline:
    """Write ``options.write`` from the findings in ``rows``: what ``--write-baseline`` does.

    With a baseline compared (``options.compare`` and its ``result``), entries keep their reason and
    expiry and the entries of checks that did not run are carried over (:meth:`Baseline.from_rows`).
    Raises :class:`BaselineError` when the file cannot be written.
    """
    if not options.write:
        raise BaselineError("no file to write the baseline to")
    keep = result.unchecked if result is not None else ()
    written = Baseline.from_rows(rows, options.write, options.compare, options.expires, keep=keep)
    written.write(options.write)
    return written


def run_entries(rows: Sequence[Mapping[str, Any]], run_id: str) -> Baseline:
    """A stored run's findings as a baseline (``kwa run --baseline-run``): no entry expires."""
    baseline = Baseline.from_rows(rows, f"run {run_id}")
    baseline.stored = True
    return baseline
