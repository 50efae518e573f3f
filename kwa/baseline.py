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
hashes the check id, the object (kind, namespace, name), the container, the field path and the
finding's message with every number masked (:func:`message_shape`). Left out on purpose:

* the file, line and column: moving an object in its file, reordering documents, renaming or
  reformatting the file do not make its findings new;
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

This module imports only the standard library: ``kwa lint`` loads it on its fast path.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
FINDING_STATUSES = frozenset({"failing", "warning"})
LISTED = 200
"""Entries and new findings listed by :meth:`BaselineSplit.as_dict` (the rest are counted)."""
SUMMARY_NAMED = 3
"""Expired entries the summary line names (the rest are counted)."""

# A number with an optional unit or percent sign, standing alone: "512Mi", "11.5%", "2", "1.27".
# Not digits inside a word ("v1beta1", "web-7d9f8"): those are names, not measurements.
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)*(?:[A-Za-z]{1,3}|%)?(?!\w)")
_SPACE = re.compile(r"\s+")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_EXPIRES_IN = re.compile(r"^(\d{1,5})\s*([dw])$")
_ENTRY_FIELDS = ("check", "object", "container", "field", "fingerprint", "severity", "message", "expires", "reason")
_TOP_FIELDS = frozenset({"version", "generator", "created", "entries"})


class BaselineError(ValueError):
    """A baseline that cannot be read, written or used; the message names the file and the entry."""


def is_finding(row: Mapping[str, Any]) -> bool:
    return row.get("status") in FINDING_STATUSES


def message_shape(message: str | None) -> str:
    """The message with numbers masked and white space collapsed (what the fingerprint hashes)."""
    return _SPACE.sub(" ", _NUMBER.sub("#", message or "")).strip()


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
        row.get("field_path"),
        message_shape(row.get("message")),
    )
    # \x1f cannot occur in a Kubernetes name or a check id; None and "" hash alike on purpose
    # (a manifest without a namespace and one with an empty namespace are the same object).
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def today_utc() -> date:
    return datetime.now(UTC).date()


def parse_expires(text: str, today: date | None = None) -> date:
    """``--baseline-expires``: ``90d``, ``12w`` (from today) or ``YYYY-MM-DD``; the last day entries suppress."""
    today = today or today_utc()
    value = text.strip().lower()
    relative = _EXPIRES_IN.match(value)
    if relative:
        days = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        if days < 1:
            raise BaselineError(f"--baseline-expires {text!r}: the time must be at least one day")
        return today + timedelta(days=days)
    try:
        when = date.fromisoformat(value)
    except ValueError:
        raise BaselineError(f"--baseline-expires {text!r}: expected a number of days or weeks (90d, 12w) or a date "
                            "YYYY-MM-DD") from None  # fmt: skip
    if when < today:
        raise BaselineError(f"--baseline-expires {text!r}: the date has passed (today is {today.isoformat()})")
    return when


@dataclass(frozen=True)
class Entry:
    """One accepted finding. ``expires``: the last day it suppresses (None: never expires)."""

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
        return (self.check, self.object, self.container, self.field)

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
        return {k: values[k] for k in _ENTRY_FIELDS}

    def sort_key(self) -> tuple[str, ...]:
        return (self.check, self.object or "", self.container or "", self.field or "", self.fingerprint)


def _identity(row: Mapping[str, Any]) -> tuple[str | None, ...]:
    return (str(row.get("check_id")), object_ref(row), row.get("container") or None, row.get("field_path") or None)


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
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise BaselineError(f"baseline {name}: not UTF-8 text") from None
        except OSError as exc:
            raise BaselineError(f"baseline {name}: cannot read it: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BaselineError(
                f"baseline {name}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from None
        return cls.parse(data, name)

    @classmethod
    def parse(cls, data: Any, name: str) -> Baseline:
        if not isinstance(data, dict):
            raise BaselineError(f"baseline {name}: expected a JSON object with 'version' and 'entries'")
        unknown = sorted(set(data) - _TOP_FIELDS)
        if unknown:
            raise BaselineError(
                f"baseline {name}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_TOP_FIELDS))})"
            )
        version = data.get("version")
        if version != FORMAT_VERSION:
            raise BaselineError(f"baseline {name}: version {version!r} is not supported (this kwa reads version "
                                f"{FORMAT_VERSION})")  # fmt: skip
        for key in ("generator", "created"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise BaselineError(f"baseline {name}: {key!r} must be a string")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise BaselineError(f"baseline {name}: 'entries' must be a list")
        parsed = [_entry(item, f"baseline {name}: entry {n}") for n, item in enumerate(entries, 1)]
        return cls(parsed, name, data.get("generator"), data.get("created"))

    def dumps(self, generator: str, created: str) -> str:
        """The file's text: keys in a fixed order, entries sorted, one field per line (diff-friendly)."""
        document = {
            "version": FORMAT_VERSION,
            "generator": generator,
            "created": created,
            "entries": [e.as_json() for e in sorted(self.entries, key=Entry.sort_key)],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def write(self, path: str | os.PathLike[str], now: datetime | None = None) -> None:
        """Write the file atomically: a reader sees the old file or the new one, never half of one."""
        created = (now or datetime.now(UTC)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        _write_atomically(Path(path), self.dumps(f"kwa {_version()}", created))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kwa")
    except PackageNotFoundError:  # pragma: no cover - a checkout run without installing it
        return "unknown"


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # 0o666 less the umask, like any file the user creates (a named temporary file would be 0600).
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BaselineError(f"cannot write baseline {path}: {exc.strerror or exc}") from None


def _entry(item: Any, where: str) -> Entry:
    if not isinstance(item, dict):
        raise BaselineError(f"{where}: expected an object, got {type(item).__name__}")
    check = item.get("check")
    label = f"{where} ({check} {item.get('object') or '(the cluster)'})" if isinstance(check, str) and check else where
    unknown = sorted(set(item) - set(_ENTRY_FIELDS))
    if unknown:
        raise BaselineError(f"{label}: unknown field {unknown[0]!r} (known: {', '.join(_ENTRY_FIELDS)})")
    if not isinstance(check, str) or not check.strip():
        raise BaselineError(f"{label}: 'check' must be a check id such as SEC-001")
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
        raise BaselineError(f"{label}: 'fingerprint' must be 16 lower-case hex digits, got {fingerprint!r}")
    for key in ("object", "container", "field", "severity", "message", "reason"):
        if item.get(key) is not None and not isinstance(item[key], str):
            raise BaselineError(f"{label}: {key!r} must be a string or null")
    expires = item.get("expires")
    if expires is not None:
        try:
            expires = date.fromisoformat(expires) if isinstance(expires, str) and len(expires) == 10 else None
        except ValueError:
            expires = None
        if expires is None:
            raise BaselineError(f"{label}: 'expires' must be a date YYYY-MM-DD or null, got {item['expires']!r}")
    values = {k: item.get(k) for k in ("object", "container", "field", "severity", "message", "reason")}
    return Entry(check=check, fingerprint=fingerprint, expires=expires, **values)


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


def run_entries(rows: Sequence[Mapping[str, Any]], run_id: str) -> Baseline:
    """A stored run's findings as a baseline (``kwa run --baseline-run``): no entry expires."""
    baseline = Baseline.from_rows(rows, f"run {run_id}")
    baseline.stored = True
    return baseline
