"""Cutting what slimming drops before parsing: the same slimmed objects and verdicts as reading whole."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate
from bench.realistic import LAST_APPLIED, decorate, sized_status
from checks.limits import Limits
from checks.sources import jsonlist, precut
from checks.sources.guards import Rejected
from checks.sources.slim import slim

POOL = [decorate(sized_status(o)) for o in generate(120, seed=5)]
NODE = next(o for o in POOL if o["kind"] == "Node")

KEYS = st.text(alphabet="fk:.{}\"\\ab-é", min_size=1, max_size=5)
SCALARS = st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.text(alphabet="ab:[]{}\"\\ é", max_size=6))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=30,
)
# Bytes put in place of a value as they are: what orjson refuses (and json reads), nesting, spacing.
ODD = st.sampled_from([
    b"1e400", b"[-1E+999]", b'{"f:x":' + b"9" * 250 + b"e99}", b"[" * 40 + b"]" * 40,
    b'{ "f:a" : { } ,\n "k:{\\"p\\":1}" : {"\\u003a": {}} }', b'"\xc3\xa9"', b'{"f:\xff":{}}', b"NaN",
])


def _plain(raws: list[bytes], limits: Limits) -> Any:
    """What reading the batch gave before cutting: its values, or the document's Rejected."""
    with mock.patch.object(precut, "measured", lambda raws, limits: None):
        return _read(raws, limits)


def _read(raws: list[bytes], limits: Limits) -> Any:
    try:
        values = jsonlist._measured(raws, limits)
    except Rejected as exc:
        return ("rejected", exc.kind, exc.describe())
    return [v.describe() if isinstance(v, Rejected) else slim(copy.deepcopy(v)) for v in values]


def _text(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False).encode()


def _item(obj: dict[str, Any], fields: list[Any], applied: Any, images: Any) -> bytes:
    """``obj`` as JSON with its fieldsV1 trees, last-applied annotation and images (a Node) in place
    of its own, each given as a value or as raw bytes."""
    obj = copy.deepcopy(obj)
    marks: dict[str, bytes] = {}

    def mark(value: Any) -> str:
        key = f"@@{len(marks)}@@"
        marks[key] = _text(value)
        return key

    entries = obj["metadata"].get("managedFields") or []
    for entry, value in zip(entries, fields, strict=False):
        entry["fieldsV1"] = mark(value)
    if applied is not None:
        obj["metadata"].setdefault("annotations", {})[LAST_APPLIED] = mark(applied)
    if images is not None and obj["kind"] == "Node":
        obj["status"]["images"] = mark(images)
    text = json.dumps(obj).encode()
    for key, value in marks.items():
        text = text.replace(f'"{key}"'.encode(), value)
    return text


ITEMS = st.builds(
    _item,
    st.sampled_from([*POOL, NODE]),
    st.lists(st.one_of(VALUES, ODD), max_size=3),
    st.one_of(st.none(), VALUES, ODD, st.text(max_size=40)),
    st.one_of(st.none(), VALUES, ODD),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(ITEMS, min_size=1, max_size=6),
    limits=st.sampled_from([Limits(), Limits(depth=12, string_length=48), Limits(depth=9), Limits(string_length=20)]),
)
def test_a_cut_batch_reads_what_the_whole_batch_reads(items: list[bytes], limits: Limits) -> None:
    """The same slimmed objects, the same items over a limit, the same refusals: unusual values stay
    in the text (and are measured), an unusual batch is read the plain way."""
    assert _read(items, limits) == _plain(items, limits)


def test_realistic_batches_are_cut() -> None:
    raws = [orjson.dumps(o) for o in POOL]
    proofs: list[bool] = []
    provable = precut.provable
    with mock.patch.object(precut, "provable", lambda *a: proofs.append(provable(*a)) or proofs[-1]):
        cut = precut.measured(raws, Limits())
    assert cut is not None and len(proofs) > len(POOL) and all(proofs)
    assert [slim(v) for v in cut] == [slim(orjson.loads(r)) for r in raws]
    assert all(e.get("fieldsV1", 0) == 0 for v in cut for e in v["metadata"].get("managedFields", []))


