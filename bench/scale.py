"""The scale benchmark: ``kwa run`` end to end at 10k, 100k and 400k realistic objects, live and from JSON.

Usage: ``python -m bench.scale [--sizes 10k,100k,400k] [--shape envelope|classic] [--modes live,json]``
(or ``python -m bench.run --only scale ...``, which passes the same options).

For each size it builds (once, cached in ``--data-dir``) a ``kind: List`` dump: the Kubernetes
scalability envelope's shape (``bench.envelope``, realistic objects) or ``bench.generate``'s classic
cluster (``--realistic`` passes it through ``bench.realistic``). Then, against one kwa Prefect
server started for the whole suite (``bench.run.local_server``), it times

* ``live``: the loopback API double (``bench.apidouble``) serving the dump with ``limit``/``continue``
  pages, and ``kwa run --kubeconfig`` end to end: listing, all 100 checks, every result persisted;
* ``json``: ``kwa run --manifests dump.json``.

Before the live runs the double encodes every answer a run can ask of it (``bench.prime``):
a real API server's encoding does not run on kwa's two cores. Each mode gets one untimed warm-up
run (it creates kwa's database, fills the OS file cache; run with ``python -X importtime`` to see
what the imports cost), then
``--repeat`` timed runs: wall, CPU (user + sys, children included), the peak PSS and summed RSS of
the whole process tree (``bench.proctree``), GNU time's max RSS, the Prefect server's CPU during
the run, exit code and run state, and where each second went: from the run's own phase
timestamps (docs/lifecycle.md#phases) plus the process start before the run row existed and the
exit after it ended. Per-object cost and its ratios between sizes show whether cost is linear.

Results: ``bench/results/<date>-scale-<size>.json`` and ``<date>-scale-summary.md`` (``bench.scale_report``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.proctree import run_measured
from bench.run import (
    PYTHON,
    RESULTS,
    ROOT,
    fresh_env,
    label,
    local_server,
    log,
    machine,
    parse_size,
    proc_cpu_s,
    vm_hwm_mb,
)

MODES = ("live", "json")
TIMEOUT_S = 3600
# (stage, from mark, to mark): marks are the run's phase timestamps plus the process's start and end.
STAGES = (
    ("start-up", "process_start", "requested_at"),  # interpreter, imports, Prefect connection, the run row
    ("queued", "requested_at", "waiting_at"),
    ("waiting", "waiting_at", "started_at"),  # for the cluster's and the global slot
    ("initializing", "started_at", "running_at"),  # listing or reading, the snapshot
    ("running", "running_at", "completed_at"),  # every check, every result persisted
    ("exit", "completed_at", "process_end"),  # the report, shutting down
)


# ---- data ---------------------------------------------------------------------------------------


def dataset(size: int, shape: str, realistic: bool, data_dir: Path, seed: int) -> tuple[Path, int, dict[str, int]]:
    """The dump for a size and shape (cached): path, object count, kind histogram."""
    if shape == "envelope":
        from bench.envelope import ensure

        return ensure(size, data_dir, seed)
    from bench.generate import ensure as ensure_classic

    _, json_path, _ = ensure_classic(size, data_dir, seed)
    if realistic:
        json_path = _realistic_copy(json_path)
    kinds_path = json_path.with_suffix(".kinds.json")
    if not kinds_path.exists():
        items = json.loads(json_path.read_text())["items"]
        kinds_path.write_text(json.dumps(dict(Counter(o["kind"] for o in items).most_common()), indent=1))
    kinds = json.loads(kinds_path.read_text())
    return json_path, sum(kinds.values()), kinds


def _realistic_copy(json_path: Path) -> Path:
    from bench.realistic import decorate

    out = json_path.with_name(json_path.stem + "-realistic.json")
    if not out.exists():
        data = json.loads(json_path.read_text())
        data["items"] = [decorate(o) for o in data["items"]]
        partial = out.with_suffix(".partial")
        partial.write_text(json.dumps(data, separators=(",", ":")))
        os.replace(partial, out)
    return out


def input_limits(path: Path) -> dict[str, str]:
    """``KWA_LIMIT_*`` variables that let kwa read ``path`` when its defaults would refuse it (else none)."""
    from checks.limits import Limits

    size, defaults = path.stat().st_size, Limits()
    if size <= min(defaults.file_bytes, defaults.input_bytes):
        return {}
    room = str(2 * size)
    return {"KWA_LIMIT_FILE_BYTES": room, "KWA_LIMIT_INPUT_BYTES": room}


# ---- the API double ------------------------------------------------------------------------------


def patient_double(json_path: str, start_timeout: float = 900.0, version: str = "1.34.1") -> Any:
    """``bench.apidouble.ApiDouble`` with a longer start: loading a 400k dump on a busy machine takes minutes."""
    import multiprocessing

    from bench.apidouble import ApiDouble, _serve, _wait_port

    class PatientDouble(ApiDouble):
        def __enter__(self) -> str:
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe()
            self.process = ctx.Process(target=_serve, args=(self.json_path, child, False, 0.0, version), daemon=True)
            self.process.start()
            if not parent.poll(start_timeout):
                self.__exit__()
                raise RuntimeError(f"the API double did not start within {start_timeout:g} s")
            port = parent.recv()
            _wait_port(port)
            return f"http://127.0.0.1:{port}"

    return PatientDouble(json_path)


# ---- one run ------------------------------------------------------------------------------------


def _epoch(value: Any) -> float | None:
    if not value:
        return None
    with contextlib.suppress(ValueError, TypeError):
        return datetime.fromisoformat(str(value)).timestamp()
    return None


def stage_breakdown(run: dict[str, Any], process_start: float, process_end: float) -> dict[str, float | None]:
    """Seconds per stage; a run that never waited for a slot (no ``waiting_at``) was queued until it started."""
    marks = {key: _epoch(run.get(key)) for key in ("requested_at", "waiting_at", "started_at", "running_at")}
    marks.update(process_start=process_start, process_end=process_end, completed_at=_epoch(run.get("completed_at")))
    if marks["waiting_at"] is None:
        marks["waiting_at"] = marks["started_at"]
    out: dict[str, float | None] = {}
    for stage, start, end in STAGES:
        a, b = marks.get(start), marks.get(end)
        out[stage] = round(b - a, 3) if a is not None and b is not None else None
    return out


def import_breakdown(stderr: str, top: int = 8) -> dict[str, Any]:
    """``python -X importtime`` output summed per top-level package (self time, seconds)."""
    per_package: Counter[str] = Counter()
    total_us = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].rstrip()
        per_package[name.strip().split(".")[0]] += int(parts[0])
        if len(name) - len(name.lstrip()) == 1:  # nested imports are indented two more spaces per level
            total_us += int(parts[1])
    return {
        "total_s": round(total_us / 1e6, 3),
        "by_package_s": {name: round(us / 1e6, 3) for name, us in per_package.most_common(top)},
    }


def double_stats(server: str) -> dict[str, Any] | None:
    """The API double's request counters, if it exposes them (``/_stats``); None when it does not."""
    with contextlib.suppress(OSError, ValueError), urllib.request.urlopen(f"{server}/_stats", timeout=5) as resp:
        data = json.loads(resp.read())
        return data if isinstance(data, dict) else None
    return None


