"""A large ``kind: List`` JSON dump read item by item, so the whole cluster is never in memory twice.

``kubectl get -A -o json`` writes one document for the whole cluster. Parsed in one go, every item
exists in full (``managedFields``, last-applied annotations) before ingest can slim it: at 400,000
objects that is several GB. Here msgspec splits the List into its items without building them (each
item stays a view of the input bytes, found at C speed), then each item is parsed, measured against
the same limits a document is (depth, string length, duplicate keys: ``checks.sources.measure``),
and handed to :func:`~checks.sources.documents.accept` as the List's item, where it is slimmed
(``checks.sources.slim``) before the next one is parsed. Peak memory is the input plus the slimmed
objects. What slimming drops (``fieldsV1`` trees, last-applied annotations) is cut out of a batch's
text before it is parsed, when it is proven within the limits on its bytes (``checks.sources.precut``).

The verdicts are those of the whole-document path: an item over a limit is skipped with the same
``items[N]: …`` problem, items keep their own lines when the layout shows them. Anything unusual
(not a List, a top level msgspec cannot split, an item orjson refuses) returns None and the caller
reads the document the ordinary way, so no input is judged differently here.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

from checks.limits import LIMIT, SYNTAX, Limits, size
from checks.positions import Place
from checks.snapshot import K8sObject, ParseProblem
from checks.sources import measure, precut, stopping
from checks.sources.documents import accept_item, document_bytes, report
from checks.sources.guards import Rejected
from checks.sources.places import Lines, document_place, item_places

# Below this a List is parsed whole (faster, and its peak memory does not matter).
STREAM_MIN_BYTES = 32 * 1024 * 1024
# Items measured together: one rendering per batch keeps the per-item cost of the checks low.
BATCH = 512


class _Shell(msgspec.Struct):
    kind: str
    items: list[msgspec.Raw]
    apiVersion: str | None = None


_SHELL = msgspec.json.Decoder(_Shell)


def split_list(text: str | bytes) -> _Shell | None:
    """The List's kind, apiVersion and items (unparsed), or None when ``text`` is not one."""
    try:
        shell = _SHELL.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    return shell if shell.kind.endswith("List") else None


def read_whole(
    text: str | bytes,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    limits: Limits,
    markers: dict[str, Rejected] | None = None,
) -> bool:
    """:func:`read_list` of a document that is the whole of ``text`` (its place and lines found
    here); False as there."""
    if len(text) < STREAM_MIN_BYTES:
        return False
    lines = Lines(text)
    return read_list(text, label, objects, problems, limits, document_place(text, lines, 0, len(text)), lines, markers)


def read_list(
    text: str | bytes,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    limits: Limits,
    place: Place | None,
    lines: Lines,
    markers: dict[str, Rejected] | None = None,
) -> bool:
    """Accept the items of the List in ``text`` one by one; False (nothing read) when the document
    is small or not a List msgspec can split: the caller then reads it whole. ``markers``: items
    that are a string of these are that verdict instead (``checks.sources.jsondeep``)."""
    if len(text) < STREAM_MIN_BYTES:
        return False
    shell = split_list(text)
    if shell is None:
        return False
    count = len(shell.items)
    nbytes = document_bytes(text, limits)
    if nbytes is not None and nbytes > limits.document_bytes * max(1, count):
        report(
            problems,
            LIMIT,
            label,
            0,
            f"a document of {size(nbytes)}, over limits.document_bytes ({size(limits.document_bytes)})",
        )
        return True
    start = len(objects)
    places = item_places(place, count, lines) if place is not None else None
    for first in range(0, count, BATCH):
        stopping.check()
        raws = [bytes(memoryview(r)) for r in shell.items[first : first + BATCH]]  # type: ignore[arg-type]
        try:
            values = _measured(raws, limits)
        except Rejected as exc:  # the whole document's verdict (a duplicate key): none of it is used
            del objects[start:]
            report(problems, exc.kind, label, 0, exc.describe())
            return True
        if markers:
            for offset, raw in enumerate(raws):
                if raw[:1] == b'"' and (verdict := markers.get(raw[1:-1].decode("utf-8", "replace"))) is not None:
                    values[offset] = verdict
        for offset, value in enumerate(values):
            number = first + offset
            accept_item(
                shell.kind,
                shell.apiVersion,
                value,
                number,
                label,
                0,
                objects,
                problems,
                places[number] if places else place,
            )
    return True


def _measured(raws: list[bytes], limits: Limits) -> list[Any]:
    """Items parsed and measured as the items of one List (what the whole document would get:
    ``measure.check_document`` on a List of just these, rendered once); an item over a limit is
    replaced by its :class:`Rejected`.

    A clean batch (the common case) is read without building what slimming drops
    (``checks.sources.precut``); any other is read and measured whole, here."""
    cut = precut.measured(raws, limits)
    if cut is not None:
        return cut
    values = [_parse(raw) for raw in raws]
    doc = {"kind": "List", "items": values}
    text = b'{"kind":"List","items":[' + b",".join(raws) + b"]}"
    for number, problem in measure.check_document(doc, limits, None, text).items():
        values[number] = problem
    return values


def _parse(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # What orjson refuses and msgspec took (integers past 64 bits): the standard library's reading.
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            return Rejected(SYNTAX, "JSON does not parse")
