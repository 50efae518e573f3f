"""The benchmark suite: ``python -m bench.run [--sizes 1k,10k,100k] [--repeat 3] [--quick]``.

For each size it generates (once, cached in ``--data-dir``) a synthetic cluster dump as
multi-document YAML and as ``kind: List`` JSON (``bench.generate``), then measures, as medians of
``--repeat`` runs:

* stages, each in a fresh process (``bench.stages``): parse YAML, parse JSON, index build, every check
  in-process, every check through the flow's forked lanes, persisting every result to a fresh
  SQLite, ``finish_run``; and the assessment flow in the same process against a running Prefect
  server (the orchestration overhead is flow minus parse+index+evaluate+persist);
* end to end, ``python -m flows.run --manifests <file>`` as a subprocess under ``/usr/bin/time -v``
  (wall time, peak RSS), against a Prefect server already running, and as a new user has it after
  the README quick start: a fresh home runs the quick start's main job (the demo cluster, which
  starts kwa's local Prefect server and creates kwa's database), then the timed run on the dump;
  for the record also the same run as a fresh home's very first command (paying the server's start);
* the live path: ``checks.sources.live.load_live`` listing the same objects from a paginating
  Kubernetes API double on 127.0.0.1 (``bench.apidouble``);
* once per suite: persisting 1,000,000 result rows to SQLite (``python -m bench.persist_bench``);
* Checkov (``--checkov PATH``, default ``checkov`` on PATH or ``/tmp/checkov-venv/bin/checkov``) on the same
  YAML file, for sizes up to ``--checkov-max``, run without network (``unshare -n`` when available).

Results go to ``bench/results/<date>-<size>.json`` (every run's numbers, per-check timings, the
machine) and ``bench/results/<date>-summary.md`` (the tables, the targets, pass/fail).
``--quick``: 1k only, one repeat, no new-user runs, 100,000 rows instead of 1,000,000, no Checkov.
Every server this starts (Prefect, the API double) listens on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
STEPS = ("stages", "flow", "warm", "newuser", "live", "persist1m", "checkov", "scale", "storage")
E2E_TIMEOUT = 3600

# The targets (seconds, MB), checked in the summary.
TARGETS = {
    "e2e_new_user_10k_s": 10.0,
    "e2e_warm_10k_s": 6.0,
    "rss_10k_mb": 600.0,
    "e2e_100k_s": 100.0,
    "rss_100k_mb": 3072.0,
    "overhead_s": 3.0,
    "persist_1m_s": 10.0,
    "live_10k_s": 3.0,
}


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (examples: 1000, 10k, 1m)")
    return int(match.group(1)) * {"": 1, "k": 1000, "m": 1_000_000}[match.group(2).lower()]


def label(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 and size < 1_000_000 else str(size)


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# ---- environments ---------------------------------------------------------------------------------


def fresh_env(home: Path) -> dict[str, str]:
    """The environment of a user whose home is ``home``: no Prefect API, no kwa settings, no kubeconfig."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PREFECT_", "KWA_")) and k not in ("KUBECONFIG", "XDG_DATA_HOME")
    }
    env.update(
        {
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "PREFECT_HOME": str(home / ".prefect"),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


@contextlib.contextmanager
def local_server(home: Path, timeout: float | None = None) -> Iterator[dict[str, Any]]:
    """kwa's own local Prefect server for ``home`` (what the first run would start), stopped after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(fresh_env(home))
    try:
        from flows.server import read_state, start_local_server, stop_local_server

        info = start_local_server(port=0, **({"timeout": timeout} if timeout else {}))
        state = read_state() or {}
        yield {"url": info.url, "pid": state.get("pid")}
    finally:
        with contextlib.suppress(Exception):
            stop_local_server()
        os.environ.clear()
        os.environ.update(saved)


def stop_server_of(home: Path) -> None:
    """Stop the server a flows.run under ``home`` started (the new-user scenario)."""
    state_file = home / ".local" / "share" / "kwa" / "prefect-server" / "server.json"
    if not state_file.exists():
        return
    saved = dict(os.environ)
    os.environ.update(fresh_env(home))
    try:
        from flows.server import stop_local_server

        stop_local_server()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def proc_cpu_s(pid: int | None) -> float | None:
    """CPU seconds (user + system, its reaped children included) a process we started has used so far."""
    if not pid:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return None


def server_pid_of(home: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        state = json.loads((home / ".local" / "share" / "kwa" / "prefect-server" / "server.json").read_text())
        return int(state["pid"])
    return None


def with_server_cpu(pid: int | None, fn: Any) -> dict[str, Any]:
    """``fn()``'s result plus the CPU seconds the Prefect server spent meanwhile (its share of the run)."""
    before = proc_cpu_s(pid)
    out = fn()
    after = proc_cpu_s(pid)
    out["server_cpu_s"] = after - before if before is not None and after is not None else None
    return out


def vm_hwm_mb(pid: int | None) -> float | None:
    """Peak RSS of a running process we started (the Prefect server), from /proc."""
    if not pid:
        return None
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return None


# ---- measurements ---------------------------------------------------------------------------------


def timed(cmd: list[str], env: dict[str, str], timeout: float = E2E_TIMEOUT) -> dict[str, Any]:
    """Run ``cmd`` under ``/usr/bin/time -v``: wall seconds, peak RSS (MB), exit code, stdout."""
    with tempfile.NamedTemporaryFile(prefix="kwa-bench-time-", suffix=".txt", delete=False) as fh:
        time_file = fh.name
    wrapper = ["/usr/bin/time", "-v", "-o", time_file] if Path("/usr/bin/time").exists() else []
    load_before = os.getloadavg()[0]  # other work on the machine inflates wall times: kept with each run
    started = time.perf_counter()
    proc = subprocess.run(
        [*wrapper, *cmd], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.perf_counter() - started
    rss = cpu = None
    with contextlib.suppress(OSError):
        text = Path(time_file).read_text()
        os.unlink(time_file)
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        rss = int(match.group(1)) / 1024 if match else None
        times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
        cpu = sum(float(t) for t in times) if times else None
    return {
        "seconds": wall,
        "cpu_s": cpu,  # user + system of the process and its waited-for children (forked lanes)
        "rss_mb": rss,
        "load_before": load_before,
        "exit": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
    }


def flows_run(path: Path, env: dict[str, str], cluster_id: str) -> dict[str, Any]:
    cmd = [PYTHON, "-m", "flows.run", "--manifests", str(path), "--cluster-id", cluster_id, "--output", "json"]
    out = timed(cmd, env)
    state = None
    with contextlib.suppress(ValueError, KeyError, TypeError):
        state = json.loads(out["stdout"])["run"]["state"]
    if out["exit"] not in (0, 3) or state not in ("completed", "partial"):
        tail = (out["stderr"] or out["stdout"])[-2000:]
        raise RuntimeError(f"flows.run on {path.name} exited {out['exit']} (state {state}):\n{tail}")
    return {
        "seconds": out["seconds"],
        "cpu_s": out["cpu_s"],
        "rss_mb": out["rss_mb"],
        "load_before": out["load_before"],
        "state": state,
    }


def run_stages(yaml_path: Path, json_path: Path, api: str | None, profile_dir: Path | None) -> dict[str, Any]:
    cmd = [PYTHON, "-m", "bench.stages", "--yaml", str(yaml_path), "--json", str(json_path)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if api:
        cmd.append("--flow")
        env["PREFECT_API_URL"] = api
        env["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "CRITICAL"
        env["PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL"] = "CRITICAL"
        env["PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL"] = "CRITICAL"
    if profile_dir:
        cmd += ["--profile-dir", str(profile_dir)]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=E2E_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"bench.stages failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def persist_million(rows: int, repeat: int) -> dict[str, Any]:
    runs, finish = [], []
    for _ in range(repeat):
        proc = subprocess.run(
            [PYTHON, "-m", "bench.persist_bench", "--rows", str(rows)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        match = re.search(r"rows written in ([\d.]+) s.*finish_run \(history GROUP BY\) ([\d.]+) s", proc.stdout)
        if not match:
            raise RuntimeError(f"unexpected bench.persist_bench output: {proc.stdout!r}")
        runs.append(float(match.group(1)))
        finish.append(float(match.group(2)))
    return {"rows": rows, "runs": runs, "median": median(runs), "finish_run_median": median(finish)}


def find_checkov(explicit: str | None) -> str | None:
    for candidate in (explicit, shutil.which("checkov"), "/tmp/checkov-venv/bin/checkov"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def run_checkov(checkov: str, path: Path) -> dict[str, Any]:
    """Checkov's kubernetes framework on the same file, offline (its network look-ups would only stall)."""
    cmd = [checkov, "-f", str(path), "--framework", "kubernetes", "--quiet", "--compact", "-o", "json"]
    cmd += ["--skip-download"]
    if shutil.which("unshare") and os.geteuid() == 0:
        cmd = ["unshare", "-n", *cmd]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KWA_"))}
    out = timed(cmd, env)
    summary = {}
    with contextlib.suppress(ValueError, KeyError, TypeError):
        data = json.loads(out["stdout"])
        summary = (data[0] if isinstance(data, list) else data)["summary"]
    if out["exit"] not in (0, 1) or not summary:
        raise RuntimeError(f"checkov exited {out['exit']}: {out['stderr'][-1500:]}")
    version = subprocess.run([checkov, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "seconds": out["seconds"],
        "rss_mb": out["rss_mb"],
        "version": version,
        "passed": summary.get("passed"),
        "failed": summary.get("failed"),
        "resource_count": summary.get("resource_count"),
    }


def machine() -> dict[str, Any]:
    from importlib.metadata import version

    mem = next(
        (int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line),
        None,
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    # A clean export of a commit (see docs/performance.md) carries the commit in a COMMIT file.
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    if not commit.strip() and (ROOT / "COMMIT").exists():
        commit = (ROOT / "COMMIT").read_text()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": mem,
        "python": platform.python_version(),
        "prefect": version("prefect"),
        "pyyaml_libyaml": _has_libyaml(),
        "kernel": platform.release(),
        "commit": commit.strip(),
    }


def _has_libyaml() -> bool:
    try:
        from yaml import CSafeLoader  # noqa: F401
    except ImportError:
        return False
    return True


# ---- one size -------------------------------------------------------------------------------------


def bench_size(size: int, args: argparse.Namespace, steps: set[str], checkov: str | None) -> dict[str, Any]:
    from bench.apidouble import time_live
    from bench.generate import ensure

    name = label(size)
    log(f"{name}: generating (cached in {args.data_dir})")
    yaml_path, json_path, count = ensure(size, args.data_dir, args.seed)
    repeat = args.repeat if size < args.large else min(args.repeat, args.repeat_large)
    result: dict[str, Any] = {
        "size": name,
        "objects": count,
        "files": {
            "yaml": {"path": str(yaml_path), "mb": yaml_path.stat().st_size / 1e6},
            "json": {"path": str(json_path), "mb": json_path.stat().st_size / 1e6},
        },
        "repeat": repeat,
    }
    with tempfile.TemporaryDirectory(prefix="kwa-bench-warm-") as warm_home:
        need_server = {"flow", "warm"} & steps
        server_ctx = local_server(Path(warm_home)) if need_server else contextlib.nullcontext(None)
        with server_ctx as server:
            if "stages" in steps or "flow" in steps:
                runs = []
                api = server["url"] if "flow" in steps else None
                for i in range(repeat):
                    log(f"{name}: stages {i + 1}/{repeat}")
                    runs.append(
                        with_server_cpu(server and server["pid"], lambda: run_stages(yaml_path, json_path, api, None))
                    )
                result["stages"] = summarise_stages(runs)
                if args.profile_dir:  # an extra run: the profiler's own cost stays out of the medians
                    log(f"{name}: profiling every stage into {args.profile_dir / name}")
                    run_stages(yaml_path, json_path, api, args.profile_dir / name)
            if "warm" in steps:
                env = fresh_env(Path(warm_home))
                result["warm"] = {}
                for fmt in args.formats:
                    path = yaml_path if fmt == "yaml" else json_path
                    log(f"{name}: flows.run {fmt}, server running: warm-up")
                    flows_run(path, env, f"bench-{name}")  # creates kwa's database; not timed
                    runs = []
                    for i in range(repeat):
                        log(f"{name}: flows.run {fmt}, server running {i + 1}/{repeat}")
                        runs.append(with_server_cpu(server["pid"], lambda p=path: flows_run(p, env, f"bench-{name}")))
                    result["warm"][fmt] = summarise_runs(runs)
                result["prefect_server_peak_rss_mb"] = vm_hwm_mb(server["pid"])
    if "newuser" in steps and size < args.large:  # the targets name 10k for new users; 100k would take long
        result["new_user"] = {}
        for fmt in args.formats:
            path = yaml_path if fmt == "yaml" else json_path
            quickstart, after, cold = [], [], []
            for i in range(repeat):
                # As the README has it: a fresh machine runs the quick start's main job (the demo
                # cluster: it starts kwa's Prefect server and creates kwa's database), then the
                # user points kwa at their own 10k-object dump.
                home = Path(tempfile.mkdtemp(prefix="kwa-bench-user-"))
                try:
                    log(f"{name}: new user {i + 1}/{repeat}: the quick start's run (demo cluster)")
                    run = timed([PYTHON, "-m", "flows.run"], fresh_env(home))
                    if run["exit"] not in (0, 3):
                        raise RuntimeError(f"the quick start's run exited {run['exit']}:\n{run['stderr'][-2000:]}")
                    quickstart.append({k: run[k] for k in ("seconds", "cpu_s", "rss_mb", "load_before")})
                    log(f"{name}: new user {i + 1}/{repeat}: flows.run {fmt} after the quick start")
                    env = fresh_env(home)
                    after.append(
                        with_server_cpu(server_pid_of(home), lambda p=path, e=env: flows_run(p, e, f"bench-{name}"))
                    )
                finally:
                    stop_server_of(home)
                    shutil.rmtree(home, ignore_errors=True)
                # For the record: the same run as the very first command, paying the server's start.
                home = Path(tempfile.mkdtemp(prefix="kwa-bench-cold-"))
                try:
                    log(f"{name}: new user {i + 1}/{repeat}: flows.run {fmt} as the first command")
                    run = flows_run(path, fresh_env(home), f"bench-{name}")
                    run["server_cpu_s"] = proc_cpu_s(server_pid_of(home))  # its start and this whole run
                    cold.append(run)
                finally:
                    stop_server_of(home)
                    shutil.rmtree(home, ignore_errors=True)
            result["new_user"][fmt] = {
                "quickstart": summarise_runs(quickstart),
                "after_quickstart": summarise_runs(after),
                "first_command": summarise_runs(cold),
            }
    if "live" in steps:
        log(f"{name}: live listing from the API double")
        result["live"] = time_live(str(json_path), repeat)
    if "checkov" in steps and checkov and size <= args.checkov_max:
        log(f"{name}: checkov on the YAML file (may take minutes)")
        result["checkov"] = run_checkov(checkov, yaml_path)
    derive(result)
    return result


def summarise_stages(runs: list[dict[str, Any]]) -> dict[str, Any]:
    names = runs[0]["stages"].keys()
    checks = runs[0]["checks"].keys()
    return {
        "objects": runs[0]["objects"],
        "results": runs[0]["results"],
        "median": {n: median([r["stages"][n] for r in runs]) for n in names},
        "cpu_median": {n: median([r["cpu"][n] for r in runs]) for n in names},
        "load_before": [r["load_before"] for r in runs],
        "runs": [r["stages"] for r in runs],
        "peak_rss_mb_before_flow": median([r["peak_rss_mb_before_flow"] for r in runs]),
        "peak_rss_mb": median([r["peak_rss_mb"] for r in runs]),
        "server_cpu_median_s": median([r["server_cpu_s"] for r in runs if r.get("server_cpu_s") is not None]),
        "lanes": runs[0]["lanes"],
        "checks": {
            c: {
                "seconds": median([r["checks"][c]["seconds"] for r in runs]),
                "results": runs[0]["checks"][c]["results"],
            }
            for c in checks
        },
    }


def summarise_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "median_s": median([r["seconds"] for r in runs]),
        "cpu_median_s": median([r["cpu_s"] for r in runs if r.get("cpu_s") is not None]),
        "server_cpu_median_s": median([r["server_cpu_s"] for r in runs if r.get("server_cpu_s") is not None]),
        "rss_mb": median([r["rss_mb"] for r in runs if r["rss_mb"] is not None]),
        "runs": runs,
    }


def derive(result: dict[str, Any]) -> None:
    """The orchestration overhead: the flow (and the CLI) minus the same work without Prefect."""
    stages = (result.get("stages") or {}).get("median") or {}
    if not stages:
        return
    work = stages["parse_yaml"] + stages["index"] + stages["evaluate_inline"] + stages["persist"] + stages["finish"]
    work_sandboxed = work - stages["evaluate_inline"] + stages["evaluate_sandboxed"]
    result["work_without_prefect_s"] = work
    cpu = result["stages"]["cpu_median"]
    result["work_cpu_s"] = sum(cpu[n] for n in ("parse_yaml", "index", "evaluate_inline", "persist", "finish"))
    derived: dict[str, Any] = {}
    if "flow" in stages:
        derived["flow_minus_inline_s"] = stages["flow"] - work
        derived["flow_minus_sandboxed_s"] = stages["flow"] - work_sandboxed
    warm = (result.get("warm") or {}).get("yaml")
    if warm:
        derived["cli_warm_minus_inline_s"] = warm["median_s"] - work
    result["overhead"] = derived


# ---- summary --------------------------------------------------------------------------------------


def fmt(value: Any, unit: str = "s") -> str:
    if value is None:
        return "–"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.2f} s"


def summary_markdown(info: dict[str, Any], sizes: list[dict[str, Any]], persist: dict[str, Any] | None) -> str:
    cols = [s["size"] for s in sizes]
    m = info["machine"]
    lines = [
        f"# kwa benchmark, {info['date']}",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory_mb']:,} MB, Python {m['python']}, "
        f"Prefect {m['prefect']}, kwa {m['commit']}. Medians of {info['repeat']} runs (sizes ≥ {label(info['large'])}: "
        f"{info['repeat_large']}). Command: `{info['command']}`.",
        f"Load average (1 min) when each measurement started: {loads(sizes)} — other sessions share these 2 cores, "
        "so wall times are upper bounds; CPU seconds are given where they tell more.",
        "",
        "| stage | " + " | ".join(cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]

    def row(title: str, getter: Any, unit: str = "s") -> None:
        values = []
        for s in sizes:
            try:
                values.append(fmt(getter(s), unit))
            except (KeyError, TypeError):
                values.append("–")
        lines.append(f"| {title} | " + " | ".join(values) + " |")

    lines.append(
        "| objects (YAML MB) | "
        + " | ".join(f"{s['objects']:,} ({s['files']['yaml']['mb']:.0f})" for s in sizes)
        + " |"
    )
    st = lambda s: s["stages"]["median"]  # noqa: E731
    row("parse YAML", lambda s: st(s)["parse_yaml"])
    row("parse JSON", lambda s: st(s)["parse_json"])
    row("index build (+ exemptions resolved)", lambda s: st(s)["index"])
    row("100 checks in-process", lambda s: st(s)["evaluate_inline"])
    row("100 checks, forked lanes", lambda s: st(s)["evaluate_sandboxed"])
    row("  CPU (parent + lanes)", lambda s: s["stages"]["cpu_median"]["evaluate_sandboxed"])
    row("  the same after gc.freeze() (not in kwa yet)", lambda s: st(s)["evaluate_sandboxed_gc_frozen"])
    row("  CPU (parent + lanes)", lambda s: s["stages"]["cpu_median"]["evaluate_sandboxed_gc_frozen"])
    lines.append(
        "| result rows | " + " | ".join(f"{s['stages']['results']:,}" if "stages" in s else "–" for s in sizes) + " |"
    )
    row("persist all rows (SQLite)", lambda s: st(s)["persist"])
    row("finish_run (history)", lambda s: st(s)["finish"])
    row("**work without Prefect** (YAML)", lambda s: s["work_without_prefect_s"])
    row("assessment flow in-process", lambda s: st(s)["flow"])
    row("**orchestration overhead** (flow − work)", lambda s: s["overhead"]["flow_minus_inline_s"])
    row("  CPU: work without Prefect", lambda s: s["work_cpu_s"])
    row("  CPU: flow in-process (+ lanes)", lambda s: s["stages"]["cpu_median"]["flow"])
    row("  CPU: Prefect server during the stages run", lambda s: s["stages"]["server_cpu_median_s"])
    row("stages process peak RSS", lambda s: s["stages"]["peak_rss_mb_before_flow"], "MB")
    for f in info["formats"]:
        row(f"`flows.run` {f}, server running", lambda s, f=f: s["warm"][f]["median_s"])
        row("  CPU (user+sys, process and lanes)", lambda s, f=f: s["warm"][f]["cpu_median_s"])
        row("  CPU of the Prefect server meanwhile", lambda s, f=f: s["warm"][f]["server_cpu_median_s"])
        row("  peak RSS", lambda s, f=f: s["warm"][f]["rss_mb"], "MB")
        row("new user: the quick start's run (demo)", lambda s, f=f: s["new_user"][f]["quickstart"]["median_s"])
        row(
            f"`flows.run` {f}, new user after the quick start",
            lambda s, f=f: s["new_user"][f]["after_quickstart"]["median_s"],
        )
        row(
            f"`flows.run` {f} as a fresh home's first command",
            lambda s, f=f: s["new_user"][f]["first_command"]["median_s"],
        )
        row("  peak RSS (after the quick start)", lambda s, f=f: s["new_user"][f]["after_quickstart"]["rss_mb"], "MB")
    row("Prefect server peak RSS", lambda s: s["prefect_server_peak_rss_mb"], "MB")
    row("live listing (API double, 500/page)", lambda s: s["live"]["median"])
    row("Checkov (same YAML, offline)", lambda s: s["checkov"]["seconds"])
    row("  Checkov peak RSS", lambda s: s["checkov"]["rss_mb"], "MB")
    ratios = []
    for s in sizes:
        ck, warm = (
            s.get("checkov"),
            (s.get("warm") or {}).get("yaml") or (s.get("new_user") or {}).get("yaml", {}).get("after_quickstart"),
        )
        ratios.append(f"{ck['seconds'] / warm['median_s']:.1f}×" if ck and warm else "–")
    lines.append("| Checkov ÷ kwa (`flows.run` YAML, server running) | " + " | ".join(ratios) + " |")
    if persist:
        lines += [
            "",
            f"Persisting {persist['rows']:,} result rows to SQLite (`python -m bench.persist_bench`): "
            f"median {persist['median']:.2f} s (runs {', '.join(f'{x:.2f}' for x in persist['runs'])}); "
            f"finish_run {persist['finish_run_median']:.2f} s.",
        ]
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---:|:---:|"]
    for title, value, limit, unit in targets(sizes, persist):
        met = "–" if value is None else ("yes" if value <= limit else "**no**")
        lines.append(f"| {title} ≤ {fmt(limit, unit)} | {fmt(value, unit)} | {met} |")
    slow = slow_checks(sizes)
    if slow:
        lines += ["", "## Slowest checks (in-process, seconds) and growth exponent between the two largest sizes", ""]
        lines += ["| check | " + " | ".join(cols) + " | exponent |", "|---|" + "---:|" * (len(cols) + 1)]
        lines += slow
    return "\n".join(lines) + "\n"


def loads(sizes: list[dict[str, Any]]) -> str:
    values: list[float] = []
    for s in sizes:
        values += (s.get("stages") or {}).get("load_before") or []
        for group in ("warm", "new_user"):
            for entry in (s.get(group) or {}).values():
                subs = ("quickstart", "after_quickstart", "first_command")
                for sub in [entry, *(entry.get(k) for k in subs if isinstance(entry.get(k), dict))]:
                    values += [r["load_before"] for r in sub.get("runs", []) if r.get("load_before") is not None]
    if not values:
        return "–"
    return f"median {statistics.median(values):.1f}, range {min(values):.1f}–{max(values):.1f}"


def targets(sizes: list[dict[str, Any]], persist: dict[str, Any] | None) -> list[tuple[str, Any, float, str]]:
    by = {s["size"]: s for s in sizes}
    out: list[tuple[str, Any, float, str]] = []

    def get(size: str, *path: str) -> Any:
        node: Any = by.get(size)
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    for fmt_ in ("yaml", "json"):
        out.append(
            (
                f"10k {fmt_}, new user after the quick start",
                get("10k", "new_user", fmt_, "after_quickstart", "median_s"),
                TARGETS["e2e_new_user_10k_s"],
                "s",
            )
        )
        out.append(
            (
                f"(for the record) 10k {fmt_} as a fresh home's first command, starting the server",
                get("10k", "new_user", fmt_, "first_command", "median_s"),
                TARGETS["e2e_new_user_10k_s"],
                "s",
            )
        )
        out.append(
            (f"10k {fmt_}, server running", get("10k", "warm", fmt_, "median_s"), TARGETS["e2e_warm_10k_s"], "s")
        )
        out.append((f"10k {fmt_}, peak RSS", get("10k", "warm", fmt_, "rss_mb"), TARGETS["rss_10k_mb"], "MB"))
        out.append((f"100k {fmt_}, server running", get("100k", "warm", fmt_, "median_s"), TARGETS["e2e_100k_s"], "s"))
        out.append((f"100k {fmt_}, peak RSS", get("100k", "warm", fmt_, "rss_mb"), TARGETS["rss_100k_mb"], "MB"))
    for s in sizes:
        out.append(
            (
                f"orchestration overhead {s['size']}",
                get(s["size"], "overhead", "flow_minus_inline_s"),
                TARGETS["overhead_s"],
                "s",
            )
        )
    out.append(
        (
            "persist 1,000,000 rows",
            persist["median"] if persist and persist["rows"] == 1_000_000 else None,
            TARGETS["persist_1m_s"],
            "s",
        )
    )
    out.append(("live listing 10k", get("10k", "live", "median"), TARGETS["live_10k_s"], "s"))
    return [t for t in out if t[1] is not None]


def slow_checks(sizes: list[dict[str, Any]]) -> list[str]:
    import math

    with_stages = [s for s in sizes if "stages" in s]
    if not with_stages:
        return []
    largest = with_stages[-1]["stages"]["checks"]
    top = sorted(largest, key=lambda c: -largest[c]["seconds"])[:12]
    lines = []
    for c in top:
        cells = [f"{s['stages']['checks'][c]['seconds']:.3f}" if "stages" in s else "–" for s in sizes]
        exponent = "–"
        if len(with_stages) >= 2:
            a, b = with_stages[-2], with_stages[-1]
            ta, tb = a["stages"]["checks"][c]["seconds"], b["stages"]["checks"][c]["seconds"]
            if ta > 0.002 and tb > 0:
                exponent = f"{math.log(tb / ta) / math.log(b['objects'] / a['objects']):.2f}"
        lines.append(f"| {c} | " + " | ".join(cells) + f" | {exponent} |")
    return lines


# ---- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1k,10k,100k", help="comma-separated object counts (1k, 10k, 100k)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--large", type=parse_size, default=parse_size("50k"), help="sizes from here on are 'large'")
    parser.add_argument("--repeat-large", type=int, default=1, help="repeats for large sizes (default 1)")
    parser.add_argument("--formats", default="yaml,json", help="dump formats run end to end (yaml,json)")
    parser.add_argument("--skip", default="", help=f"comma-separated steps to skip: {','.join(STEPS)}")
    parser.add_argument("--only", default="", help="comma-separated steps to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="1k, one repeat, no new-user runs, no Checkov")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "kwa-bench-data")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--persist-rows", type=parse_size, default=1_000_000)
    parser.add_argument("--checkov", help="path of a checkov executable (default: PATH, /tmp/checkov-venv)")
    parser.add_argument("--checkov-max", type=parse_size, default=parse_size("10k"))
    parser.add_argument("--profile-dir", type=Path, help="pyinstrument profiles of each stage (first run of each size)")
    from bench.scale import add_arguments, run_from, storage_step

    add_arguments(parser)  # step "scale" (bench.scale): kwa run end to end, live and from JSON
    args = parser.parse_args(argv)

    steps = set(args.only.split(",")) - {""} if args.only else set(STEPS)
    steps -= set(args.skip.split(","))
    if args.quick:
        args.sizes, args.repeat = "1k", 1
        args.persist_rows = min(args.persist_rows, 100_000)
        steps -= {"newuser", "checkov"}
    unknown = steps - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {', '.join(sorted(unknown))}; steps: {', '.join(STEPS)}")
    try:
        sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    args.formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    if set(args.formats) - {"yaml", "json"}:
        parser.error("--formats takes yaml and/or json")
    checkov = find_checkov(args.checkov) if "checkov" in steps else None
    if "checkov" in steps and checkov is None:
        log("checkov not found: no side-by-side comparison (pip install checkov into a separate venv)")

    date = datetime.now(UTC).strftime("%Y-%m-%d")
    info = {
        "date": date,
        "machine": machine(),
        "repeat": args.repeat,
        "repeat_large": args.repeat_large,
        "large": args.large,
        "formats": args.formats,
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if "scale" in steps:
        run_from(argparse.Namespace(**vars(args), command=info["command"]), sizes)
    if "storage" in steps:  # hook: bench/storage_growth.py, skipped while absent
        storage_step(args)
    steps -= {"scale", "storage"}
    if not steps:
        return 0
    results = []
    for size in sorted(sizes):
        result = {**bench_size(size, args, steps, checkov), "machine": info["machine"], "date": date}
        results.append(result)
        path = args.out_dir / f"{date}-{label(size)}.json"
        path.write_text(json.dumps(result, indent=1, default=str))
        log(f"wrote {path}")
    persist = None
    if "persist1m" in steps:
        log(f"persisting {args.persist_rows:,} rows to SQLite")
        persist = persist_million(args.persist_rows, args.repeat)
        (args.out_dir / f"{date}-persist.json").write_text(
            json.dumps({**persist, "machine": info["machine"]}, indent=1)
        )
    markdown = summary_markdown(info, results, persist)
    summary_path = args.out_dir / f"{date}-summary.md"
    summary_path.write_text(markdown)
    print(markdown)
    log(f"wrote {summary_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
