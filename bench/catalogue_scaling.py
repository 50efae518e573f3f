"""Issue 3's speed rule: 100 checks may cost at most 3x what the first 30 cost, and no check is
quadratic. Usage: python -m bench.catalogue_scaling [--sizes 2500,10000] [--file DUMP]

Evaluates in-process (no Prefect, no fork) on synthetic dumps from bench.generate, prints the
ratio all-checks / first-30 per size and, per check, how its time grows from the smallest size to
the largest (linear growth is the size ratio; a quadratic check shows its square).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2500,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from bench.generate import ensure
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.sources.manifests import load_manifests

    checks = load_all().all()
    # "The 30 checks of issue 2": five per pillar, the lowest ids, as the first implementation had.
    first30 = [c for p in sorted({c.pillar for c in checks}) for c in [x for x in checks if x.pillar == p][:5]]
    config = Config()
    per_check: dict[int, dict[str, float]] = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        _, path, _ = ensure(size, Path("/tmp/kwa-bench-data"))
        snap = load_manifests([str(path)]).prepare()
        config.exemptions.prepare(snap)
        timings = {}
        for c in checks:
            samples = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                evaluate(c, snap, config)
                samples.append(time.perf_counter() - t)
            timings[c.id] = statistics.median(samples)
        per_check[size] = timings
        t30 = sum(timings[c.id] for c in first30)
        t100 = sum(timings.values())
        print(f"{len(snap.objects):>7} objects: 30 checks {t30:.2f}s, 100 checks {t100:.2f}s, ratio {t100 / t30:.2f}x")
    sizes = sorted(per_check)
    if len(sizes) > 1:
        lo, hi = sizes[0], sizes[-1]
        growth = {cid: per_check[hi][cid] / max(per_check[lo][cid], 1e-4) for cid in per_check[hi]}
        worst = sorted(growth.items(), key=lambda kv: -kv[1])[:8]
        print(
            f"size x{hi / lo:.0f}; fastest-growing checks: "
            + ", ".join(
                f"{cid} {g:.1f}x ({per_check[lo][cid] * 1000:.0f} → {per_check[hi][cid] * 1000:.0f} ms)"
                for cid, g in worst
            )
        )


if __name__ == "__main__":
    main()
