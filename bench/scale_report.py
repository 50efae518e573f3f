"""The scale benchmark's derived numbers (cost per object, linearity) and its markdown summary.

Pure functions over the result dicts ``bench.scale`` writes, so the summary can be re-rendered
from saved results: ``python -m bench.scale_report bench/results/<date>-scale-*.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# The targets by size: (seconds, MB of the whole process tree's peak PSS); None: no target.
TARGETS: dict[str, tuple[float, float | None]] = {"10k": (3.0, None), "100k": (15.0, 700.0), "400k": (60.0, 2048.0)}
MODES = ("live", "json")
STAGES = ("start-up", "queued", "waiting", "initializing", "running", "exit")


def _valid(mode: dict[str, Any]) -> bool:
    """Every run completed and assessed something: a run killed over the memory limit, one that
    assessed nothing (exit 9) or a partial one (kinds it could not read, checks that did not finish:
    not "all 100 checks, every result") meets no target and has no cost per object."""
    return all(
        r.get("state") == "completed" and r.get("exit") != 9 and not r.get("killed_over_limit")
        for r in mode.get("runs") or [{}]
    )


def _modes(result: dict[str, Any]) -> list[str]:
    return [m for m in MODES if isinstance(result.get(m), dict)]


def derive(results: list[dict[str, Any]]) -> None:
    """Add per-object cost to each mode of each size, and its ratio to the next smaller size."""
    results.sort(key=lambda r: r["objects"])
    for index, result in enumerate(results):
        n = result["objects"]
        for mode in _modes(result):
            m = result[mode]
            if not _valid(m):
                m["per_object"], m["linearity"] = {}, None
                continue
            m["per_object"] = {
                "us": m["seconds"] / n * 1e6 if m.get("seconds") is not None else None,
                "cpu_us": m["cpu_s"] / n * 1e6 if m.get("cpu_s") is not None else None,
                "bytes": m["tree_pss_mb"] * 2**20 / n if m.get("tree_pss_mb") is not None else None,
            }
            prev = next((r for r in reversed(results[:index]) if mode in _modes(r) and _valid(r[mode])), None)
            m["linearity"] = _linearity(prev, result, mode) if prev else None


def _linearity(small: dict[str, Any], large: dict[str, Any], mode: str) -> dict[str, Any]:
    """Per-object cost at the larger size over that at the smaller one (1.0 = linear), and the marginal cost."""
    a, b = small[mode], large[mode]
    extra = large["objects"] - small["objects"]

    def ratio(key: str) -> float | None:
        x, y = a["per_object"].get(key), b["per_object"].get(key)
        return y / x if x and y is not None else None

    def marginal(key: str, scale: float) -> float | None:
        x, y = a.get(key), b.get(key)
        return (y - x) * scale / extra if x is not None and y is not None and extra > 0 else None

    return {
        "vs": small["size"],
        "seconds_ratio": ratio("us"),
        "cpu_ratio": ratio("cpu_us"),
        "bytes_ratio": ratio("bytes"),
        "marginal_us": marginal("seconds", 1e6),
        "marginal_cpu_us": marginal("cpu_s", 1e6),
        "marginal_bytes": marginal("tree_pss_mb", 2**20),
    }


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _states(mode: dict[str, Any]) -> str:
    """Each run's state, with its exit code when not 0 (9: nothing assessed) and a kill over the memory limit."""
    out = []
    for run in mode.get("runs") or []:
        text = str(run.get("state"))
        if run.get("exit"):
            text += f" (exit {run['exit']})"
        if run.get("killed_over_limit"):
            text = "killed over the memory limit"
        out.append(text)
    return ", ".join(out) or ", ".join(map(str, mode.get("state", [])))


def targets(results: list[dict[str, Any]]) -> list[tuple[str, float | None, float, bool | None]]:
    """(what, measured, target, met) for every target whose size and mode were measured."""
    rows: list[tuple[str, float | None, float, bool | None]] = []
    for result in results:
        goal = TARGETS.get(result["size"])
        if goal is None:
            continue
        seconds, mb = goal
        for mode in _modes(result):
            m = result[mode]
            checks = [(f"{result['size']} {mode}: wall ≤ {seconds:g} s", m.get("seconds"), seconds)]
            if mb is not None:
                checks.append((f"{result['size']} {mode}: peak PSS (tree) ≤ {mb:g} MB", m.get("tree_pss_mb"), mb))
            for what, value, limit in checks:
                if not _valid(m):
                    rows.append((f"{what} ({_states(m)})", value, limit, False))
                else:
                    rows.append((what, value, limit, None if value is None else value <= limit))
    return rows


