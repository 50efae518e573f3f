"""Cutting what slimming drops out of a batch of List items before orjson builds them.

``checks.sources.slim`` drops the ``fieldsV1`` tree of every ``managedFields`` entry and
whole-manifest annotations (``kubectl.kubernetes.io/last-applied-configuration``...): about 40 % of
a realistic dump's bytes. Built by orjson, rendered again to be measured against the limits and
then freed by slimming, they cost about a third of reading a large dump. (A Node's
``status.images``, slimmed too, is left to slimming: its digests and its fifty sibling entries
defeat the cheap proofs below, and Nodes are few.) Here msgspec, at C speed and without building
anything, finds where those values are in a batch's text (typed :class:`msgspec.Raw` fields of
structs that skip every other key), each value is replaced by ``0`` in the text, and orjson parses
the rest: slimming drops the key whatever its value, so the slimmed objects are those of the plain
path (tested as a property).

The limits still hold for what is cut, proven on its bytes rather than measured on objects:

* syntax: msgspec skipped it as well-formed JSON; its bytes are valid UTF-8 (msgspec does not check
  that inside a skipped string); and it holds no number orjson refuses (one past a float's range:
  an exponent of three digits, or 200 digits in a row; a false alarm only keeps the value). Then
  orjson would have read it too, and the item is not one that only ``json`` reads (whose reading
  of the rest could differ: integers past 64 bits).
* depth: a container nested D deep has D-1 non-empty containers above its innermost one, and
  the opening bracket of each is counted by ``count("{") - count("{}") - count("{\\\\")`` with
  ``[`` and ``]`` read as braces (a brace before a backslash is inside a string: the
  ``k:{\\"name\\":…}`` keys of ``fieldsV1``): an upper bound, compared with the levels the
  limit leaves.
* string length: no string is longer than the value's bytes.

A value none of these proves is left in the text, parsed and measured as before. Duplicate keys
are what is not kept: one inside a cut value is no longer seen (the value is well-formed, within
the limits, and dropped; ``docs/scale.md``). Everything else is the batch's plain measurement on
the cut text, and only a batch that is clean passes: one orjson rendering within the depth limit,
the same colons as the text (no key lost, no escaped colon), no string that may be over the limit.
Anything else (a batch msgspec cannot type, an item over a limit, a duplicate, orjson refusing
the text) returns None, and the caller measures the batch the plain way, verdicts and all.

A live list page (``checks.sources.live.listing``) is cut the same way before it is parsed: it is
held to no limits, only to what orjson reads (what is cut is proven to be), so its verdicts are
those of parsing it whole, duplicates included (orjson keeps the last of them either way).
"""

from __future__ import annotations

import ctypes
import re
from typing import Any

import msgspec
import orjson

from checks.limits import Limits
from checks.sources import measure
from checks.sources.slim import DROPPED_ANNOTATIONS

_ABSENT = msgspec.Raw(b"")
PLACEHOLDER = b"0"
# A number orjson refuses (past a float's range, about 1.8e308) has an exponent of three digits or
# more after a digit, or (an exponent of at most 99 needs a mantissa past 1.8e209) over 200 digits
# before its point. Seen with every digit as 0, "E" as "e" and signs deleted (which only joins
# runs), that shows as "0e000" or a run of 200 zeros: a cheap filter, and only a value it passes is
# searched for a number token (one not right after a letter, digit or point: a hex digest's
# "5e123" is not) that could be one.
_PAST_RANGE = re.compile(rb"(?<![\w.+-])-?[0-9]+(?:\.[0-9]+)?[eE][-+]?[0-9]{3}|[0-9]{200}")
_FOLD = bytes.maketrans(b"[]0123456789E", b"{}0000000000e")
_LONGEST_DIGITS = 200
_DIGIT_RUN = b"0" * _LONGEST_DIGITS
# Levels above a cut value in the batch document: the List (1), its items (2), the item (3)...
FIELDS_V1_LEVEL = 7  # ... metadata (4), managedFields (5), an entry (6), fieldsV1 (7)
ANNOTATION_LEVEL = 6  # ... metadata (4), annotations (5), a value (6)


class _Entry(msgspec.Struct):
    fieldsV1: msgspec.Raw = _ABSENT


_ANNOTATION_KEYS = sorted(DROPPED_ANNOTATIONS)
_Annotations = msgspec.defstruct(
    "_Annotations",
    [(f"a{n}", msgspec.Raw, msgspec.field(default=_ABSENT, name=key)) for n, key in enumerate(_ANNOTATION_KEYS)],
)
_ANNOTATION_FIELDS = tuple(f"a{n}" for n in range(len(_ANNOTATION_KEYS)))


class _Meta(msgspec.Struct):
    managedFields: list[_Entry] | None = None
    annotations: _Annotations | None = None  # type: ignore[valid-type]


class _Item(msgspec.Struct):
    metadata: _Meta | None = None


class _Batch(msgspec.Struct):
    items: list[_Item]


_BATCH = msgspec.json.Decoder(_Batch)


