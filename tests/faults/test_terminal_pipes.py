"""A reader that goes away ends kwa's output quietly, in every entry point and output format.

Issue 11: ``kwa checks list -o json | head`` printed a BrokenPipeError traceback ("Exception
ignored … BrokenPipeError" at exit, or a traceback from whichever print filled the pipe). Real
pipes here, two ways: the reader closed before kwa writes its first byte (every write fails), and
``| head -1`` in a shell on outputs far larger than a pipe's buffer (the write that fails comes
mid-output). Each case asserts the exit code (the command's own: a closed pipe never turns a
rejecting gate into a pass), that nothing else reached stderr (no traceback, no "Exception
ignored"), and that what was stored is unchanged or, for a run, stored in full.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults import terminal_data
from tests.faults.harness import Kwa, Outcome, assert_no_traceback

# Every entry point of kwa: the command tree, and python -m flows.run (the same `kwa run`).
KWA = ("-m", "kwa")
RUN = ("-m", "flows.run")
QUIET_ERR = re.compile(r"Traceback|Exception ignored|BrokenPipeError|Broken pipe|EPIPE")


def closed_reader(kwa: Kwa, entry: tuple[str, ...], *args: str, **env: str) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is gone before the first byte: (exit code, stderr)."""
    kwa.home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, *entry, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=kwa.tmp,
        env=kwa.environment(**env),
    )
    proc.stdout.close()  # type: ignore[union-attr]  # the reader is gone
    err = proc.stderr.read()  # type: ignore[union-attr]
    return proc.wait(timeout=300), err


def head_1(kwa: Kwa, entry: tuple[str, ...], *args: str) -> tuple[int, str, str]:
    """``kwa … | head -1`` in bash: (kwa's exit code, the one line head printed, kwa's stderr)."""
    kwa.home.mkdir(parents=True, exist_ok=True)
    command = " ".join(subprocess.list2cmdline([a]) for a in (sys.executable, *entry, *args))
    script = f'{command} 2>"$ERR" | head -1; echo "${{PIPESTATUS[0]}}" >"$CODE"'
    err_file, code_file = kwa.tmp / "stderr.txt", kwa.tmp / "code.txt"
    proc = subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        text=True,
        cwd=kwa.tmp,
        timeout=300,
        env=kwa.environment(ERR=str(err_file), CODE=str(code_file)),
    )
    return int(code_file.read_text()), proc.stdout, err_file.read_text()


def _ids(value: object) -> str | None:
    return " ".join(value) if isinstance(value, tuple) else None


def quiet(err: str) -> None:
    assert_no_traceback(err)
    assert not QUIET_ERR.search(err), err


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("terminal") / "kwa.db"
    return path, terminal_data.build(path)


@pytest.fixture
def stored(kwa_offline: Kwa, template: tuple[Path, list[str]]) -> list[str]:
    """The stored runs, in this test's own copy of the database."""
    shutil.copyfile(template[0], kwa_offline.db_path)
    return template[1]


# (entry point, arguments, exit code): outputs of hundreds of KiB, every format.
LONG_OUTPUTS = [
    (KWA, ("checks", "list", "-o", "json"), 0),
    (KWA, ("checks", "list", "-o", "yaml"), 0),
    (KWA, ("checks", "list"), 0),
    (KWA, ("query", "assessments", "list", "-o", "csv"), 0),
    (KWA, ("query", "assessments", "list", "-o", "json"), 0),
    (KWA, ("query", "assessments", "list", "-o", "yaml"), 0),
    (KWA, ("query", "assessments", "list", "--limit", "0"), 0),
    (KWA, ("query", "assessments", "list", "-o", "junit"), 0),
    (KWA, ("query", "assessments", "summary", "-o", "sarif"), 0),
    (KWA, ("query", "assessments", "summary", "--fail-on", "critical", "-o", "json"), 6),  # the gate still rejects
    (KWA, ("query", "assessments", "diff", "-o", "csv"), 0),
    (KWA, ("runs", "list", "-o", "yaml"), 0),
    (KWA, ("runs", "list", "-o", "json"), 0),
]


