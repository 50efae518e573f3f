"""The baseline file: reading and checking it, writing it atomically, and ``--baseline-expires``.

The format (version 1)::

    {
      "version": 1,
      "generator": "kwa 0.1.0",
      "created": "2026-12-06T15:04:05Z",
      "entries": [
        {"check": "SEC-001", "object": "Deployment/shop/api", "container": "app", "field": null,
         "fingerprint": "3f9c0a1b2c3d4e5f", "severity": "critical", "message": "…",
         "expires": "2027-03-06", "reason": "accepted until the chart moves to v2"}
      ]
    }

``check`` and ``fingerprint`` are required; every other entry field may be null. An unknown field
is an error (a misspelt ``expire`` must not silently mean "never expires"). Every error names the
file and, for an entry, its number (counting from 1) and what it is about.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
ENTRY_FIELDS = ("check", "object", "container", "field", "fingerprint", "severity", "message", "expires", "reason")
_TOP_FIELDS = frozenset({"version", "generator", "created", "entries"})
_OPTIONAL_TEXT = ("object", "container", "field", "severity", "message", "reason")
_FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
_EXPIRES_IN = re.compile(r"^(\d{1,5})\s*([dw])$")


class BaselineError(ValueError):
    """A baseline that cannot be read, written or used; the message names the file and the entry."""


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


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The checked content of a baseline file: ``entries`` as keyword arguments of ``Entry``."""
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
        raise BaselineError(f"baseline {name}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # thousands of levels deep: no baseline kwa writes nests past four
        raise BaselineError(f"baseline {name}: nested too deeply to be a baseline") from None
    return check_document(data, name)


def check_document(data: Any, name: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BaselineError(f"baseline {name}: expected a JSON object with 'version' and 'entries'")
    unknown = sorted(set(data) - _TOP_FIELDS)
    if unknown:
        raise BaselineError(f"baseline {name}: unknown field {unknown[0]!r} (known: {', '.join(sorted(_TOP_FIELDS))})")
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
    checked = [_entry(item, f"baseline {name}: entry {n}") for n, item in enumerate(entries, 1)]
    return {"generator": data.get("generator"), "created": data.get("created"), "entries": checked}


def generator() -> str:
    """``kwa 0.1.0``: what wrote the file."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"kwa {version('kwa')}"
    except PackageNotFoundError:  # pragma: no cover - a checkout run without installing it
        return "kwa (version unknown)"


def write_atomically(path: Path, text: str) -> None:
    """A reader sees the old file or the new one, never half of one."""
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


def _entry(item: Any, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BaselineError(f"{where}: expected an object, got {type(item).__name__}")
    check = item.get("check")
    label = f"{where} ({check} {item.get('object') or '(the cluster)'})" if isinstance(check, str) and check else where
    unknown = sorted(set(item) - set(ENTRY_FIELDS))
    if unknown:
        raise BaselineError(f"{label}: unknown field {unknown[0]!r} (known: {', '.join(ENTRY_FIELDS)})")
    if not isinstance(check, str) or not check.strip():
        raise BaselineError(f"{label}: 'check' must be a check id such as SEC-001")
    fingerprint = item.get("fingerprint")
    if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
        raise BaselineError(f"{label}: 'fingerprint' must be 16 lower-case hex digits, got {fingerprint!r}")
    for key in _OPTIONAL_TEXT:
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
    return {"check": check, "fingerprint": fingerprint, "expires": expires, **{k: item.get(k) for k in _OPTIONAL_TEXT}}
