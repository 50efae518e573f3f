"""Where a ``kwa run`` spends its time, per process and per thread: ``python -m bench.treeprofile``.

``python -m bench.treeprofile [--sizes 10k,100k] [--modes json,live] [--rate 100] [--py-spy PATH]``

A run is several things at once: the parent's main thread (reading, then waiting), the result
writer thread (SQLite), the pillar subflows' event loop and Prefect's own threads (events, logs,
the global loop), the forked evaluation lanes and index builders, and the Prefect server in another
process recording every task run. A profiler of one thread (pyinstrument) cannot say which of them
bounds a phase; this samples all of them at once with `py-spy <https://github.com/benfred/py-spy>`_
(``py-spy record --subprocesses --threads`` over ``kwa run``, and ``py-spy record --pid`` over the
Prefect server during the same run) and adds the samples up per process role and thread.

"Active seconds" are samples in which py-spy found the thread not idle, divided by the rate. A
thread waiting for the GIL or for a free core still counts as active, so active seconds measure
how long each part was *in the way*, not its CPU: with more busy threads than cores they add up to
more than the wall time. Native code that releases the GIL (SQLite's inserts, orjson) is active
and runs in parallel with Python code.

py-spy is not a dependency of kwa: ``pip install py-spy`` (it needs ptrace, which a container may
not allow). Each size and mode gets the envelope dump (``bench.envelope``), a fresh home with kwa's
local Prefect server, one untimed warm-up run, then the profiled run. Results:
``bench/results/<date>-treeprofile.json`` and ``<date>-treeprofile.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run import PYTHON, RESULTS, ROOT, fresh_env, label, local_server, log, machine, parse_size

OWN_PACKAGES = ("checks/", "flows/", "storage/", "kwa/", "bench/")
_FRAME = re.compile(r"^(?P<fn>.*?) \((?P<file>[^()]*?):(?P<line>\d+)\)$")


# ---- reading py-spy's raw output ----------------------------------------------------------------


def parse_raw(path: Path) -> list[tuple[list[str], int]]:
    """py-spy's ``--format raw``: one ``frame;frame;... count`` line per distinct stack."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    return stacks


def thread_name(frame: str, pid: str = "") -> str:
    """``thread (1888): kwa-writer-run_2026…`` → ``kwa-writer``; numbered pool threads lose their number.

    py-spy names a thread only when it can read the name: ``thread (4690)`` is the main thread
    when its id is the process's."""
    bare = re.fullmatch(r"thread \((\d+)\)", frame)
    if bare:
        return "MainThread" if bare[1] == pid else "unnamed"
    name = frame.split(":", 1)[1].strip() if ":" in frame else frame
    name = re.sub(r"-run_[0-9a-z_]+$", "", name)
    name = re.sub(r"-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", "", name)  # a lease's renewal thread
    name = re.sub(r"^Thread-\d+ \((\w+)\)$", r"\1", name)  # Thread-3 (_manage): a lane's manager thread
    name = re.sub(r"_\d+$", "", name)  # kwa-pillars_0, asyncio_1
    if re.fullmatch(r"Thread-\d+|\d+", name):
        return "unnamed"
    return name or "main"


def short(frame: str) -> str:
    """``fn (path/to/pkg/mod.py:12)`` → ``fn (pkg/mod.py)``."""
    m = _FRAME.match(frame)
    if not m:
        return frame
    parts = m["file"].split("/")
    return f"{m['fn']} ({'/'.join(parts[-2:])})"


def _own(frame: str) -> bool:
    m = _FRAME.match(frame)
    return bool(m) and any(p in m["file"] for p in OWN_PACKAGES) and "site-packages" not in m["file"]


def _pid(process_frame: str) -> str:
    """``process 4690:"python -m …"`` → ``4690``."""
    return process_frame.split()[1].split(":", 1)[0] if process_frame.startswith("process ") else ""


def role_of(process_frame: str, root_pid: str, root_role: str, frames: list[str]) -> str:
    """What a process is in a kwa run: the parent, an evaluation lane (a forked worker of
    ``IsolatedBatch``), an index builder (``checks.offload``), or another child."""
    if _pid(process_frame) == root_pid:
        return root_role
    text = ";".join(frames)
    if "IsolatedBatch" in text:
        return "lane"
    if "checks/offload.py" in text or "run_with_deadline" in text:
        return "index builder"
    return "child"


