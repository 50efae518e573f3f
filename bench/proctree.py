"""A command's wall time, CPU and the peak memory of its whole process tree, sampled from /proc.

kwa evaluates checks in forked lanes: the children share the parent's pages copy-on-write, so the
sum of their RSS counts shared pages once per process and overstates what the machine spends. The
sampler therefore sums PSS (``/proc/PID/smaps_rollup``: each shared page divided among its sharers)
over the process and all its descendants, and reports the summed RSS next to it, with GNU time's
maximum RSS of the largest single process.

Reading ``smaps_rollup`` walks the process's page tables: 55–100 ms for a 6 GB process, per process
of the tree. Sampled every 50 ms regardless, the sampler kept one of the machine's two cores busy
during a large run and held the processes' memory-map lock as they allocated: a 400k-object run read
its dump in 80 s under it and in 46 s without. So the pause after a sample is at least nine times
what the sample took (the sampler's share of a core stays under a tenth), and never under 50 ms.

Processes the command talks to but did not start (kwa's Prefect server, the API double) are not
in its tree and are not counted here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

INTERVAL_S = 0.05


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(root: int) -> list[int]:
    """``root`` and every descendant alive now."""
    children, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in kB; PSS falls back to RSS where smaps_rollup is unreadable."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        match = re.search(r"^Pss:\s+(\d+)", text, re.M)
        pss = int(match.group(1)) if match else rss
    except OSError:
        pss = rss
    return rss, pss


class TreeSampler:
    """Samples a process tree's summed RSS and PSS in a thread until stopped; keeps the peaks."""

    def __init__(self, root: int, interval: float = INTERVAL_S, limit_mb: float | None = None):
        self.root, self.interval = root, interval
        self.limit_kb = limit_mb * 1024 if limit_mb else None
        self.killed = False  # the tree outgrew limit_mb and was killed (the machine is shared)
        self.peak_rss_kb = self.peak_pss_kb = self.peak_processes = self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            pids = tree(self.root)
            rss = pss = 0
            for pid in pids:
                r, p = memory_kb(pid)
                rss, pss = rss + r, pss + p
            self.samples += 1
            self.peak_rss_kb, self.peak_pss_kb = max(self.peak_rss_kb, rss), max(self.peak_pss_kb, pss)
            self.peak_processes = max(self.peak_processes, len(pids))
            if self.limit_kb and pss > self.limit_kb and not self.killed:
                self.killed = True
                for pid in reversed(pids):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            self._stop.wait(max(self.interval, 9 * (time.monotonic() - started)))


def run_measured(
    cmd: list[str], env: dict[str, str], cwd: Path, timeout: float, limit_mb: float | None = None
) -> dict[str, Any]:
    """Run ``cmd`` under ``/usr/bin/time -v`` while sampling its tree: wall, CPU, memory, exit, output.

    A tree whose PSS passes ``limit_mb`` is killed (``killed_over_limit`` in the result).
    """
    with tempfile.NamedTemporaryFile(prefix="kwa-bench-time-", suffix=".txt", delete=False) as fh:
        time_file = fh.name
    wrapper = ["/usr/bin/time", "-v", "-o", time_file] if Path("/usr/bin/time").exists() else []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started_at, started = time.time(), time.perf_counter()
        proc = subprocess.Popen([*wrapper, *cmd], env=env, cwd=cwd, stdout=out, stderr=err)
        with TreeSampler(proc.pid, limit_mb=limit_mb) as sampler:
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    gnu_rss = cpu = None
    with contextlib.suppress(OSError):
        text = Path(time_file).read_text()
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        gnu_rss = int(match.group(1)) / 1024 if match else None
        times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
        cpu = sum(float(t) for t in times) if times else None
    with contextlib.suppress(OSError):
        os.unlink(time_file)
    return {
        "seconds": wall,
        "started_at": started_at,  # wall clock, to place the run's own phase timestamps
        "cpu_s": cpu,  # user + system of the process and its waited-for children (the forked lanes)
        "tree_pss_mb": sampler.peak_pss_kb / 1024,
        "tree_rss_mb": sampler.peak_rss_kb / 1024,
        "max_rss_mb": gnu_rss,  # GNU time: the largest single process
        "tree_processes": sampler.peak_processes,
        "samples": sampler.samples,
        "killed_over_limit": sampler.killed,
        "load_before": load_before,
        "exit": code,
        "stdout": stdout,
        "stderr": stderr,
    }
