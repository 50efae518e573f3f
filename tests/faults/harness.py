"""What every fault test needs: kwa run as a user runs it, and the checks every fault must pass.

``Kwa`` runs the real command line (``python -m kwa …``) in a subprocess with its own home, kwa
database and (optionally) the session's Prefect server, and hands back a :class:`Outcome` that
the assertions below read: the exit code, stdout and stderr as a user sees them, and the run as
kwa stored it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# Runs the command given after the file name and writes the peak resident memory of its process
# tree (kwa, and the workers it forked and waited for) to that file, in KiB.
_PEAK_RSS = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code if code >= 0 else 128 - code)\n"
)
# Lines Python prints for an uncaught exception, and the shape of a rendered traceback frame.
_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"[^\"]+\", line \d+", re.MULTILINE)


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    home: Path
    db_path: Path
    peak_rss_mb: float | None = None  # with measure=True: the kwa process tree's peak memory

    @property
    def text(self) -> str:
        return self.out + self.err

    def runs(self) -> list[dict[str, Any]]:
        """Every row of kwa's ``runs`` table (empty when the database was never created)."""
        return _rows(self.db_path, "SELECT * FROM runs ORDER BY requested_at")

    def run(self) -> dict[str, Any]:
        runs = self.runs()
        assert len(runs) == 1, f"expected one run, found {len(runs)}: {self.text}"
        return runs[0]

    def results(self, run_id: str | None = None) -> list[dict[str, Any]]:
        run_id = run_id or self.run()["run_id"]
        return _rows(self.db_path, "SELECT * FROM assessments WHERE run_id = ?", (run_id,))


@dataclass
class Kwa:
    """``kwa`` in a fresh home under ``tmp``; ``prefect_url`` is the session's Prefect server."""

    tmp: Path
    prefect_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: file permissions hold for it as for
    # anyone, so an unreadable file or directory is unreadable (root otherwise reads through).
    honour_permissions: bool = False

    @property
    def home(self) -> Path:
        return self.tmp / "home"

    @property
    def db_path(self) -> Path:
        return self.tmp / "kwa.db"

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "KWA_", "KUBE"))}
        env.update(
            HOME=str(self.home),
            XDG_DATA_HOME=str(self.home / ".local/share"),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            KWA_HOME=str(self.home / ".local/share/kwa"),
            PREFECT_HOME=str(self.home / ".prefect"),
            KWA_DATABASE_URL=f"sqlite:///{self.db_path}",
            KUBECONFIG=str(self.home / "no-kubeconfig"),
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PYTHONPATH=str(ROOT),
            COLUMNS="200",
        )
        if self.prefect_url:
            env["PREFECT_API_URL"] = self.prefect_url
        env.update(self.env)
        env.update(extra)
        return env

    def __call__(
        self, *args: str, input: str | bytes | None = None, timeout: float = 180, measure: bool = False, **env: str
    ) -> Outcome:
        """Run ``kwa *args``; ``measure``: also record the peak RSS of its process tree."""
        self.home.mkdir(parents=True, exist_ok=True)
        binary = isinstance(input, bytes)
        command = [sys.executable, "-m", "kwa", *args]
        peak_file = self.tmp / "peak-rss-kib"
        if measure:
            peak_file.unlink(missing_ok=True)
            command = [sys.executable, "-c", _PEAK_RSS, str(peak_file), *command]
        proc = subprocess.run(
            command,
            input=input,
            capture_output=True,
            text=not binary,
            timeout=timeout,
            cwd=self.tmp,
            env=self.environment(**env),
            **self._identity(),
        )
        out, err = proc.stdout, proc.stderr
        if binary:
            out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        peak = int(peak_file.read_text()) / 1024 if measure and peak_file.exists() else None
        return Outcome(proc.returncode, out, err, self.home, self.db_path, peak)


    def _identity(self) -> dict[str, Any]:
        return {"preexec_fn": drop_permission_override} if self.honour_permissions and os.geteuid() == 0 else {}

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """``kwa …`` in the background, in its own session (so a test can signal it, and kill
        whatever it left behind with ``os.killpg``); finish it with :meth:`finish`."""
        self.home.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            [sys.executable, "-m", "kwa", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.tmp,
            env=self.environment(**env),
            start_new_session=True,
        )

    def finish(self, proc: subprocess.Popen[str], timeout: float = 180) -> Outcome:
        """Wait for a :meth:`start`-ed command; its outcome (its process group is killed after)."""
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # orphaned check workers, if any
        return Outcome(proc.returncode, out, err, self.home, self.db_path)

    def wait_for(self, sql: str, timeout: float = 120, proc: subprocess.Popen[str] | None = None) -> Any:
        """Poll kwa's database until ``sql`` returns a truthy first value (e.g. the run reached a
        phase); returns it. Fails early when ``proc`` exits meanwhile."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = _rows(self.db_path, sql)
            if rows and next(iter(rows[0].values())):
                return next(iter(rows[0].values()))
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"kwa exited {proc.returncode} before {sql!r} held: {proc.communicate()}")
            time.sleep(0.05)
        raise AssertionError(f"{sql!r} did not hold within {timeout}s")


def drop_permission_override() -> None:
    """In a child about to exec: drop CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2) from the
    bounding set, so the program it execs as root has neither (PR_CAPBSET_DROP = 24)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permissions_hold(path: Path) -> bool:
    """True when a kwa started with ``honour_permissions`` really cannot read ``path``."""
    try:
        probe = subprocess.run(
            [sys.executable, "-c", "import os, sys; os.listdir(sys.argv[1]) if os.path.isdir(sys.argv[1]) "
             "else open(sys.argv[1], 'rb').read(1)", str(path)],
            capture_output=True,
            preexec_fn=drop_permission_override if os.geteuid() == 0 else None,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):  # no CAP_SETPCAP to drop capabilities with
        return False
    return probe.returncode != 0 and b"PermissionError" in probe.stderr


def assert_no_traceback(*texts: str) -> None:
    for text in texts:
        match = _TRACEBACK.search(text)
        assert match is None, f"a traceback reached the user:\n{text[max(0, match.start() - 500) : match.end() + 2000]}"


def assert_absent(markers: list[str], *texts: str) -> None:
    """None of ``markers`` (planted credentials) appears in any of ``texts``."""
    for marker in markers:
        for text in texts:
            assert marker not in text, f"credential marker {marker!r} leaked:\n{_around(text, marker)}"


def sqlite_dump(path: Path) -> str:
    """Every text value of every table of a SQLite database (for grepping leaked credentials)."""
    if not path.exists():
        return ""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def _rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, params)]
    except sqlite3.OperationalError:
        return []
    finally:
        con.close()


def _around(text: str, marker: str, width: int = 300) -> str:
    at = text.find(marker)
    return text[max(0, at - width) : at + len(marker) + width]
