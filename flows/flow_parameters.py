"""Flow run parameters that are already JSON go to the Prefect API without FastAPI's encoder.

Prefect 3.8.8 serialises each flow run's parameters with FastAPI's ``jsonable_encoder``
(``Flow.serialize_parameters``), and importing ``fastapi.encoders`` for it is the largest single
cost of a run's admission: 0.14-0.2 s of a ``kwa run`` whose parameters are plain strings,
numbers, lists and dicts (the parent flow's source, scope and timeouts; each pillar subflow's
ids and timeouts). For such values the encoder returns an equal copy, so
:func:`install` makes ``Flow.serialize_parameters`` copy them itself and hands anything else
(an enum, a tuple, a model, a dict with non-string or ``_sa`` keys, a method's ``self``) to
Prefect's own implementation, value by value as before. A property test holds the two equal
(``tests/flows/test_flow_parameters.py``). Pinned like ``flows/prefect_link.py``'s patches.
"""

from __future__ import annotations

import threading
from typing import Any

_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_DEPTH = 64  # deeper values go to Prefect's encoder, which decides what a too-deep value becomes
_installed = threading.Lock()
_done: list[bool] = []


def plain(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is JSON made of exactly str/int/float/bool/None, lists and str-keyed dicts
    (subclasses excluded: the encoder turns an enum member into its value)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if depth >= _MAX_DEPTH:
        return False
    if kind is list:
        return all(plain(item, depth + 1) for item in value)
    if kind is dict:
        # The encoder drops keys starting with "_sa" (SQLAlchemy state): those take its path.
        return all(
            type(key) is str and not key.startswith("_sa") and plain(item, depth + 1) for key, item in value.items()
        )
    return False


def copy_plain(value: Any) -> Any:
    """A copy of a :func:`plain` value, as the encoder returns one (new lists and dicts)."""
    kind = type(value)
    if kind is list:
        return [copy_plain(item) for item in value]
    if kind is dict:
        return {key: copy_plain(item) for key, item in value.items()}
    return value


def install() -> None:
    """Patch ``Flow.serialize_parameters`` with the plain-JSON fast path (idempotent)."""
    with _installed:
        if _done:
            return
        from prefect.flows import Flow

        original = Flow.serialize_parameters

        def serialize_parameters(self: Any, parameters: dict[str, Any]) -> dict[str, Any]:
            if self.ismethod or self.isclassmethod or not all(plain(v) for v in parameters.values()):
                return original(self, parameters)
            return {key: copy_plain(value) for key, value in parameters.items()}

        serialize_parameters.__doc__ = original.__doc__
        Flow.serialize_parameters = serialize_parameters  # type: ignore[method-assign]
        _done.append(True)