def summary_markdown(info: dict[str, Any], results: list[dict[str, Any]]) -> str:
    mach = info.get("machine") or {}
    lines = [
        f"# Scale benchmark, {info.get('date', '')}",
        "",
        f"`{info.get('command', 'python -m bench.scale')}` · "
        + ", ".join(
            f"{k}: {v}" for k, v in mach.items() if k in ("cpu", "nproc", "memory_mb", "python", "prefect", "commit")
        ),
        "",
        "`kwa run` end to end against a running kwa Prefect server, all checks, every result persisted; "
        "live = through the loopback API double, json = `--manifests dump.json`. Medians. Memory is the "
        "peak of the whole process tree (PSS summed over kwa and its forked lanes; summed RSS counts "
        "copy-on-write pages once per process; GNU time's max RSS is the largest single process). "
        "Load = the 1-minute load average as a run started: on a shared machine, CPU seconds are the "
        "steadier guide.",
        "",
        "| size | mode | objects | dump MB | wall s | CPU s | tree PSS MB | tree RSS MB | max RSS MB | "
        "server CPU s | µs/object | kB/object | state | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for mode in _modes(r):
            m, per = r[mode], r[mode].get("per_object") or {}
            kb = per["bytes"] / 1e3 if per.get("bytes") else None
            lines.append(
                f"| {r['size']} | {mode} | {fmt(r['objects'])} | {fmt(r['dump']['mb'], 0)} | {fmt(m.get('seconds'))} | "
                f"{fmt(m.get('cpu_s'))} | {fmt(m.get('tree_pss_mb'), 0)} | {fmt(m.get('tree_rss_mb'), 0)} | "
                f"{fmt(m.get('max_rss_mb'), 0)} | {fmt(m.get('server_cpu_s'))} | {fmt(per.get('us'), 0)} | "
                f"{fmt(kb, 1)} | {_states(m)} | {fmt(m.get('load_before'))} |"
            )
    lines += ["", "## Targets (issue 13)", "", "| target | measured | met |", "|---|---|---|"]
    for what, value, _limit, met in targets(results):
        lines.append(f"| {what} | {fmt(value)} | {'–' if met is None else 'met' if met else '**missed**'} |")
    lines += [
        "",
        "## Linearity",
        "",
        "Per-object cost at a size over that at the next smaller size (1.0 = linear; below 1 while fixed "
        "costs dominate), and the marginal cost of each extra object between them.",
        "",
        "| mode | sizes | s/object ratio | CPU-s/object ratio | bytes/object ratio | marginal µs/object | "
        "marginal CPU µs/object | marginal kB/object |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for mode in _modes(r):
            lin = r[mode].get("linearity")
            if lin:
                marginal_kb = lin["marginal_bytes"] / 1e3 if lin.get("marginal_bytes") is not None else None
                lines.append(
                    f"| {mode} | {r['size']} / {lin['vs']} | {fmt(lin['seconds_ratio'], 2)} | "
                    f"{fmt(lin.get('cpu_ratio'), 2)} | {fmt(lin['bytes_ratio'], 2)} | {fmt(lin['marginal_us'], 0)} | "
                    f"{fmt(lin.get('marginal_cpu_us'), 0)} | {fmt(marginal_kb, 1)} |"
                )
    lines += [
        "",
        "## Where each second goes",
        "",
        "From the run's own phase timestamps (docs/lifecycle.md#phases): start-up = process start to the "
        "run row (interpreter, imports, Prefect connection); initializing = listing or reading the dump "
        "and building the snapshot; running = every check and persisting every result; exit = from the "
        "terminal state to the process's end (report, shutdown).",
        "",
        "| size | mode | " + " | ".join(STAGES) + " | wall |",
        "|---|---|" + "---|" * (len(STAGES) + 1),
    ]
    for r in results:
        for mode in _modes(r):
            stages = r[mode].get("stages") or {}
            cells = " | ".join(fmt(stages.get(s), 2) for s in STAGES)
            lines.append(f"| {r['size']} | {mode} | {cells} | {fmt(r[mode].get('seconds'), 2)} |")
    startup = info.get("startup") or {}
    if startup:
        lines += [
            "",
            f"Start-up alone: the interpreter {fmt(startup.get('python_s'), 2)} s, "
            f"`import kwa.app` {fmt(startup.get('import_kwa_app_s'), 2)} s (best of 3).",
        ]
    for r in results[:1]:
        for mode in _modes(r):
            imports = (r[mode].get("warmup") or {}).get("imports")
            if imports:
                top = ", ".join(f"{k} {v:.2f}" for k, v in imports["by_package_s"].items())
                lines.append(
                    f"Imports of `kwa run` ({r['size']} {mode} warm-up, `-X importtime`, inflated by it): "
                    f"{imports['total_s']:.2f} s; by package (s): {top}."
                )
    stats = [(r["size"], mode, run.get("api_double")) for r in results for mode in _modes(r) for run in r[mode]["runs"]]
    stats = [s for s in stats if s[2]]
    if stats:
        lines += ["", "## API double", ""]
        lines += [f"- {size} {mode}: {json.dumps(s)}" for size, mode, s in stats]
    if results:
        largest = results[-1]
        kinds = ", ".join(f"{k} {v:,}" for k, v in list(largest["dump"]["kinds"].items())[:14])
        lines += ["", f"Shape at {largest['size']} ({largest.get('shape')}): {kinds}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_report", description=__doc__)
    parser.add_argument("results", nargs="+", help="result files bench.scale wrote, smallest size first")
    paths = parser.parse_args(argv).results
    try:
        results = [json.loads(Path(p).read_text()) for p in paths]
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read a result file: {exc}")
    derive(results)
    info = {k: results[0].get(k) for k in ("date", "machine", "startup")} if results else {}
    info["command"] = "python -m bench.scale_report " + " ".join(paths)
    print(summary_markdown(info, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
