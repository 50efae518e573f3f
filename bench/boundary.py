"""What the typed input boundary costs: ``checks.objects.screen`` against the stages around it.

Usage: ``python -m bench.boundary --json F.json [--repeat 5]`` (make F with ``python -m
bench.generate --objects 10000 --out-dir DIR``).

Runs, in one process and interleaved so that machine load hits both alike: parsing the dump and
building the snapshot with the boundary (what kwa does) and without it (``screened=True``), plus
the boundary alone on the parsed objects, the schema library warm (its first load, once per
process, is reported apart). Prints medians and the boundary's share of parse + snapshot + every
check evaluated inline, the in-process part of a run it can slow down.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True, type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from checks.config import Config
    from checks.objects import library, screen
    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.snapshot import Snapshot
    from checks.sources.manifests import load_manifests

    cold = _time(library)
    with_boundary, without, alone, checks = [], [], [], []
    for _ in range(args.repeat):
        with_boundary.append(_time(lambda: load_manifests([str(args.json)])))
        parsed = load_manifests([str(args.json)])
        objects = parsed.objects
        without.append(_time(lambda o=objects: Snapshot(objects=list(o), screened=True).prepare()))
        alone.append(_time(lambda o=objects: screen(list(o))))
        snap = Snapshot(objects=list(objects), screened=True).prepare()
        config = Config()
        checks.append(_time(lambda s=snap, cf=config: [evaluate(c, s, cf) for c in load_all().all()]))
    med = {k: statistics.median(v) for k, v in
           {"load_with_boundary": with_boundary, "snapshot_without": without, "screen": alone,
            "checks_inline": checks}.items()}
    stage = med["load_with_boundary"] + med["checks_inline"]
    print(json.dumps({
        "objects": len(objects),
        "repeat": args.repeat,
        "schema_library_first_load_s": round(cold, 3),
        "medians_s": {k: round(v, 3) for k, v in med.items()},
        "screen_share_of_parse_snapshot_checks": round(med["screen"] / stage, 4),
    }, indent=2))


if __name__ == "__main__":
    main()