def summarise(
    stacks: list[tuple[list[str], int]], rate: float, top: int = 12, root_role: str = "parent"
) -> dict[str, Any]:
    """Active seconds per (process role, thread), and each busy thread's heaviest frames."""
    if not stacks:
        return {"threads": [], "frames": {}}
    first_process = next((f[0] for f, _ in stacks if f and f[0].startswith("process ")), "")
    root_pid = _pid(first_process)
    per_thread: Counter[tuple[str, str]] = Counter()
    inclusive: dict[tuple[str, str], Counter[str]] = {}
    leaves: dict[tuple[str, str], Counter[str]] = {}
    for frames, count in stacks:
        if frames and frames[0].startswith("process "):
            process, rest = frames[0], frames[1:]
            # A child process's frames start with its own "process" frame after the parent's.
            if rest and rest[0].startswith("process "):
                process, rest = rest[0], rest[1:]
        else:
            process, rest = "", frames
        thread = rest[0] if rest and rest[0].startswith("thread ") else ""
        body = rest[1:] if thread else rest
        key = (role_of(process, root_pid, root_role, body), thread_name(thread, _pid(process)) if thread else "main")
        per_thread[key] += count
        seen = set()
        bucket = inclusive.setdefault(key, Counter())
        for frame in body:
            name = short(frame)
            if name not in seen and _own(frame):
                seen.add(name)
                bucket[name] += count
        if body:
            leaves.setdefault(key, Counter())[short(body[-1])] += count
    threads = [
        {"process": role, "thread": thread, "active_s": round(n / rate, 2)}
        for (role, thread), n in per_thread.most_common()
    ]
    # A thread's outer frames (its entry point, the wrappers around it) cover all of it and say
    # nothing; what is left are the parts its time divides into.
    frames = {
        f"{role} / {thread}": {
            "own_code_inclusive_s": {
                k: round(v / rate, 2)
                for k, v in [(k, v) for k, v in inclusive[(role, thread)].most_common() if v < 0.9 * n][:top]
            },
            "leaf_s": {k: round(v / rate, 2) for k, v in leaves.get((role, thread), Counter()).most_common(top)},
        }
        for (role, thread), n in per_thread.most_common(6)
        if n / rate >= 0.2
    }
    return {"threads": threads, "frames": frames}


# ---- one profiled run ---------------------------------------------------------------------------


