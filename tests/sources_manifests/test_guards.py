"""checks.sources.guards and measure: the cheap bounds are sound (never let a deeper document or a lost key
through) and exact where they decide; the slow exact checks find what the bounds suspect."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checks.limits import Limits
from checks.sources import guards, measure
from checks.sources.guards import Rejected

KEYS = st.text(alphabet="abcxyz:\\\"{}[] -", min_size=1, max_size=4)
SCALARS = st.one_of(st.integers(-5, 5), st.booleans(), st.none(), st.text(alphabet="ab:[]{}\"'\\ #*&", max_size=6))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, limit=st.integers(2, 8), flow=st.sampled_from([None, True, False]), indent=st.sampled_from([2, 4]))
def test_the_yaml_depth_check_refuses_exactly_what_is_too_deep(value: Any, limit: int, flow: Any, indent: int) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, indent=indent)
    try:
        guards.check_yaml_depth(text, limit)
    except Rejected:
        assert depth(value) > limit, text
    else:
        assert depth(value) <= limit, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=VALUES, limit=st.integers(2, 8))
def test_the_json_measure_refuses_exactly_what_is_too_deep(value: Any, limit: int) -> None:
    limits = replace(Limits(), depth=limit)
    text = json.dumps(value)
    document = {"kind": "ConfigMap", "data": value}  # one level more
    try:
        measure.check_document(document, limits, json_text=json.dumps(document))
    except Rejected as exc:
        assert depth(document) > limit, (text, exc.message)
        assert exc.message.startswith(f"nested deeper than limits.depth ({limit})")
    else:
        assert depth(document) <= limit, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.dictionaries(KEYS, VALUES, min_size=1, max_size=4), data=st.data())
def test_a_key_json_collapses_is_always_found(value: dict[str, Any], data: st.DataObject) -> None:
    text = json.dumps(value)
    assert measure.check_document(value, Limits(), json_text=text) == {}  # no duplicate, no false alarm
    key = data.draw(st.sampled_from(sorted(value)))
    escaped = json.dumps(key).replace(":", "\\u003a")  # the same key, written another way
    duplicated = "{" + f"{escaped}: 0, " + text[1:]
    with pytest.raises(Rejected, match="defined twice in the object"):
        measure.check_document(json.loads(duplicated), Limits(), json_text=duplicated)


def test_json_duplicates_are_found_in_nested_objects_and_list_items() -> None:
    text = '{"kind": "List", "items": [\n {"a": 1},\n {"metadata": {"labels": {"x": "1", "x": "2"}}}]}'
    with pytest.raises(Rejected) as exc:
        measure.check_document(json.loads(text), Limits(), json_text=text)
    assert exc.value.describe() == 'mapping key "x" defined twice in the object (line 3, column 26)'


def test_a_colon_escaped_in_the_text_is_not_mistaken_for_a_lost_key() -> None:
    text = '{"a\\u003ab": "c\\u003a", "d": 1}'
    assert measure.check_document(json.loads(text), Limits(), json_text=text) == {}


@pytest.mark.parametrize("levels", [1, 10, 100, 10_000, 100_000])
def test_depth_is_measured_without_recursion(levels: int) -> None:
    text = "a: " + "[" * levels + "]" * levels + "\n"  # a mapping, then ``levels`` sequences
    limit = 100
    if levels + 1 > limit:
        with pytest.raises(Rejected, match=r"nested deeper than limits.depth \(100\)"):
            guards.check_yaml_depth(text, limit)
    else:
        guards.check_yaml_depth(text, limit)


def test_the_node_graph_walk_counts_the_billion_laughs_without_expanding_it() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, current in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{current}: &{current} [" + ",".join(f"*{previous}" for _ in range(9)) + "]")
    node = yaml.compose("\n".join(lines), Loader=yaml.CSafeLoader)
    with pytest.raises(Rejected) as exc:
        guards.check_node_graph(node, Limits())
    assert exc.value.message.startswith("expands to more than limits.alias_nodes (1,000,000) nodes")
    assert exc.value.line == 6  # level g: 9^7 strings, the first over a million
    guards.check_node_graph(node, replace(Limits(), alias_nodes=10**10, aliases=100))  # 435 million: counted, fine


def test_orjson_refuses_past_a_known_depth() -> None:
    ceiling = measure.orjson_depth()
    assert ceiling is None or ceiling >= 250  # the largest limits.depth allowed


def test_may_have_long_line_never_misses_one() -> None:
    for width in (2, 3, 10, 64):
        for length in range(width - 1, width + 3):
            for before in range(0, 2 * width):
                text = "x\n" * before + "y" * length + "\n" + "z\n" * 5
                if length >= width:
                    assert measure.may_have_long_line(text, width), (width, length, before)
    assert not measure.may_have_long_line("ab\n" * 10_000, 64)


def test_may_have_long_string_never_misses_one() -> None:
    for width in (4, 10, 64):
        for length in range(width, width + 3):
            for before in range(0, 2 * width, 3):
                for inside in ("y", '\\"', "\\\\"):  # plain, an escaped quote, an escaped backslash
                    body = (inside * length)[:length]
                    text = json.dumps({"k" * before: 1, "v": "z"}) + json.dumps(["a", body])
                    if len(json.loads(json.dumps(["a", body]))[1]) >= width:
                        assert measure.may_have_long_string(text, width), (width, text)
                        assert measure.may_have_long_string(text.encode(), width), (width, text)
    assert not measure.may_have_long_string(json.dumps([f"s{i}" for i in range(10_000)]), 64)


def test_alias_tokens_count_only_where_an_alias_can_start() -> None:
    text = "a: *x\nb: [*y, *z]\nc: '*.example.com'\nd: a*b\ne: {f: *w}\n- *v\n"
    assert guards.alias_tokens(text) == 5
    assert not guards.has_alias_token("image: 'registry/*'\nglob: \"*.svc\"\n")
