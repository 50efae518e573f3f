"""What evaluating in a forked lane costs over evaluating in the parent:
``python -m bench.lane_cost DUMP [--mode lane|inline]``.

``kwa run`` evaluates every check in forked worker lanes so that a check past its deadline can be
killed (checks.sandbox). A lane reads the snapshot the parent built, and reading a Python object
writes its reference count, so the lane copies every page it reads (copy-on-write). This reads
``DUMP`` as ``kwa run --manifests`` does (the snapshot, its indexes, exemptions resolved, the heap
frozen), then evaluates the whole catalogue once, shaped for storage as the flow does
(``flows.lanes.evaluate_for_storage``), either in this process (``inline``) or through
``checks.sandbox.IsolatedBatch`` with one lane (``lane``, what a large cluster's run starts on two
cores). It prints one JSON object: wall and CPU seconds (this process, the lane, the part of it
spent in the kernel) and peak RSS of this process and of the lane. Run each mode in its own
process, alternately: the first mode's page cache and allocator state would favour the second.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import time
from typing import Any

from checks.config import Config
from checks.registry import load_all
from checks.sandbox import IsolatedBatch
from checks.sources.manifests import load_manifests
from flows.lanes import evaluate_for_storage


def _cpu() -> dict[str, float]:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "self": me.ru_utime + me.ru_stime,
        "lane": kids.ru_utime + kids.ru_stime,
        "kernel": me.ru_stime + kids.ru_stime,
    }


def measure(path: str, mode: str) -> dict[str, Any]:
    # The checks first, as a run loads them: their modules register the snapshot indexes that
    # prepare() builds (loaded after it, the reference graph was built inside COST-001's evaluation).
    checks = {c.id: c for c in load_all().all()}
    gc.disable()
    snapshot = load_manifests([path]).prepare()
    config = Config()
    config.exemptions.prepare(snapshot)
    gc.freeze()
    gc.enable()
    before, started = _cpu(), time.perf_counter()
    rows = 0
    if mode == "inline":
        for check in checks.values():
            rows += evaluate_for_storage(check, snapshot, config).total
    else:
        batch = IsolatedBatch(
            [(i, 600.0) for i in checks], lambda i: evaluate_for_storage(checks[i], snapshot, config), lanes=1
        ).start()
        rows = sum(batch.wait(i).unwrap(600.0).total for i in checks)
    wall = time.perf_counter() - started
    time.sleep(1.0)  # the lane exits once its queue is empty: its CPU counts once it is reaped
    after = _cpu()
    gc.unfreeze()
    return {
        "mode": mode,
        "objects": len(snapshot.objects),
        "rows": rows,
        "wall_s": round(wall, 2),
        "cpu_s": {k: round(after[k] - before[k], 2) for k in after},
        "peak_rss_mb": {
            "parent": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            # the largest reaped child: the lane (the index builders, forked while the snapshot is
            # prepared, are smaller)
            "largest_child": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump")
    parser.add_argument("--mode", choices=("lane", "inline"), default="lane")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.dump, args.mode)))


if __name__ == "__main__":
    main()
