"""The plain-JSON fast path of ``Flow.serialize_parameters`` (flows/flow_parameters.py) gives what
Prefect's own FastAPI-based implementation gives, value and type, for any parameters."""

from __future__ import annotations

import enum
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st


class Colour(enum.StrEnum):
    RED = "red"


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8),
    st.just(Colour.RED),  # an enum member: the encoder turns it into its value
)  # fmt: skip
keys = st.one_of(st.text(max_size=6), st.sampled_from(["_sa_state", "_sa", "source"]), st.integers(0, 3))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),  # a tuple: the encoder turns it into a list
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=20,
)


def _typed(value: Any) -> Any:
    """``value`` with every leaf's type beside it: 1, 1.0 and True compare equal, but are not."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list | tuple):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__name__, value)


def _original() -> Any:
    from prefect.flows import Flow

    from flows import flow_parameters

    flow_parameters.install()
    # The patch keeps Prefect's implementation in its closure: call that one directly.
    closure = Flow.serialize_parameters.__closure__ or ()
    [original] = [c.cell_contents for c in closure if callable(c.cell_contents)]
    return original


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=5))
def test_the_fast_path_equals_prefects_encoder(parameters: dict[str, Any]) -> None:
    from prefect import flow

    @flow(name="kwa-parameters-probe")
    def probe(**kwargs: Any) -> None:
        pass

    fast = probe.serialize_parameters(parameters)
    plain = _original()(probe, parameters)
    assert _typed(fast) == _typed(plain)


def test_plain_values_are_copied_not_shared() -> None:
    from flows.flow_parameters import copy_plain, plain

    value = {"source": {"kind": "manifests", "paths": ["a.yaml"]}, "checks": None, "timeout": 30.0}
    assert plain(value)
    copied = copy_plain(value)
    assert copied == value and copied is not value and copied["source"]["paths"] is not value["source"]["paths"]
    assert not plain({"k": Colour.RED}) and not plain({1: "a"}) and not plain({"_sa_x": 1}) and not plain((1, 2))
