"""How an archived run's results are written down: contents by digest, the run as one small value.

Split from :mod:`storage.archive` (which moves runs in and out of the archive) so the format reads
on its own.

A result is its *content* — every column of an ``assessments`` row but ``id``, ``run_id``,
``assessed_at`` and ``duration_ms`` (:data:`CONTENT`) — plus those four. Contents repeat from run
to run (a cluster that changed little overnight has the same 67,000 verdicts again), so each
distinct content is stored once per cluster in ``result_contents``, found again by
:func:`digest`. What is left of a run is, in result-id order:

* ``c`` — the content id of each result, as differences from the previous one (a run whose
  contents were archived in the same order is a long run of ``1``);
* ``s`` — the sequence number of each result id, as differences (ids are
  ``<prefix of the check><seq in hex>``, storage.result_rows; they are rebuilt from the check, the
  run id and ``requested_at``); an id of any other shape is kept as it is in ``x``
  (position → id);
* ``t`` — ``[count, assessed_at, duration_ms]`` for each stretch of results sharing them (a
  check's results are written together, so about one entry per check).

The whole is JSON compressed with zlib: 2–3 bytes per result (docs/storage.md).
"""

from __future__ import annotations

import hashlib
import operator
import zlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from storage.result_rows import COLUMNS, check_slug, result_id_prefix

FORMAT = 1
# A result's content: every column of its row but its id, run and timestamps (what repeats from run
# to run), in the row's order.
CONTENT: tuple[str, ...] = COLUMNS[COLUMNS.index("pillar") : COLUMNS.index("details") + 1]
_CHECK = CONTENT.index("check_id")
# A row in storage.result_rows.COLUMNS order → its content, id, check id, assessed_at, duration_ms.
content_of = operator.itemgetter(*(COLUMNS.index(c) for c in CONTENT))
_ID, _CHECK_ID, _AT, _MS = (COLUMNS.index(c) for c in ("id", "check_id", "assessed_at", "duration_ms"))
_DIGEST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_blake2b = hashlib.blake2b


def digest(content: Sequence[Any]) -> str:
    """A stable key of one content (the same on SQLite and PostgreSQL, whatever the key order of
    ``details``)."""
    return _blake2b(orjson.dumps(content, option=_DIGEST_OPTIONS), digest_size=16).hexdigest()


class IdScheme:
    """Result ids of one run: ``<stamp><checkslug>_<runhex><seq>`` (storage.result_rows)."""

    def __init__(self, run_id: str, requested_at: datetime | None) -> None:
        self._stamp, self._runhex = result_id_prefix(run_id, requested_at)
        self._prefixes: dict[str, str] = {}

    def prefix(self, check_id: str) -> str:
        p = self._prefixes.get(check_id)
        if p is None:
            p = self._prefixes[check_id] = f"{self._stamp}{check_slug(check_id)}_{self._runhex}"
        return p

    def seq(self, result_id: str, check_id: str) -> int | None:
        """The sequence number of ``result_id``, or None when it is not of this run's shape."""
        p = self.prefix(check_id)
        if not result_id.startswith(p):
            return None
        rest = result_id[len(p) :]
        try:
            n = int(rest, 16)
        except ValueError:
            return None
        return n if n >= 0 and f"{n:06x}" == rest else None  # the one spelling storage.result_rows writes

    def result_id(self, check_id: str, seq: int) -> str:
        return f"{self.prefix(check_id)}{seq:06x}"


def encode(scheme: IdScheme, rows: Sequence[Sequence[Any]], ids: Sequence[int]) -> tuple[bytes, int]:
    """``(data, results)`` for ``rows`` (in storage.result_rows.COLUMNS order, in id order) whose
    contents have the content ids ``ids``."""
    c: list[int] = []
    s: list[int] = []
    t: list[list[Any]] = []
    x: dict[str, str] = {}
    last_c = last_s = 0
    last_t: tuple[Any, Any] | None = None
    seq_of = scheme.seq
    for i, (row, content_id) in enumerate(zip(rows, ids, strict=True)):
        c.append(content_id - last_c)
        last_c = content_id
        seq = seq_of(row[_ID], row[_CHECK_ID])
        if seq is None:
            x[str(i)] = row[_ID]
            s.append(0)
        else:
            s.append(seq - last_s)
            last_s = seq
        stamp = (row[_AT], row[_MS])
        if stamp != last_t:
            t.append([0, stamp[0].isoformat(), stamp[1]])
            last_t = stamp
        t[-1][0] += 1
    doc = {"v": FORMAT, "c": c, "s": s, "t": t, "x": x}
    return zlib.compress(orjson.dumps(doc), 6), len(c)


def content_ids(data: bytes) -> list[int]:
    """The content id of each result of an archived run, in id order."""
    return _running(_load(data)["c"])


def decode(scheme: IdScheme, data: bytes, check_of: Mapping[int, str]) -> list[tuple[str, int, datetime, int | None]]:
    """``(id, content id, assessed_at, duration_ms)`` of each result, in id order; ``check_of``
    maps every content id of the run (:func:`content_ids`) to its check id."""
    doc = _load(data)
    ids = _running(doc["c"])
    seqs = _running(doc["s"])
    odd: dict[str, str] = doc.get("x") or {}
    out: list[tuple[str, int, datetime, int | None]] = []
    stamps = iter(doc["t"])
    left = 0
    assessed_at: datetime | None = None
    duration: int | None = None
    result_id = scheme.result_id
    for i, (cid, seq) in enumerate(zip(ids, seqs, strict=True)):
        if not left:
            left, iso, duration = next(stamps)
            assessed_at = datetime.fromisoformat(iso)
        left -= 1
        rid = odd.get(str(i)) if odd else None
        assert assessed_at is not None
        out.append((rid or result_id(check_of[cid], seq), cid, assessed_at, duration))
    return out


def _load(data: bytes) -> dict[str, Any]:
    doc = orjson.loads(zlib.decompress(data))
    if doc.get("v") != FORMAT:
        raise ValueError(f"archived results in format {doc.get('v')!r}: this kwa reads format {FORMAT}")
    return doc


def _running(deltas: Sequence[int]) -> list[int]:
    out: list[int] = []
    total = 0
    for d in deltas:
        total += d
        out.append(total)
    return out
