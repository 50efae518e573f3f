"""JUnit XML for CI dashboards: one ``<testcase>`` per check × object.

``<testsuites name="kwa">`` holds one ``<testsuite>`` per check (per run and check when several
runs are listed), named ``CHECK-ID check name``, with the pillar and severity as properties. A
testcase is named after the object (``Kind/namespace/name:container``), its ``classname`` is
``kwa.<pillar>.<CHECK-ID>``. With ``--framework`` each suite also has a ``framework.<name>``
property listing the framework's control ids the check assesses. Status mapping:

* ``passing`` → a passed testcase; ``warning`` → passed, the advice in ``<system-out>``;
* ``failing`` → ``<failure type="<severity>">`` with the message and remediation;
* ``error``/``timeout`` → ``<error type="error|timeout">``; ``skipped`` → ``<skipped>`` with the reason.

Characters XML 1.0 cannot carry (control characters in a message) are dropped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, TextIO

from cli.formatters.common import object_ref
from redaction.controls import escape_controls, escaped

_NONCHARACTERS = re.compile("[\ufffe\uffff]")  # not allowed in XML either


def _text(value: Any) -> str:
    """Text a CI's test report shows: controls XML cannot hold, and those that would reorder or
    move text on the page, as ``\\xNN`` / ``\\uNNNN`` (visible, not silently dropped)."""
    text = escape_controls("" if value is None else str(value), keep="\n\t\r")
    return _NONCHARACTERS.sub(lambda m: escaped(m.group()), text)


def write_junit(rows: list[Mapping[str, Any]], out: TextIO) -> None:
    multi_run = len({r["run_id"] for r in rows}) > 1
    suites: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        suites.setdefault((row["run_id"], row["check_id"]), []).append(row)

    root = ET.Element("testsuites", name="kwa")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for (run_id, check_id), members in suites.items():
        first = members[0]
        name = f"{check_id} {first.get('check_name') or ''}".strip()
        suite = ET.SubElement(root, "testsuite", name=_text(f"{run_id} {name}" if multi_run else name))
        props = ET.SubElement(suite, "properties")
        for key in ("run_id", "pillar", "severity"):
            ET.SubElement(props, "property", name=key, value=_text(first.get(key)))
        # ``--framework``: the controls this check assesses (``framework.nsa = NSA-POD-5,NSA-POD-7``).
        for framework, ids in (first.get("frameworks") or {}).items():
            ET.SubElement(props, "property", name=f"framework.{framework}", value=_text(",".join(ids)))
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for row in members:
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_text(f"kwa.{row.get('pillar')}.{check_id}"),
                name=_text(object_ref(row) if object_ref(row) != "-" else check_id),
            )
            status, message = row["status"], _text(row.get("message"))
            if status == "failing":
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", message=message, type=_text(row.get("severity")))
                body = [message]
                if row.get("remediation"):
                    body.append(f"remediation: {_text(row['remediation'])}")
                if row.get("source"):
                    body.append(f"source: {_text(row['source'])}")
                failure.text = "\n".join(body)
            elif status in ("error", "timeout"):
                counts["errors"] += 1
                ET.SubElement(case, "error", message=message, type=status).text = message
            elif status == "skipped":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_text(row.get("reason") or message))
            elif status == "warning":
                ET.SubElement(case, "system-out").text = f"warning: {message}"
        duration = first.get("duration_ms")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        if duration is not None:
            suite.set("time", f"{duration / 1000:.3f}")
        if first.get("assessed_at") is not None and hasattr(first["assessed_at"], "strftime"):
            suite.set("timestamp", first["assessed_at"].strftime("%Y-%m-%dT%H:%M:%S"))
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode"))
    out.write("\n")