def test_a_duplicate_key_inside_a_cut_value_is_not_seen() -> None:
    """The one verdict that changed: a key twice inside a value slimming drops (proven well-formed
    and within the limits) no longer rejects the dump; anywhere else it still does."""
    inside = _item(POOL[0], [b'{"f:a":{},"f:a":{}}'], None, None)
    assert isinstance(_plain([inside], Limits()), tuple)  # the plain path refused the dump
    read = _read([inside], Limits())
    assert isinstance(read, list) and "fieldsV1" not in json.dumps(read)
    beside = inside.replace(b'"fieldsV1":', b'"fieldsV1":{},"fieldsV1":', 1)
    assert _read([beside], Limits()) == _plain([beside], Limits()) == (
        "rejected", "duplicate-key", _plain([beside], Limits())[2]
    )
    # Shallow, but with more non-empty mappings than the depth bound allows: not proven, so left in
    # place and measured, and the duplicate refuses the dump as before.
    siblings = b",".join(b'"f:x%d":{"f:y":{}}' % n for n in range(100))
    unproven = _item(POOL[0], [b'{"f:a":{},"f:a":{},' + siblings + b"}"], None, None)
    assert _read([unproven], Limits()) == _plain([unproven], Limits())
    assert _read([unproven], Limits())[:2] == ("rejected", "duplicate-key")


@pytest.mark.parametrize("levels", [precut.FIELDS_V1_LEVEL, precut.ANNOTATION_LEVEL])
def test_the_depth_bound_never_passes_a_value_deeper_than_the_limit(levels: int) -> None:
    limits = Limits()
    room = limits.depth - levels + 1  # containers the value may nest
    for nested in (b'{"a":' * room + b"{}" + b"}" * room, b"[" * (room + 1) + b"]" * (room + 1)):
        assert not precut.provable(nested, levels, limits)
    fits = b'{"a":' * (room - 1) + b"{}" + b"}" * (room - 1)
    assert precut.provable(fits, levels, limits)


def test_a_value_orjson_refuses_is_never_cut() -> None:
    limits = Limits()
    for value in (b"[1e400]", b"[2E+308]", b"[" + b"9" * 250 + b"e99]", b"[-" + b"1" * 320 + b"]", b'["\xff"]'):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(value)
        assert not precut.provable(value, precut.FIELDS_V1_LEVEL, limits)
    assert precut.provable(b'{"f:\xc3\xa9":{}}', precut.FIELDS_V1_LEVEL, limits)
    # Digests and names with an "e" between digits are no numbers: still cut.
    assert precut.provable(b'{"f:sha256:ab4e123":{},"k:team-00000":{},"f:x":[1.5e10]}', precut.FIELDS_V1_LEVEL, limits)


def test_a_streamed_dump_is_cut_and_reads_the_same(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from checks.sources.manifests import load_manifests

    path = tmp_path / "dump.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": POOL}, indent=4))
    whole = load_manifests([str(path)])
    monkeypatch.setattr(jsonlist, "STREAM_MIN_BYTES", 1)
    monkeypatch.setattr(jsonlist, "BATCH", 16)
    results: list[Any] = []
    measured = precut.measured
    with mock.patch.object(precut, "measured", lambda *a: results.append(measured(*a)) or results[-1]):
        streamed = load_manifests([str(path)])
    assert len(results) == -(-len(POOL) // 16) and None not in results  # every batch was cut
    assert [o.raw for o in streamed.objects] == [o.raw for o in whole.objects]
    assert not streamed.problems and not whole.problems


def test_limits_of_a_cut_value_are_those_of_its_place() -> None:
    limits = replace(Limits(), depth=20)
    assert precut.provable(b"{}", precut.FIELDS_V1_LEVEL, limits)
    assert not precut.provable(b'"' + b"x" * 30 + b'"', precut.FIELDS_V1_LEVEL, replace(limits, string_length=20))


def _page_read(body: bytes, cut: bool) -> Any:
    from checks.sources.live import listing

    try:
        data = listing._parse(body, cut=cut)
    except listing._Malformed as exc:
        return ("malformed", str(exc))
    items = data.get("items")
    return [slim(i) if isinstance(i, dict) else i for i in items] if isinstance(items, list) else data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(ITEMS, max_size=6), duplicate=st.booleans())
def test_a_live_page_cut_reads_what_the_whole_page_reads(items: list[bytes], duplicate: bool) -> None:
    """A list page parsed without what slimming drops gives the same slimmed items, and the same
    refusal when orjson and json refuse it (a live page is held to no limits of its own)."""
    body = b'{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"t"},"items":[' + b",".join(items) + b"]}"
    if duplicate and items:  # orjson keeps the last of a key: the cut value may be either
        body = body.replace(b'"fieldsV1":', b'"fieldsV1":{"f:x":{}},"fieldsV1":', 1)
    assert _page_read(body, cut=True) == _page_read(body, cut=False)


def test_a_realistic_live_page_is_cut() -> None:
    body = orjson.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": POOL})
    page = precut.parsed_page(body)
    assert page is not None
    assert [slim(i) for i in page["items"]] == [slim(i) for i in orjson.loads(body)["items"]]
    assert precut.parsed_page(b'{"kind":"Status","code":500}') is None  # no items: read whole
