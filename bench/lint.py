"""``kwa lint`` against ``kwa run --manifests`` on the same input, each from a fresh home.

Usage: ``python -m bench.lint [--sizes 50,10k] [--repeat 5] [--run-repeat 1] [--out FILE.json]``

For each size, ``bench.generate`` writes a dump (YAML for the small "chart", YAML and JSON at
10k), then:

* ``kwa lint PATH -o sarif --fail-on none`` runs ``--repeat`` times, each in a new empty home (no
  Prefect profile, no kwa database, no cache): what a CI job or a pre-commit hook sees;
* ``kwa run --manifests PATH --ci -o json`` runs ``--run-repeat`` times, each in a new empty home:
  it starts (and migrates) a local Prefect server the first time, as a CI job's would; the server
  is stopped after each run.

Reported: median wall seconds, CPU seconds and peak RSS per command and size, the ratio run/lint,
and the machine's load before each run. Python's bytecode cache is on (its default: the first
run of an installation compiles kwa's modules once, as ``pip install`` may already have done);
``PYTHONDONTWRITEBYTECODE=1`` would make every start compile them again (+0.3 s measured).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import PYTHON, ROOT, fresh_env, label, parse_size, stop_server_of, timed


def _env(home: Path) -> dict[str, str]:
    env = fresh_env(home)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def generate(size: int, out_dir: Path) -> dict[str, Path]:
    from bench.generate import ensure

    yaml_path, json_path, _ = ensure(size, out_dir, 7)
    return {"yaml": yaml_path, "json": json_path}


def lint_once(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kwa-lint-home-") as home:
        out = timed([PYTHON, "-m", "kwa", "lint", str(path), "-o", "sarif", "--fail-on", "none"], _env(Path(home)))
    if out["exit"] not in (0, 3):
        raise RuntimeError(f"kwa lint {path.name} exited {out['exit']}:\n{out['stderr'][-2000:]}")
    return {k: out[k] for k in ("seconds", "cpu_s", "rss_mb", "load_before")}


def run_once(path: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kwa-run-home-") as home:
        try:
            cmd = [PYTHON, "-m", "kwa", "run", "--manifests", str(path), "--ci", "-o", "json"]
            out = timed(cmd, _env(Path(home)))
        finally:
            stop_server_of(Path(home))
    if out["exit"] not in (0, 3):
        raise RuntimeError(f"kwa run {path.name} exited {out['exit']}:\n{out['stderr'][-2000:]}")
    return {k: out[k] for k in ("seconds", "cpu_s", "rss_mb", "load_before")}


def medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"n": len(runs), "runs": runs}
    for key in ("seconds", "cpu_s", "rss_mb", "load_before"):
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = statistics.median(values) if values else None
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,10k")
    parser.add_argument("--repeat", type=int, default=5, help="kwa lint runs per input")
    parser.add_argument("--run-repeat", type=int, default=1, help="kwa run runs per input (0: skip)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="kwa-bench-lint-"))
    # Compile the bytecode once (what the first start after an install does).
    timed([PYTHON, "-m", "kwa", "--help"], _env(data_dir))
    results: list[dict[str, Any]] = []
    for size in (parse_size(s) for s in args.sizes.split(",")):
        files = generate(size, data_dir)
        formats = ["yaml"] if size < 1000 else ["yaml", "json"]
        for fmt in formats:
            path = files[fmt]
            entry: dict[str, Any] = {"size": label(size), "objects": size, "format": fmt, "bytes": path.stat().st_size}
            entry["lint"] = medians([lint_once(path) for _ in range(args.repeat)])
            if args.run_repeat:
                entry["run"] = medians([run_once(path) for _ in range(args.run_repeat)])
                entry["run_over_lint"] = round(entry["run"]["seconds"] / entry["lint"]["seconds"], 1)
            results.append(entry)
            print(_line(entry), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"results": results}, indent=2) + "\n")
    return 0


def _line(e: dict[str, Any]) -> str:
    lint = e["lint"]
    text = (
        f"{e['size']:>5} {e['format']:<4} kwa lint {lint['seconds']:.2f} s (cpu {lint['cpu_s']:.2f} s, "
        f"{lint['rss_mb']:.0f} MB, median of {lint['n']}, load {lint['load_before']:.1f})"
    )
    if "run" in e:
        run = e["run"]
        text += f" | kwa run {run['seconds']:.2f} s ({run['rss_mb']:.0f} MB) | run/lint {e['run_over_lint']}x"
    return text


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
