"""Hostile and ordinary manifests for the parsing fault tests, and what every one of them checks."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.faults.harness import Outcome, assert_no_traceback

CHECKS = "SEC-001,REL-004"  # two checks that report on every Deployment: enough to see who was assessed


def deployment(name: str, namespace: str = "shop") -> str:
    return (
        "apiVersion: apps/v1\n"
        "kind: Deployment\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\n"
        "spec:\n"
        "  replicas: 2\n"
        f"  selector: {{matchLabels: {{app: {name}}}}}\n"
        "  template:\n"
        f"    metadata: {{labels: {{app: {name}}}}}\n"
        f"    spec: {{containers: [{{name: {name}, image: 'nginx:1.27'}}]}}\n"
    )


def billion_laughs(name: str = "lol") -> str:
    """Nine levels of nine aliases inside a ConfigMap's data: 9^9 = 387,420,489 strings expanded."""
    lines = ["apiVersion: v1", "kind: ConfigMap", f"metadata: {{name: {name}, namespace: shop}}", "data:"]
    lines.append('  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for previous, current in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {current}: &{current} [" + ",".join(f"*{previous}" for _ in range(9)) + "]")
    return "\n".join(lines) + "\n"


def stream(*documents: str) -> str:
    return "---\n".join(documents)


def assert_assessed(got: Outcome, names: set[str], code: int = 0) -> dict[str, Any]:
    """The run completed (exit ``code``: 0, or 9 when the input held no object at all), no traceback
    reached the user, and exactly the Deployments ``names`` were assessed: the hostile document
    took nothing else down. Returns the run row."""
    assert_no_traceback(got.out, got.err)
    assert got.code == code, got.text
    run = got.run()
    assert run["state"] == "completed", run
    assessed = {r["object_name"] for r in got.results() if r["object_kind"] == "Deployment"}
    assert assessed == names, (assessed, got.text)
    return run


def summary(run: dict[str, Any]) -> dict[str, Any]:
    value = run["summary"]
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def reading_seconds(run: dict[str, Any]) -> float:
    """From the run's start to its checks starting: reading the manifests (and connecting)."""
    started, running = (datetime.fromisoformat(str(run[k])) for k in ("started_at", "running_at"))
    return (running - started).total_seconds()
