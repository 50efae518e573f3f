"""The exemption audit as lines a person reads: what a run did with its exemptions.

The audit (``Exemptions.audit``, kept in the run's summary) lists rules and annotations worth a
look — expired, unmatched, invalid, disallowed, a peer's rule no check maps — and every peer
annotation honoured, so that a team migrating from Polaris, kube-score, kube-linter or Checkov
sees which of its suppressions kwa applied and to what. The reports print these lines under the
pillar table (``kwa run``, ``kwa runs get``) and ``kwa lint`` on stderr after its summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SHOWN = 10  # entries listed; the rest are counted (JSON/YAML outputs and the API hold them all)


def entry_line(entry: Mapping[str, Any]) -> str:
    """``exemption honoured: kube-score/ignore: pod-probes (12 objects, 24 results): …``."""
    status = str(entry.get("status") or "listed")
    label = "honoured" if status == "active" else status
    name = str(entry.get("name") or entry.get("source") or "?")
    where = f" on {entry['object']}" if entry.get("object") else ""
    counts = [
        f"{entry[k]:,} {k if entry[k] != 1 else k[:-1]}"
        for k in ("objects", "results")
        if isinstance(entry.get(k), int) and not entry.get("object")
    ]
    count_text = f" ({', '.join(counts)})" if counts else ""
    message = str(entry.get("message") or "")
    return f"exemption {label}: {name}{where}{count_text}" + (f": {message}" if message else "")


def audit_lines(entries: Iterable[Mapping[str, Any]] | None, shown: int = SHOWN) -> list[str]:
    """One line per audit entry, the first ``shown``, then how many more."""
    items = [e for e in entries or [] if isinstance(e, Mapping)]
    lines = [entry_line(e) for e in items[:shown]]
    if len(items) > shown:
        lines.append(f"exemption audit: {len(items) - shown:,} more entries (-o json lists them all)")
    return lines
