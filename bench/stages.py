"""One measurement of every in-process stage for one dump, in a fresh process (run by bench.run).

Usage: ``python -m bench.stages --yaml F.yaml --json F.json [--flow] [--profile-dir DIR]``

Prints one JSON object: seconds per stage, per-check evaluation seconds and result counts, and the
process's peak RSS. Stages, in order:

  parse_yaml / parse_json   read and parse the file into objects (no indexes)
  index                     ``Snapshot(objects)`` (kind, namespace, name, uid, owner indexes) + ``prepare()``
                            + exemptions resolved once (``Config().exemptions.prepare``), as the flow does
  evaluate_inline           every check, one after another, in this process
  evaluate_sandboxed        every check through ``checks.sandbox.IsolatedBatch`` pillar by pillar, on the
                            lanes the flow uses (what ``flows.pillar`` does, without Prefect)
  evaluate_sandboxed_gc_frozen  the same after ``gc.freeze()`` in the parent (not what kwa does yet)
  persist                   every result row through ``storage.results.ResultWriter`` into a fresh SQLite
  finish                    ``finish_run`` (the history row: a GROUP BY over the run's results)
  flow (with --flow)        the whole ``flows.assessment.assessment`` flow in this process against the
                            Prefect API in ``PREFECT_API_URL`` (parse, index, sandboxed checks, persist, states)

The RSS is ``ru_maxrss`` of this process (forked lanes are separate processes, sharing its pages).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LANES = max(1, min(4, os.cpu_count() or 1))  # as flows.lanes.LANES
CHECK_TIMEOUT = 600.0


@contextmanager
def profiled(directory: Path | None, name: str):  # type: ignore[no-untyped-def]
    """Profile the block with pyinstrument into ``directory/name.txt`` when a directory is given."""
    if directory is None:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{name}.txt").write_text(profiler.output_text(unicode=False, color=False, show_all=False))


def check_meta(check: Any) -> dict[str, Any]:
    return {
        "id": check.id,
        "pillar": check.pillar.value,
        "name": check.name,
        "severity": check.severity.value,
        "remediation": check.remediation,
    }


def measure(yaml_path: str, json_path: str, with_flow: bool, profile_dir: Path | None) -> dict[str, Any]:
    from checks.config import Config
    from checks.registry import load_all
    from checks.runner import evaluate
    from checks.sandbox import IsolatedBatch
    from checks.snapshot import K8sObject, ParseProblem, Snapshot
    from checks.sources.manifests import parse_text
    from storage.db import Database
    from storage.results import ResultWriter
    from storage.runs import create_run, finish_run, start_run

    checks = load_all().all()
    out: dict[str, Any] = {"stages": {}, "cpu": {}, "checks": {}, "load_before": os.getloadavg()[0]}
    stages = out["stages"]
    cpu = out["cpu"]

    def cpu_now() -> float:
        # This process (all threads) plus reaped children (the forked lanes): CPU seconds, which
        # other work on the machine inflates far less than wall time.
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    def parse(path: str) -> list[K8sObject]:
        objects: list[K8sObject] = []
        problems: list[ParseProblem] = []
        text = Path(path).read_text(encoding="utf-8")
        parse_text(text, path, objects, problems, json_first=path.endswith(".json"))
        if problems:
            raise SystemExit(f"{path}: {len(problems)} parse problems, first: {problems[0]}")
        return objects

    for label, path in (("parse_json", json_path), ("parse_yaml", yaml_path)):
        gc.collect()
        started, c0 = time.perf_counter(), cpu_now()
        with profiled(profile_dir, label):
            objects = parse(path)
        stages[label], cpu[label] = time.perf_counter() - started, cpu_now() - c0
    out["objects"] = len(objects)

    started, c0 = time.perf_counter(), cpu_now()
    with profiled(profile_dir, "index"):
        snapshot = Snapshot(objects=objects, mode="manifest", description=f"manifests: {yaml_path}").prepare()
        # As the flow does: one Config for the run, exemptions resolved once before any check runs
        # (a Config per evaluate() call would resolve them again for every check).
        config = Config()
        config.exemptions.prepare(snapshot)
    stages["index"], cpu["index"] = time.perf_counter() - started, cpu_now() - c0

    results: dict[str, list] = {}
    started, c0 = time.perf_counter(), cpu_now()
    with profiled(profile_dir, "evaluate_inline"):
        for check in checks:
            t = time.perf_counter()
            results[check.id] = evaluate(check, snapshot, config)
            out["checks"][check.id] = {"seconds": time.perf_counter() - t, "results": len(results[check.id])}
    stages["evaluate_inline"], cpu["evaluate_inline"] = time.perf_counter() - started, cpu_now() - c0
    out["results"] = sum(len(r) for r in results.values())

    by_id = {c.id: c for c in checks}
    by_pillar: dict[str, list[str]] = defaultdict(list)
    for check in checks:
        by_pillar[check.pillar.value].append(check.id)

    def sandboxed_run() -> int:
        count = 0
        for ids in by_pillar.values():
            batch = IsolatedBatch(
                [(i, CHECK_TIMEOUT) for i in ids],
                lambda i: evaluate(by_id[i], snapshot, config),
                lanes=min(LANES, len(ids)),
            ).start()
            for i in ids:
                count += len(batch.wait(i).unwrap(CHECK_TIMEOUT))
        return count

    started, c0 = time.perf_counter(), cpu_now()
    sandboxed = sandboxed_run()
    stages["evaluate_sandboxed"], cpu["evaluate_sandboxed"] = time.perf_counter() - started, cpu_now() - c0
    # The same with the parent's objects moved out of the collector's reach (gc.freeze): a child's
    # garbage collection then no longer writes to every object's header, which copies the whole
    # heap page by page (copy-on-write). Not what kwa does today: measured for the recommendation.
    gc.collect()
    gc.freeze()
    started, c0 = time.perf_counter(), cpu_now()
    sandboxed_run()
    label = "evaluate_sandboxed_gc_frozen"
    stages[label], cpu[label] = time.perf_counter() - started, cpu_now() - c0
    gc.unfreeze()
    if sandboxed != out["results"]:
        raise SystemExit(f"sandboxed evaluation returned {sandboxed} results, inline {out['results']}")

    with tempfile.TemporaryDirectory(prefix="kwa-bench-db-") as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        run = create_run(
            db, scope="full", pillars=[], check_ids=[], cluster_id="bench", source="bench", trigger="manual"
        )
        start_run(db, run["run_id"])
        started, c0 = time.perf_counter(), cpu_now()
        with profiled(profile_dir, "persist"):
            writer = ResultWriter(db, run["run_id"])
            for check in checks:
                writer.add(check_meta(check), [r.as_row() for r in results[check.id]], datetime.now(UTC), 0)
            writer.flush()
        stages["persist"], cpu["persist"] = time.perf_counter() - started, cpu_now() - c0
        started, c0 = time.perf_counter(), cpu_now()
        finish_run(db, run["run_id"], "completed")
        stages["finish"], cpu["finish"] = time.perf_counter() - started, cpu_now() - c0
        db.dispose()
    out["rows_persisted"] = writer.written

    out["peak_rss_mb_before_flow"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if with_flow:
        del results
        gc.collect()
        os.environ.setdefault("KWA_DATABASE_URL", f"sqlite:///{tempfile.mkdtemp(prefix='kwa-bench-flow-')}/kwa.db")
        from flows.assessment import assessment

        started, c0 = time.perf_counter(), cpu_now()
        with profiled(profile_dir, "flow"):
            summary = assessment(source={"kind": "manifests", "paths": [yaml_path]}, cluster_id="bench")
        stages["flow"], cpu["flow"] = time.perf_counter() - started, cpu_now() - c0
        out["flow_state"] = summary["run"]["state"]

    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["lanes"] = LANES
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yaml", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--flow", action="store_true", help="also run the assessment flow (needs PREFECT_API_URL)")
    parser.add_argument("--profile-dir", type=Path, help="write pyinstrument profiles of each stage here")
    args = parser.parse_args()
    sys.setrecursionlimit(10_000)
    result = measure(args.yaml, args.json, args.flow, args.profile_dir)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
