"""How a large run splits into policy reports, and what building and printing them costs.

Usage: ``python -m bench.policyreport_size [--results 20000] [--message 300]``: one namespace of
``--results`` results (messages of ``--message`` characters) rendered in both dialects; prints per
dialect the number of reports, results per report, the largest object's compact JSON bytes (the
limit is 1 MiB), the seconds to build the objects and to print the YAML stream, and its size.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from datetime import UTC, datetime

import orjson

from cli.formatters.policyreport import DIALECTS, MAX_OBJECT_BYTES, build_reports, write_reports


def rows(n: int, message: str) -> list[dict[str, object]]:
    statuses = ("passing", "failing", "warning", "skipped", "error", "timeout")
    return [
        {"id": f"asm_bench_{i:06x}", "check_id": f"SEC-{i % 40:03d}", "check_name": "Privileged container",
         "pillar": "security", "severity": ("critical", "high", "medium", "low", "info")[i % 5],
         "status": statuses[i % 6], "object_kind": "Pod", "object_namespace": "big", "object_name": f"pod-{i}",
         "container": "app", "message": message, "remediation": "Drop privileged: true.",
         "field_path": "spec.containers[0].securityContext.privileged",
         "assessed_at": datetime(2026, 2, 11, 9, 0, i % 60, tzinfo=UTC)}
        for i in range(n)
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=int, default=20_000)
    parser.add_argument("--message", type=int, default=300)
    args = parser.parse_args()
    data = rows(args.results, "x" * args.message)
    run = {"run_id": "run_20260211_090000_eeeeee", "cluster_id": "bench", "state": "completed"}
    for fmt in DIALECTS:
        started = time.perf_counter()
        reports = build_reports(run, data, fmt)
        built = time.perf_counter() - started
        out = io.StringIO()
        started = time.perf_counter()
        write_reports(run, data, fmt, out)
        printed = time.perf_counter() - started
        sizes = [len(orjson.dumps(r)) for r in reports]
        print(json.dumps({
            "format": fmt, "results": args.results, "reports": len(reports),
            "results_per_report": [len(r["results"]) for r in reports], "largest_bytes": max(sizes),
            "limit_bytes": MAX_OBJECT_BYTES, "build_s": round(built, 2), "build_and_print_s": round(printed, 2),
            "yaml_bytes": len(out.getvalue()),
        }))  # fmt: skip


if __name__ == "__main__":
    main()
