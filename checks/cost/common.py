"""Helpers shared by more than one cost topic module."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from checks.k8s import QuantityError, parse_quantity


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _quantity(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None