class _Buffer(ctypes.Structure):
    """CPython's ``Py_buffer``: the only way to learn where a :class:`msgspec.Raw` (a view of the
    decoded bytes) starts, short of searching for its bytes (which can match elsewhere)."""

    _fields_ = [
        ("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p), ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p),
    ]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_Buffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_Buffer)]
_release_buffer.restype = None


def _address(obj: Any) -> int:
    view = _Buffer()
    _get_buffer(obj, ctypes.byref(view), 0)  # raises (BufferError) for an object without a buffer
    try:
        return view.buf or 0
    finally:
        _release_buffer(ctypes.byref(view))


def provable(value: bytes, levels: int, limits: Limits) -> bool:
    """Whether the JSON value ``value`` (msgspec skipped it as well-formed), its
    own container at level ``levels``, is proven to be within the limits and readable by orjson.
    One translation serves both bounds: brackets folded to braces, digits to 0, "E" to "e",
    signs deleted (folding and deleting only ever turn a pair that is no container into ``{}``)."""
    if len(value) > limits.string_length:
        return False
    folded = value.translate(_FOLD, b"+-")
    opens = folded.count(b"{") - folded.count(b"{}")  # non-empty containers, and strings' braces
    if opens > limits.depth - levels:
        opens -= folded.count(b"{\\")  # a brace before a backslash is inside a string
        if opens > limits.depth - levels:
            return False
    if (b"0e000" in folded or (len(folded) >= _LONGEST_DIGITS and _DIGIT_RUN in folded)) and _PAST_RANGE.search(
        value
    ):
        return False
    if not value.isascii():
        try:
            value.decode("utf-8")  # msgspec does not check the bytes of a string it skips
        except UnicodeDecodeError:
            return False
    return True


def spans(text: bytes, limits: Limits) -> list[tuple[int, int]] | None:
    """Where, in the batch ``text`` (``{"kind":"List","items":[…]}``), the values to cut are, in
    order; None when msgspec cannot type the batch (an item or field not shaped as expected)."""
    try:
        batch = _BATCH.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        return None
    found: list[tuple[int, int, int]] = []  # (start, end, levels): proven below
    base = _address(text)
    for item in batch.items:
        meta = item.metadata
        if meta is not None:
            if meta.managedFields:
                for entry in meta.managedFields:
                    raw = entry.fieldsV1
                    if len(raw) > 1:
                        start = _address(raw) - base
                        found.append((start, start + len(raw), FIELDS_V1_LEVEL))
            if meta.annotations is not None:
                for field in _ANNOTATION_FIELDS:
                    raw = getattr(meta.annotations, field)
                    if len(raw) > 1:
                        start = _address(raw) - base
                        found.append((start, start + len(raw), ANNOTATION_LEVEL))
    size = len(text)
    # A one-byte value (a number, or the placeholder itself) is not worth cutting.
    return sorted(
        (start, end) for start, end, levels in found
        if 0 <= start < end <= size and provable(text[start:end], levels, limits)
    )


def cut(text: bytes, limits: Limits) -> bytes | None:
    """``text`` (a JSON object whose ``items`` are Kubernetes objects) with each value slimming
    drops that is proven within ``limits`` replaced by ``0``; None when msgspec cannot type it."""
    where = spans(text, limits)
    if where is None:
        return None
    view = memoryview(text)
    parts = []
    at = 0
    for start, end in where:
        if start < at:  # overlapping: cannot happen for values msgspec found; refuse rather than guess
            return None
        parts.append(view[at:start])
        parts.append(PLACEHOLDER)
        at = end
    parts.append(view[at:])
    return b"".join(parts)


def measured(raws: list[bytes], limits: Limits) -> list[Any] | None:
    """The items of one batch parsed without what slimming drops, when the whole batch is within
    the limits (what ``measure.check_document`` would find nothing in); else None."""
    ceiling = measure.orjson_depth()
    if ceiling is None:
        return None
    text = cut(b'{"kind":"List","items":[' + b",".join(raws) + b"]}", limits)
    if text is None:
        return None
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    rendered = measure.rendered_within(doc, ceiling - limits.depth)
    if rendered is None or not measure.same_colons(text, rendered.count(b":")):
        return None
    if len(text) >= limits.string_length and measure.may_have_long_string(text, limits.string_length):
        return None
    items = doc["items"]
    return items if len(items) == len(raws) else None


# A live list page has no limits but orjson's own: it refuses 1,025 nested levels (a page is then
# read by json, which may differ); what is cut is proven well within that.
_READABLE = Limits(depth=1000, string_length=1 << 62)


def parsed_page(body: bytes) -> Any | None:
    """A live list page (``{"kind": "PodList", "items": […], …}``) parsed by orjson without what
    slimming drops from its items, for a caller that slims each right away; None when msgspec cannot
    type it or orjson refuses it (the caller then parses it whole, with the same verdict as before:
    what is cut is proven to be something orjson reads)."""
    text = cut(body, _READABLE)
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