def _delta(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any] | None:
    if not after:
        return None
    before = before or {}

    def minus(value: Any, earlier: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value - (earlier if isinstance(earlier, int | float) else 0)
        if isinstance(value, dict):  # per-key counters (the page sizes asked for)
            earlier = earlier if isinstance(earlier, dict) else {}
            return {k: d for k, v in value.items() if (d := minus(v, earlier.get(k)))}
        return value

    # A peak (the most requests in flight) is the double's since it started, not a count.
    return {k: v if k == "max_in_flight" else minus(v, before.get(k)) for k, v in after.items()}


def kwa_run(
    source: list[str],
    env: dict[str, str],
    cluster_id: str,
    server_pid: int | None,
    importtime: bool = False,
    limit_mb: float | None = None,
) -> dict[str, Any]:
    """One ``kwa run`` end to end, measured."""
    flags = ["-X", "importtime"] if importtime else []
    cmd = [PYTHON, *flags, "-m", "kwa", "run", *source, "-o", "json", "--cluster-id", cluster_id]
    cpu_before = proc_cpu_s(server_pid)
    out = run_measured(cmd, env, ROOT, TIMEOUT_S, limit_mb=limit_mb)
    cpu_after = proc_cpu_s(server_pid)
    report: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        report = json.loads(out["stdout"]) if out["stdout"].strip() else {}
    run = report.get("run") or {}
    result = {k: v for k, v in out.items() if k not in ("stdout", "stderr")}
    result.update(
        state=run.get("state"),
        run_id=run.get("run_id"),
        objects=report.get("objects"),
        nothing_assessed=report.get("nothing_assessed"),
        server_cpu_s=cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None,
        stages=stage_breakdown(run, out["started_at"], out["started_at"] + out["seconds"]),
    )
    if importtime:
        result["imports"] = import_breakdown(out["stderr"])
    if run.get("state") not in ("completed", "partial"):
        # Only the tail, and kwa never prints Secret values: the dump's Secrets carry none anyway.
        result["stderr_tail"] = out["stderr"][-1500:]
        log(f"kwa run exited {out['exit']} (state {run.get('state')}): {out['stderr'][-300:]}")
    return result


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def med(key: str) -> float | None:
        values = [r[key] for r in runs if r.get(key) is not None]
        return statistics.median(values) if values else None

    stage_names = [name for name, _, _ in STAGES]
    stages = {
        s: statistics.median(v) if (v := [r["stages"][s] for r in runs if r["stages"].get(s) is not None]) else None
        for s in stage_names
    }
    keys = ("seconds", "cpu_s", "tree_pss_mb", "tree_rss_mb", "max_rss_mb", "server_cpu_s", "load_before")
    return {
        **{k: med(k) for k in keys},
        "exit": [r["exit"] for r in runs],
        "state": [r["state"] for r in runs],
        "stages": stages,
        "runs": runs,
    }


# ---- the suite ----------------------------------------------------------------------------------


def bench_size(size: int, opts: argparse.Namespace, env: dict[str, str], server: dict[str, Any]) -> dict[str, Any]:
    from bench.apidouble import write_kubeconfig
    from bench.prime import prime

    name = label(size)
    log(f"scale {name}: dump ({opts.shape}{', realistic' if opts.realistic or opts.shape == 'envelope' else ''})")
    path, count, kinds = dataset(size, opts.shape, opts.realistic, opts.data_dir, opts.seed)
    repeat = opts.repeat if size < opts.large else min(opts.repeat, opts.repeat_large)
    result: dict[str, Any] = {
        "size": name,
        "objects": count,
        "shape": opts.shape,
        "realistic": opts.realistic or opts.shape == "envelope",
        "dump": {"path": str(path), "mb": path.stat().st_size / 1e6, "kinds": kinds},
        "repeat": repeat,
    }
    for mode in opts.modes:
        run_env = env
        with contextlib.ExitStack() as stack:
            if mode == "live":
                log(f"scale {name}: starting the API double (it loads the dump)")
                url = stack.enter_context(patient_double(str(path), version=opts.api_version))
                source = ["--kubeconfig", write_kubeconfig(Path(env["HOME"]) / f"kubeconfig-{name}", url)]
                # Its answers encoded before any timed run: a real API server's encoding does not
                # run on kwa's cores (bench.prime).
                result["double_primed"] = prime(url)
                log(f"scale {name}: the API double encoded its answers in {result['double_primed']['seconds']:.1f} s")
            else:
                url, source = None, ["--manifests", str(path)]
                limits = input_limits(path)
                if limits:  # kwa's default input limits (checks/limits.py) refuse a dump this large
                    result["input_limits_raised"] = limits
                    run_env = {**env, **limits}
            cluster_id = f"bench-{mode}"
            warm = None
            if opts.warmup:
                log(f"scale {name} {mode}: warm-up run (untimed, with -X importtime)")
                warm = kwa_run(source, run_env, cluster_id, server["pid"], importtime=True, limit_mb=opts.limit_mb)
            runs = []
            for i in range(repeat):
                log(f"scale {name} {mode}: run {i + 1}/{repeat}")
                before = double_stats(url) if url else None
                run = kwa_run(source, run_env, cluster_id, server["pid"], limit_mb=opts.limit_mb)
                run["api_double"] = _delta(before, double_stats(url)) if url else None
                runs.append(run)
                log(
                    f"scale {name} {mode}: {run['seconds']:.1f} s, tree PSS {run['tree_pss_mb']:.0f} MB, "
                    f"state {run['state']}, stages {run['stages']}"
                )
            result[mode] = {**summarise(runs), "warmup": warm}
    result["prefect_server_peak_rss_mb"] = vm_hwm_mb(server["pid"])
    return result


def startup_costs() -> dict[str, float]:
    """Seconds to start the interpreter, and to import what ``kwa run`` imports before it does anything."""
    import subprocess
    import time

    def best(code: str) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([PYTHON, "-c", code], cwd=ROOT, check=False, capture_output=True)
            times.append(time.perf_counter() - started)
        return min(times)

    return {"python_s": best("pass"), "import_kwa_app_s": best("import kwa.app")}


def suite(sizes: list[int], opts: argparse.Namespace) -> list[dict[str, Any]]:
    from bench.scale_report import derive, summary_markdown

    date = datetime.now(UTC).strftime("%Y-%m-%d")
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    info = {"date": date, "machine": machine(), "startup": startup_costs(), "command": opts.command}
    results = []
    with tempfile.TemporaryDirectory(prefix="kwa-bench-scale-") as home:
        env = fresh_env(Path(home))
        with local_server(Path(home), timeout=600) as server:  # a busy machine starts it slowly
            for size in sorted(sizes):
                result = {**bench_size(size, opts, env, server), **info}
                results.append(result)
                path = opts.out_dir / f"{date}-scale-{label(size)}.json"
                path.write_text(json.dumps(result, indent=1, default=str))
                log(f"wrote {path}")
    derive(results)
    for result in results:  # with the ratios between sizes, now that every size is known
        (opts.out_dir / f"{date}-scale-{result['size']}.json").write_text(json.dumps(result, indent=1, default=str))
    markdown = summary_markdown(info, results)
    summary = opts.out_dir / f"{date}-scale-summary.md"
    summary.write_text(markdown)
    print(markdown)
    log(f"wrote {summary}")
    return results


def storage_step(opts: argparse.Namespace) -> Any:
    """Step "storage": the storage-growth simulation, ``bench/storage_growth.py`` (written separately).

    Imported lazily so the suite runs without it; skipped with a message while it is absent.
    """
    try:
        from bench import storage_growth  # type: ignore[attr-defined]
    except ImportError as exc:
        if "storage_growth" not in str(exc):
            raise
        log("storage: bench/storage_growth.py is absent: the storage-growth simulation is skipped")
        return None
    entry = getattr(storage_growth, "main", None) or getattr(storage_growth, "run", None)
    if entry is None:
        log("storage: bench.storage_growth has no main(argv) or run(): skipped")
        return None
    log("storage: bench.storage_growth")
    return entry([])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The scale options, shared with ``bench.run``."""
    parser.add_argument("--shape", choices=("envelope", "classic"), default="envelope")
    parser.add_argument("--realistic", action="store_true", help="classic shape: objects as an API server sends them")
    parser.add_argument("--modes", default="live,json", help="comma-separated: live, json")
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="no untimed warm-up run per size and mode (the first timed run then creates kwa's database)",
    )
    parser.add_argument("--limit-mb", type=float, default=16384, help="kill a run whose process tree's PSS passes this")
    parser.add_argument(
        "--api-version",
        default="1.34.1",
        help="the version the API double reports: before 1.33 kwa lists in consistent pages, from it via the watch "
        "cache (whole collections in one answer, which the double encodes before sending a byte)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,400k")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", type=parse_size, default=parse_size("50k"))
    parser.add_argument("--repeat-large", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "kwa-bench-data")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    add_arguments(parser)
    opts = parser.parse_args(argv)
    opts.command = "python -m bench.scale " + " ".join(argv if argv is not None else sys.argv[1:])
    run_from(opts, [parse_size(s) for s in opts.sizes.split(",") if s.strip()])
    return 0


def run_from(opts: argparse.Namespace, sizes: list[int]) -> None:
    """Run the scale suite with options parsed by this module or ``bench.run``."""
    if isinstance(opts.modes, str):
        opts.modes = [m.strip() for m in opts.modes.split(",") if m.strip()]
    if set(opts.modes) - set(MODES):
        raise SystemExit(f"--modes takes {', '.join(MODES)}")
    suite(sizes, opts)


if __name__ == "__main__":
    sys.exit(main())
