"""Why storage redacts only error and timeout rows: no check's verdict quotes a field a credential
can live in.

A large run stores hundreds of thousands of verdict rows, so redacting each message would cost time
on the hot path for nothing, *if* verdicts never quote free text. This test is that proof: it plants
a marker in every field of the demo cluster where a credential plausibly lives (container env
values, args, commands, probe and lifecycle commands, probe HTTP headers, annotations, ConfigMap
and Secret data, webhook URLs and CA bundles), runs all 100 checks, and finds the marker in no
verdict's message, details, container or reason. A new check that quotes such a field fails here,
and its rows must then be redacted too (storage/results.py ``_REDACTED_STATUSES``).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from checks.config import Config
from checks.model import Status
from checks.registry import load_all
from checks.runner import evaluate
from checks.snapshot import Snapshot
from checks.sources import demo
from checks.sources.manifests import parse_text

MARKER = "Zq99credential"
FREE_TEXT_LISTS = ("args", "command")


def plant(value: Any, key: str = "") -> Any:
    """``value`` with the marker appended to every string in a credential-bearing field."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ("annotations", "data", "stringData", "binaryData") and isinstance(v, dict):
                out[k] = {name: f"{text} {MARKER}" if isinstance(text, str) else text for name, text in v.items()}
            elif k in FREE_TEXT_LISTS and isinstance(v, list):
                out[k] = [f"{x} {MARKER}" if isinstance(x, str) else x for x in v]
            elif k in ("env", "httpHeaders") and isinstance(v, list):
                out[k] = [
                    {**item, "value": f"{item['value']} {MARKER}"}
                    if isinstance(item, dict) and isinstance(item.get("value"), str)
                    else plant(item)
                    for item in v
                ]
            elif k in ("url", "caBundle") and isinstance(v, str):
                out[k] = f"https://user:{MARKER}@{v.removeprefix('https://')}" if k == "url" else f"{v}{MARKER}"
            else:
                out[k] = plant(v, k)
        return out
    if isinstance(value, list):
        return [plant(v, key) for v in value]
    return value


def planted_demo() -> tuple[Snapshot, int]:
    doc = yaml.safe_load(demo.DEMO_PATH.read_text(encoding="utf-8"))
    mutated = plant(doc)
    text = yaml.safe_dump(mutated, sort_keys=False)
    objects: list[Any] = []
    problems: list[Any] = []
    parse_text(text, demo.DEMO_PATH.name, objects, problems)
    snapshot = Snapshot(
        objects=objects,
        mode="live",
        description=demo.DESCRIPTION,
        problems=problems,
        server_version=demo.SERVER_VERSION,
        metrics=demo.load_metrics(),
        cluster_id=demo.CLUSTER_ID,
        captured_at=demo.CAPTURED_AT,
    )
    return snapshot, text.count(MARKER)


def test_no_verdict_quotes_a_field_a_credential_can_live_in() -> None:
    snapshot, planted = planted_demo()
    assert planted > 400, planted  # the demo cluster has 440 such fields: the plant reached them
    config = Config()
    leaks: list[str] = []
    verdicts = 0
    for check in load_all().select(None, None):
        for result in evaluate(check, snapshot, config):
            if result.status in (Status.ERROR, Status.TIMEOUT):
                continue  # redacted before they are stored
            verdicts += 1
            row = result.as_row()
            shown = json.dumps([row.get("message"), row.get("details"), row.get("container"), row.get("reason")])
            if MARKER in shown:
                leaks.append(f"{check.id}: {shown[:300]}")
    assert verdicts > 1000
    assert not leaks, "\n".join(leaks[:20])
