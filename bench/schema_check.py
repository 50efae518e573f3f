"""What schema validation (OPS-012, checks/schema_full.py) costs on a cluster dump.

Usage: ``python -m bench.schema_check --json F.json [--repeat 5]`` (make F with ``python -m
bench.generate --objects 10000 --out-dir DIR``).

Measured in one process, on the snapshot of F:

* ``first load``: the strict definitions of the target version read from kwa's cache directory
  (or reduced from the bundle when the cache is cold; pass ``--cold`` to force that) and the
  validators compiled for the kinds present - once per process;
* ``index``: every object's verdict with all of that done (median of ``--repeat``), which is what
  ``Snapshot.prepare()`` adds to a run, per object;
* ``OPS-012``: evaluating the check itself (results for every object);
* ``rule``: what turning other checks' passing verdicts on invalid objects into errors adds to
  one check (OPS-004, every object) over the same check with OPS-012 disabled.

``--spoil 0.1`` gives every tenth object an unknown field first, so that the invalid path (every
violation found and worded, and the other checks' passing verdicts turned into errors) is measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _time(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="start from an empty schema cache")
    parser.add_argument("--spoil", type=float, default=0.0, help="share of objects given an unknown field")
    args = parser.parse_args()
    if args.cold:
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="kwa-bench-cache-")

    from checks import schema_full
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.sources.manifests import load_manifests

    snapshot = load_manifests([str(args.json)])
    step = int(1 / args.spoil) if args.spoil else 0
    for obj in snapshot.objects[::step] if step else ():  # invalid ones take the iter_errors path
        obj.raw.setdefault("metadata", {})["labelz"] = {"a": "b"}
    n = len(snapshot.objects) + len(snapshot.malformed)
    bundle = schema_full.library().choose(snapshot.server_version)[0]
    assert bundle is not None, "kubernetes-validate's schemas are missing"
    first = _time(lambda: schema_full._judge_all(snapshot, bundle))
    runs = [_time(lambda: schema_full._judge_all(snapshot, bundle)) for _ in range(args.repeat)]
    index = statistics.median(runs)
    snapshot.prepare()
    findings = snapshot.index(schema_full.INDEX)
    invalid = sum(1 for v in findings.verdicts()[1].values() if v.violations)
    registry = load_all()
    config, off = Config(), Config.from_dict({"disabled": ["OPS-012"]})
    check = registry.by_id("OPS-012")
    own = statistics.median(_time(lambda: evaluate(check, snapshot, config)) for _ in range(args.repeat))
    other = registry.by_id("OPS-004")
    with_rule = statistics.median(_time(lambda: evaluate(other, snapshot, config)) for _ in range(args.repeat))
    without = statistics.median(_time(lambda: evaluate(other, snapshot, off)) for _ in range(args.repeat))

    print(f"{n} objects, {bundle.label}, {invalid} invalid; cache {'cold' if args.cold else 'as found'}")
    print(f"first load + index: {first * 1000:.0f} ms ({first * 1000 / n:.4f} ms/object)")
    print(f"index, warm (median of {args.repeat}): {index * 1000:.0f} ms ({index * 1000 / n:.4f} ms/object)")
    print(f"OPS-012 evaluated: {own * 1000:.0f} ms ({own * 1000 / n:.4f} ms/object)")
    print(f"OPS-004 with the rule: {with_rule * 1000:.0f} ms, without (OPS-012 disabled): {without * 1000:.0f} ms")


if __name__ == "__main__":
    main()
