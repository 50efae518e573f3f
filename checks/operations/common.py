"""Helpers shared by more than one operations topic module."""

from __future__ import annotations

from checks.model import SkipReason

EXEMPT_BUILTIN = f"{SkipReason.EXEMPT_PREFIX}built-in"