def profiled_run(
    spy: str, rate: float, source: list[str], env: dict[str, str], server_pid: int | None
) -> dict[str, Any]:
    """``kwa run`` under py-spy, with a second py-spy on the Prefect server for as long as it lasts."""
    with tempfile.TemporaryDirectory(prefix="kwa-treeprofile-") as tmp:
        run_out, server_out = Path(tmp) / "run.txt", Path(tmp) / "server.txt"
        common = ["record", "--threads", "--rate", str(int(rate)), "--format", "raw"]
        server_spy = None
        if server_pid:
            server_spy = subprocess.Popen(
                [spy, *common, "--pid", str(server_pid), "--output", str(server_out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)  # attached before the run starts
        cmd = [spy, *common, "--subprocesses", "--output", str(run_out), "--"]
        cmd += [PYTHON, "-m", "kwa", "run", *source, "-o", "json", "--cluster-id", "treeprofile"]
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False, timeout=3600)
        seconds = time.perf_counter() - started
        if server_spy is not None:
            server_spy.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            try:
                server_spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server_spy.kill()
        state = None
        with contextlib.suppress(ValueError, AttributeError):  # py-spy prints its own lines around the report
            report, _ = json.JSONDecoder().raw_decode(done.stdout[done.stdout.find("{") :])
            state = (report.get("run") or {}).get("state")
        if not run_out.exists():
            raise SystemExit(f"py-spy wrote no profile (exit {done.returncode}): {done.stderr[-500:]}")
        return {
            "seconds": round(seconds, 2),
            "exit": done.returncode,
            "state": state,
            "kwa": summarise(parse_raw(run_out), rate),
            "server": (
                summarise(parse_raw(server_out), rate, root_role="Prefect server") if server_out.exists() else None
            ),
        }


# ---- the report ---------------------------------------------------------------------------------


# What a run's threads are for, by (process role, thread name); the rest of the parent is "other".
PARTS: tuple[tuple[str, Any], ...] = (
    ("parent: main thread (imports, reading or listing, waiting)", lambda p, t: p == "parent" and t == "MainThread"),
    ("parent: the live listing thread", lambda p, t: p == "parent" and t == "kwa-list"),
    ("parent: result writer (SQLite inserts)", lambda p, t: p == "parent" and t == "kwa-writer"),
    ("parent: taking the lanes' answers", lambda p, t: p == "parent" and t == "_manage"),
    ("evaluation lanes (the checks, their rows)", lambda p, t: p == "lane"),
    ("index builders (reference graph, full-schema findings)", lambda p, t: p == "index builder"),
    ("parent: everything else (Prefect's threads, the pillar subflows, progress, cancellation)", None),
)


def parts(result: dict[str, Any]) -> dict[str, float]:
    """Active seconds per part of a run (:data:`PARTS`), and the Prefect server's in all."""
    out = dict.fromkeys((name for name, _ in PARTS), 0.0)
    for t in result["kwa"]["threads"]:
        name = next((n for n, match in PARTS if match is not None and match(t["process"], t["thread"])), None)
        if name is None and t["process"] == "parent":
            name = PARTS[-1][0]
        if name is not None:
            out[name] += t["active_s"]
    if result.get("server"):
        out["Prefect server, all threads"] = sum(t["active_s"] for t in result["server"]["threads"])
    return {k: round(v, 2) for k, v in out.items() if v}  # a part the run did not have is left out


def markdown(info: dict[str, Any], results: list[dict[str, Any]]) -> str:
    lines = [
        f"# Where a run's time goes, per process and thread, {info['date']}",
        "",
        f"`{info['command']}` · py-spy at {info['rate']:g} Hz · {info['machine'].get('cpu')}, "
        f"{info['machine'].get('nproc')} cores, commit {info['machine'].get('commit')}",
        "",
        "Active seconds: samples in which the thread was not idle (running, or waiting for the GIL or "
        "a core), over the rate. They add up to more than the wall time when more threads are busy "
        "than there are cores.",
        "",
        "| active seconds | " + " | ".join(f"{r['size']} {r['mode']}" for r in results) + " |",
        "|---|" + "---|" * len(results),
        "| wall under the profiler | " + " | ".join(str(r["seconds"]) for r in results) + " |",
    ]
    grouped = [parts(r) for r in results]
    for name in [n for n, _ in PARTS] + ["Prefect server, all threads"]:
        if not any(name in g for g in grouped):
            continue
        lines.append(f"| {name} | " + " | ".join(str(g.get(name, "—")) for g in grouped) + " |")
    for r in results:
        lines += ["", f"## {r['size']} {r['mode']}: {r['seconds']} s under the profiler, state {r['state']}", ""]
        lines += ["| process | thread | active s |", "|---|---|---|"]
        rows = [*r["kwa"]["threads"]]
        if r.get("server"):
            rows += r["server"]["threads"][:4]
        for t in rows:
            if t["active_s"] >= 0.1:
                lines.append(f"| {t['process']} | {t['thread']} | {t['active_s']} |")
        for where, frames in r["kwa"]["frames"].items():
            heavy = ", ".join(f"{k} {v}" for k, v in list(frames["own_code_inclusive_s"].items())[:8])
            lines += ["", f"- **{where}**, kwa's code (inclusive s): {heavy or '—'}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k")
    parser.add_argument("--modes", default="json", help="json, live or both (comma-separated)")
    parser.add_argument("--rate", type=float, default=100.0, help="samples per second per thread")
    parser.add_argument("--py-spy", dest="spy", default=shutil.which("py-spy"))
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "kwa-bench-data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    opts = parser.parse_args(argv)
    if not opts.spy or not Path(opts.spy).exists():
        print("py-spy is not installed (pip install py-spy; it is not a dependency of kwa), or pass --py-spy PATH")
        return 2
    from bench.scale import dataset, input_limits, patient_double

    date = datetime.now(UTC).strftime("%Y-%m-%d")
    command = "python -m bench.treeprofile " + " ".join(argv if argv is not None else sys.argv[1:])
    info = {"date": date, "rate": opts.rate, "machine": machine(), "command": command.strip()}
    results = []
    with tempfile.TemporaryDirectory(prefix="kwa-treeprofile-home-") as home:
        env = fresh_env(Path(home))
        with local_server(Path(home), timeout=600) as server:
            for size in [parse_size(s) for s in opts.sizes.split(",")]:
                path, count, _ = dataset(size, "envelope", True, opts.data_dir, opts.seed)
                for mode in opts.modes.split(","):
                    run_env = {**env, **input_limits(path)}
                    with patient_double(str(path)) if mode == "live" else contextlib.nullcontext() as url:
                        if mode == "live":
                            from bench.apidouble import write_kubeconfig

                            kubeconfig = write_kubeconfig(Path(home) / f"kubeconfig-{size}", url)
                            source = ["--kubeconfig", kubeconfig]
                        else:
                            source = ["--manifests", str(path)]
                        log(f"treeprofile {label(size)} {mode}: warm-up run")
                        subprocess.run(
                            [PYTHON, "-m", "kwa", "run", *source, "-o", "json", "--cluster-id", "treeprofile"],
                            env=run_env, cwd=ROOT, capture_output=True, check=False, timeout=3600,
                        )  # fmt: skip
                        log(f"treeprofile {label(size)} {mode}: profiled run")
                        result = profiled_run(opts.spy, opts.rate, source, run_env, server.get("pid"))
                    results.append({"size": label(size), "mode": mode, "objects": count, **result})
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    (opts.out_dir / f"{date}-treeprofile.json").write_text(json.dumps({**info, "runs": results}, indent=1))
    (opts.out_dir / f"{date}-treeprofile.md").write_text(markdown(info, results))
    log(f"wrote {opts.out_dir / f'{date}-treeprofile.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
