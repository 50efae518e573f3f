"""Whole listings in machine formats, page by page: ``-o csv|json|yaml`` without ``--limit``.

A script that asks for CSV or JSON wants every row, not the first 50 with a hint on stderr it may
never read. Without ``--limit``, ``kwa query assessments list`` and ``kwa runs list`` read the
listing from the database a page (:data:`PAGE` rows) at a time, keyset-paged on the listing's own
cursor, and write each page before reading the next: the same document, byte for byte, as
``--limit 0`` would give, in the same order, while memory stays flat whatever the count
(``--limit 0`` holds every row at once). A reader that goes away (``| head``) stops the reading at
the next page. ``-o table`` keeps its page size and says how many more there are; ``--limit N``
keeps its meaning in every format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TextIO

from cli.formatters.common import run_brief
from cli.formatters.csvout import write_csv
from cli.formatters.structured import stream_json, stream_yaml
from cli.pipes import reader_gone
from storage.db import Database
from storage.queries import AssessmentQuery, Page, RunQuery, list_assessments, list_run_page

STREAMED = ("csv", "json", "yaml")
# Rows per database read. Each page costs a round trip and, for one run's results, a count of its
# matches (an index range): 5,000 keeps both negligible next to the rows themselves while one
# page of result dicts stays a few MB.
PAGE = 5000
CHUNK = 200  # rows written between two looks at whether the reader is still there

__all__ = ["PAGE", "STREAMED", "pages", "stream_assessments", "stream_runs"]


def pages(first: list[Page], fetch: Callable[[str], Page], out: TextIO) -> Iterator[Page]:
    """The page in ``first`` (a one-item list, emptied here so that no reference keeps its rows
    alive) and every page after it, following ``next_cursor``, until the last page or until
    ``out``'s reader has gone away. At most two pages are held (the one being written, and the
    next while it is read)."""
    page = first.pop()
    yield page
    while page.next_cursor and not reader_gone(out):
        cursor = page.next_cursor
        del page  # the written page goes before the next is read
        page = fetch(cursor)
        yield page


def _items(stream: Iterator[Page], out: TextIO) -> Iterator[dict[str, Any]]:
    """The rows of every page, until ``out``'s reader has gone away (asked every :data:`CHUNK` rows)."""
    for page in stream:
        for chunk in _chunks(page.items):
            yield from chunk
            if reader_gone(out):
                return


def _chunks(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _yaml_chunks(stream: Iterator[Page], out: TextIO) -> Iterator[list[dict[str, Any]]]:
    """YAML is dumped a chunk of rows at a time (PyYAML is slow): a reader that goes away stops it."""
    for page in stream:
        for chunk in _chunks(page.items):
            yield chunk
            if reader_gone(out):
                return


def stream_assessments(db: Database, q: AssessmentQuery, fmt: str, out: TextIO, columns: tuple[str, ...]) -> None:
    """Every result ``q`` matches (from its offset or cursor on) as ``fmt``: the ``AssessmentList``
    document of ``--limit 0``, or the CSV rows."""
    q = replace(q, limit=PAGE)
    first = list_assessments(db, q)
    head, total = {"scope": first.scope, "run": run_brief(first.run)}, first.total
    stream = pages([first], lambda cursor: list_assessments(db, q.with_cursor(cursor)), out)
    del first

    def tail(n: int) -> dict[str, Any]:
        return {"pagination": {"limit": 0, "offset": q.offset, "total": total, "returned": n, "next_cursor": None}}

    if fmt == "csv":
        write_csv(columns, _items(stream, out), out)
    elif fmt == "json":
        stream_json("AssessmentList", head, "items", _items(stream, out), tail, out)
    else:
        stream_yaml("AssessmentList", head, "items", _yaml_chunks(stream, out), tail, out)


def stream_runs(
    db: Database, q: RunQuery, fmt: str, out: TextIO, columns: tuple[str, ...], flat: Callable[[dict[str, Any]], Any]
) -> Page:
    """Every run ``q`` matches, newest first, as ``fmt``: the ``RunList`` document of ``--limit 0``,
    or the CSV rows (each run through ``flat``). Returns the first page's ``scope`` in an empty
    Page (it says whether the database has no runs at all)."""
    q = replace(q, limit=PAGE)
    first = list_run_page(db, q)
    shown = Page(items=[], limit=first.limit, scope=first.scope)
    stream = pages([first], lambda cursor: list_run_page(db, replace(q, cursor=cursor)), out)
    del first

    def tail(n: int) -> dict[str, Any]:
        return {"pagination": {"limit": 0, "next_cursor": None}}

    if fmt == "csv":
        write_csv(columns, (flat(r) for r in _items(stream, out)), out)
    elif fmt == "json":
        stream_json("RunList", {}, "items", _items(stream, out), tail, out)
    else:
        stream_yaml("RunList", {}, "items", _yaml_chunks(stream, out), tail, out)
    return shown
