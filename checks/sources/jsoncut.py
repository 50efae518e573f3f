"""A ``kind: List`` JSON dump cut short keeps the items that arrived whole.

A dump written by ``kubectl get -A -o json > dump.json`` ends early when the disk fills or the
command is killed. Its items are all there up to the cut, so only the unfinished one is lost: the
text is scanned for its brackets (strings skipped), the end of the last complete item of the
top-level ``items`` array is found, and the document is closed there and read as usual, with the
cut reported where it is and what it cost. ``kubectl`` writes its keys in order (``apiVersion``,
``items``, ``kind``, ``metadata``), so a dump cut inside its items has lost its ``kind``: the
closed document is a ``List`` then. The scan is Python over every string and bracket (about 1 s for
50 MB), paid only by an input that ends early.
"""

from __future__ import annotations

import re

import orjson

from checks.limits import SYNTAX, Limits
from checks.snapshot import K8sObject, ParseProblem
from checks.sources import jsonlist
from checks.sources.documents import report
from checks.sources.jsondeep import brackets

_ITEMS_KEY = re.compile(r'"items"\s*:\s*$')


def salvage(
    text: str,
    cut: orjson.JSONDecodeError,
    label: str,
    objects: list[K8sObject],
    problems: list[ParseProblem],
    limits: Limits,
) -> bool:
    """Read the complete items of ``text``, a List that ends early; False when it is not one."""
    from checks.sources.jsondocs import read_document  # the module that calls this one

    found = _complete_items(text)
    if found is None:
        return False
    items_open, end, count, closed = found
    head = text[: items_open + 1]
    try:
        shell = orjson.loads(head + "]}")
    except orjson.JSONDecodeError:
        return False
    if not isinstance(shell, dict):
        return False
    prefix = "" if "kind" in shell else '"kind":"List",'  # kubectl writes it after the items
    closing = "}" if closed else "]}"
    whole = "{" + prefix + text[1:end] + closing
    before = len(objects)
    if len(whole) >= jsonlist.STREAM_MIN_BYTES:
        if not jsonlist.read_whole(whole, label, objects, problems, limits):
            return False
    else:
        try:
            read_document(whole, label, 0, objects, problems, limits, counted=True)
        except orjson.JSONDecodeError:
            del objects[before:]
            return False
    where = f"line {cut.lineno}, column {cut.colno}"
    lost = "after its items" if closed else f"inside items[{count}]; the {count:,} items before it were read"
    report(problems, SYNTAX, label, 0, f"JSON does not parse: the input ends early ({where}), {lost}")
    return True


def _complete_items(text: str) -> tuple[int, int, int, bool] | None:
    """``(position of the items' "[", end of the last complete item, items complete, whether the
    array itself closed)`` of the top-level ``items`` array, or None when there is none."""
    if not text.startswith("{"):
        return None
    depth, items_open, end, count = 0, -1, -1, 0
    for at, char in brackets(text):
        if char in "[{":
            depth += 1
            if depth == 2 and char == "[" and items_open < 0 and _ITEMS_KEY.search(text, max(0, at - 64), at):
                items_open = end = at
            continue
        depth -= 1
        if items_open < 0:
            if depth <= 0:
                return None  # the document closed without an items array (it did not end early)
            continue
        if depth == 2:
            end, count = at + 1, count + 1
        elif depth == 1:
            return items_open, at + 1, count, True
    if items_open < 0:
        return None
    if count == 0:
        end = items_open + 1
    return items_open, end, count, False
