"""Two runs' results side by side, one object at a time, for :func:`storage.diff.diff_runs`.

A diff matches results by (check, kind, namespace, name, container) and, when a key is on one
side only, by the object across its containers; both rules stay within one (check, object). So
the two runs are read check by check, each check's rows ordered by object, and merged: only one
object's rows of each run are held at a time. Reading both runs whole into dictionaries (what
``diff_runs`` did) held every result twice over in Python: 1.5 GB for two runs of a
100,000-object cluster (732,000 results each), four times that at the envelope's 400,000.

The merge needs the database's order and Python's to agree: text is ordered by its bytes
(SQLite's ``BINARY``, PostgreSQL's ``"C"`` collation: for UTF-8 that is code point order, as
Python compares ``str``) and NULL before any text. Should a stream ever come back in another
order, that check is compared from dictionaries of its rows instead (:class:`Unordered`), so a
surprise in the database's order costs memory, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from storage.models import assessments_table as A

# key (0-4), status (5), then what a listed change shows: severity, pillar, check name, message, id.
COLUMNS = (
    A.c.check_id,
    A.c.object_kind,
    A.c.object_namespace,
    A.c.object_name,
    A.c.container,
    A.c.status,
    A.c.severity,
    A.c.pillar,
    A.c.check_name,
    A.c.message,
    A.c.id,
)
Row = tuple[Any, ...]
_OBJECT = slice(1, 4)


class Unordered(Exception):
    """A check's rows did not come back in the order the merge relies on."""


def run_checks(conn: Connection, run_id: str) -> set[str]:
    """The checks with rows in the run (from the ``(run_id, check_id)`` index alone)."""
    return set(conn.execute(select(A.c.check_id).where(A.c.run_id == run_id).distinct()).scalars())


def check_rows(conn: Connection, run_id: str, check_id: str, ordered: bool = True) -> Iterator[Row]:
    """The run's rows of one check, streamed; when ``ordered``, by object, container and id."""
    query = select(*COLUMNS).where(A.c.run_id == run_id, A.c.check_id == check_id)
    if ordered:
        collation = "C" if conn.dialect.name == "postgresql" else "BINARY"
        parts = (A.c.object_kind, A.c.object_namespace, A.c.object_name, A.c.container)
        query = query.order_by(*(c.collate(collation).nulls_first() for c in parts), A.c.id)
    result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
    return (tuple(row) for row in result)


def _order(obj: tuple[Any, ...]) -> tuple[Any, ...]:
    """Python's view of the database order of an object: NULL first, then text by code point."""
    kind, namespace, name = obj
    return (kind is not None, kind or "", namespace is not None, namespace or "", name is not None, name or "")


def _objects(rows: Iterator[Row]) -> Iterator[tuple[tuple[Any, ...], list[Row]]]:
    """The rows of each object in turn, checking that objects only ever increase."""
    last: tuple[Any, ...] | None = None
    for obj, group in groupby(rows, key=lambda r: r[_OBJECT]):
        order = _order(obj)
        if last is not None and order <= last:
            raise Unordered(obj)
        last = order
        yield order, list(group)


def paired_objects(rows_a: Iterator[Row], rows_b: Iterator[Row]) -> Iterator[tuple[list[Row], list[Row]]]:
    """Each object's rows in run A and in run B (one side empty when only the other has it)."""
    a, b = _objects(rows_a), _objects(rows_b)
    next_a, next_b = next(a, None), next(b, None)
    while next_a is not None or next_b is not None:
        if next_b is None or (next_a is not None and next_a[0] < next_b[0]):
            assert next_a is not None
            yield next_a[1], []
            next_a = next(a, None)
        elif next_a is None or next_b[0] < next_a[0]:
            yield [], next_b[1]
            next_b = next(b, None)
        else:
            yield next_a[1], next_b[1]
            next_a, next_b = next(a, None), next(b, None)
