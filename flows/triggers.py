"""What started a run (docs/lifecycle.md#triggers).

A flow run created from a deployment by the scheduler records ``schedule``, one started from the
UI or the API ``deployment``; the CLI passes ``manual`` or ``ci``.
"""

from __future__ import annotations

from typing import Any

from storage.enums import Trigger

TRIGGERS = tuple(t.value for t in Trigger)  # storage's vocabulary is the one list


def detect_trigger(requested: str, flow_run: Any) -> str:
    """``schedule`` / ``deployment`` for deployment runs, else what the caller said."""
    if getattr(flow_run, "deployment_id", None) is not None and requested in ("manual", "deployment", "schedule"):
        return "schedule" if getattr(flow_run, "auto_scheduled", False) else "deployment"
    return requested if requested in TRIGGERS else "manual"