@pytest.mark.parametrize(("entry", "args", "code"), LONG_OUTPUTS, ids=_ids)
def test_head_1_on_long_outputs(kwa_offline: Kwa, stored: list[str], entry, args, code: int) -> None:
    before = _dump(kwa_offline)
    got, first, err = head_1(kwa_offline, entry, *args)
    assert got == code, err
    quiet(err.replace("gate rejected", "").replace("[fail-on]", ""))  # the gate's own message is expected
    assert first.strip()  # head got its line
    assert _dump(kwa_offline) == before == [(r, "completed", 2400) for r in stored]  # changed nothing


SHORT_OUTPUTS = [
    (KWA, ("--help",), 0),
    (KWA, ("checks", "list", "--pillar", "cost", "-o", "json"), 0),
    (KWA, ("runs", "list"), 0),
    (KWA, ("runs", "get", "LAST"), 0),
    (KWA, ("query", "assessments", "history"), 0),
    (KWA, ("query", "assessments", "summary", "--fail-on", "critical"), 6),
    (KWA, ("query", "assessments", "get", "NOPE"), 7),  # an error still says what it is, on stderr
    (KWA, ("runs", "prune", "--older-than", "3650d"), 0),
    (KWA, ("runs", "list", "-o", "csv"), 0),
    (RUN, ("--help",), 0),
    (KWA, ("runs", "--help",), 0),
]


@pytest.mark.parametrize(("entry", "args", "code"), SHORT_OUTPUTS, ids=_ids)
def test_reader_gone_before_the_first_byte(kwa_offline: Kwa, stored: list[str], entry, args, code: int) -> None:
    args = tuple(stored[-1] if a == "LAST" else a for a in args)
    got, err = closed_reader(kwa_offline, entry, *args)
    assert got == code, err
    if code == 7:  # an expected error still says what it is, on stderr
        assert "NOPE" in err and "hint:" in err
        err = ""
    quiet(err.replace("gate rejected", "").replace("[fail-on]", ""))
    assert _dump(kwa_offline) == [(r, "completed", 2400) for r in stored]  # nothing lost, nothing pruned


def test_stderr_closed_too(kwa_offline: Kwa, stored: list[str]) -> None:
    """``kwa … 2>&1 | head -1``: both streams are the closed pipe; still quiet and the same code."""
    kwa_offline.home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, *KWA, "query", "assessments", "summary", "--fail-on", "critical", "-o", "sarif"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=kwa_offline.tmp,
        env=kwa_offline.environment(),
    )
    proc.stdout.close()  # type: ignore[union-attr]
    assert proc.wait(timeout=300) == 6


@pytest.mark.prefect
def test_a_run_whose_report_nobody_reads_is_stored_and_gated(kwa: Kwa) -> None:
    """``kwa run … | head -1`` and a reader gone before the report: the run is stored in full and
    its gate decides the exit code (6: a critical failure), with stderr as usual."""
    (kwa.tmp / "k8s").mkdir()
    (kwa.tmp / "k8s" / "app.yaml").write_text(_PRIVILEGED)
    code, err = closed_reader(kwa, KWA, "run", "--manifests", "k8s", "--check", "SEC-001,REL-001",
                              "--fail-on", "critical", "-o", "json")  # fmt: skip
    quiet(err.replace("gate rejected", ""))
    assert code == 6, err
    assert "[fail-on]" in err  # the gate's message is on stderr, which is still read
    got = kwa("query", "assessments", "list", "--status", "failing", "-o", "csv")
    run = got.run()
    assert run["state"] == "completed" and run["completed_at"]
    results = got.results()
    assert {r["check_id"] for r in results} == {"SEC-001", "REL-001"}  # both checks stored their results
    assert [r["check_id"] for r in results if r["status"] == "failing"] == ["SEC-001"]
    assert "SEC-001" in got.out  # the stored failure, read back
    code, first, err = head_1(kwa, RUN, "--manifests", "k8s", "--check", "SEC-001", "--fail-on", "critical")
    assert code == 6 and first.startswith("Run run_"), (code, first, err)
    quiet(err.replace("gate rejected", ""))
    assert len(got.runs()) == 2 and all(r["state"] == "completed" for r in got.runs())


_PRIVILEGED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27", securityContext: {privileged: true}}]
"""


def _dump(kwa: Kwa) -> list[tuple[str, str, int]]:
    """Each stored run: id, state, how many results it keeps."""
    stored = Outcome(0, "", "", kwa.home, kwa.db_path)
    return [(r["run_id"], r["state"], len(stored.results(r["run_id"]))) for r in stored.runs()]
