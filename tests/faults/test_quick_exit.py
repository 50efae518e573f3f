"""``kwa run`` ends its process without the interpreter's teardown (kwa/quick_exit.py), and still
delivers everything: the exit code, the report, Prefect's last log lines and kwa's events (which
Prefect's workers only send while the process ends)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.harness import Kwa
from tests.faults.prefect_view import TWO_CRITICALS
from tests.faults.test_parsing_volume import _log_lines
from tests.flows.test_events import read_events

pytestmark = pytest.mark.prefect


def test_a_run_that_ends_quickly_still_delivers_its_logs_events_and_database(kwa: Kwa, tmp_path: Path) -> None:
    manifests = tmp_path / "app.yaml"
    manifests.write_text(TWO_CRITICALS)
    cluster = f"quick-exit-{time.time_ns()}"
    since = time.time()
    # Prefect's log worker holds every line until the process ends: only the exit's drain sends them.
    out = kwa("run", "--manifests", str(manifests), "--check", "SEC-001,SEC-004", "--cluster-id", cluster,
              "--fail-on", "critical", "-o", "json", PREFECT_LOGGING_TO_API_BATCH_INTERVAL="600")  # fmt: skip

    assert out.code == 6, out.text  # the gate's exit code, not 0: the code survives the quick exit
    run = out.run()
    assert run["state"] == "completed" and '"run_id"' in out.out  # the report reached stdout
    lines = _log_lines(run["prefect_flow_run_id"])
    # The engine's last line, logged after the flow returned.
    assert any(line.startswith("Finished in state") for line in lines), lines
    [finished] = read_events(["kwa.run.finished"], f"kwa.cluster.{cluster}", since)
    assert finished["payload"]["run_id"] == run["run_id"]


QUICK_END = """
import atexit, sys, threading, time
from kwa.quick_exit import end
out = sys.argv[1]
atexit.register(lambda: open(out + '.atexit', 'w').write('ran'))
def late():
    time.sleep(0.3)
    open(out + '.thread', 'w').write('joined')
threading.Thread(target=late).start()
sys.stdout.write('buffered, no newline')
end(3)
"""


def test_end_joins_threads_runs_atexit_flushes_and_keeps_the_code(tmp_path: Path) -> None:
    base = str(tmp_path / "mark")
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", QUICK_END, base], capture_output=True, text=True, cwd=root,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "buffered, no newline"
    assert Path(base + ".atexit").read_text() == "ran"
    assert Path(base + ".thread").read_text() == "joined"


def test_only_the_command_line_ends_the_process(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """``main(argv)`` (tests, embedders) returns the code: the quick exit is the command line's."""
    from flows.run import main

    assert main(["--help"]) == 0
    assert "python -m flows.run" in capsys.readouterr().out


def test_a_profiled_kwa_run_exits_normally_so_the_profile_is_written(tmp_path: Path) -> None:
    """``python -m cProfile -m kwa run …`` keeps its profile: no quick exit under a profiler."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "run.prof"
    probe = tmp_path / "probe.py"
    probe.write_text(f"import sys\nsys.path.insert(0, {str(root)!r})\nfrom kwa import quick_exit\n"
                     "print(quick_exit.wanted())\n")  # fmt: skip
    plain = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, cwd=root, timeout=60)
    profiled = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), str(probe)],
                              capture_output=True, text=True, cwd=root, timeout=60)  # fmt: skip
    assert (plain.stdout.strip(), profiled.stdout.strip()) == ("True", "False")
    assert out.exists()
