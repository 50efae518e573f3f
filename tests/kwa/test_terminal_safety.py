"""No control sequence from a manifest reaches the reader: names, images and messages are shown
with their control and bidirectional characters escaped, in every format a person reads.

A Pod named with an OSC title sequence, a CSI screen clear, a bell and a right-to-left override
would otherwise retitle, clear or reorder the terminal or CI log that shows kwa's findings.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from cli.formatters.text import line, lit
from redaction.controls import escape_controls, one_line, terminal_safe

REPO = Path(__file__).resolve().parents[2]

HOSTILE = """\
apiVersion: v1
kind: Pod
metadata:
  name: "evil\\e[31mRED\\e[0m\\u202eabc\\rX"
  namespace: "ns\\e]0;pwned\\a"
spec:
  containers:
  - name: "c\\e[2J"
    image: "nginx\\e[5m:latest"
"""
RAW = (b"\x1b", b"\x07", b"\r", "\u202e".encode(), "\u2028".encode(), b"\xc2\x9b")  # ESC, BEL, CR, RLO, LS, CSI


def _raw_in(data: bytes) -> list[bytes]:
    return [c for c in RAW if c in data]


@pytest.mark.parametrize("fmt", ["text", "table", "json", "yaml", "sarif", "github", "junit"])
def test_kwa_lint_shows_hostile_names_escaped_in_every_format(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "pod.yaml").write_text(HOSTILE)
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "lint", "pod.yaml", "-o", fmt],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 6, proc.stderr.decode(errors="replace")  # the default gate rejects it
    assert _raw_in(proc.stdout) == [] and _raw_in(proc.stderr) == []
    shown = proc.stdout.decode() + proc.stderr.decode()
    if fmt in ("text", "table", "github", "junit"):  # read by people: the escapes are what they see
        assert "evil\\x1b[31mRED" in shown and "\\u202e" in shown
    if fmt == "sarif":  # the alerts' text as code scanning shows it, once the JSON is decoded
        texts = [r["message"]["text"] for r in json.loads(proc.stdout)["runs"][0]["results"]]
        assert not any("\x1b" in t or "\u202e" in t for t in texts)
        assert any("c\\x1b[2J" in t for t in texts)
    # the gate's lines on stderr name the object the same way
    assert "ns\\x1b]0;pwned\\x07" in proc.stderr.decode()


def test_rich_text_built_by_kwa_carries_no_control_sequence() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=200, color_system="standard")
    console.print(line("  ", ("[fail]", "red"), " ", "Pod/\x1b]0;x\x07/a\u202eb"), lit("c\x1b[2J\rd", "bold"))
    text = out.getvalue()
    data = text.replace("\x1b[31m", "").replace("\x1b[1m", "").replace("\x1b[0m", "")  # kwa's own styles
    assert _raw_in(data.encode()) == []
    assert "Pod/\\x1b]0;x\\x07/a\\u202eb" in text and "c\\x1b[2J\\x0dd" in text


def test_escaping_keeps_what_is_safe() -> None:
    assert terminal_safe("line one\n\tline two — ünïcödé ✓") == "line one\n\tline two — ünïcödé ✓"
    assert terminal_safe("\x00\x1b\x7f\x85\u2028\u2066") == "\\x00\\x1b\\x7f\\x85\\u2028\\u2066"
    assert one_line("a\r\nb\tc\x1b") == "a  b c\\x1b"
    assert escape_controls("a\r\nb\x07", keep="\r\n") == "a\r\nb\\x07"


def test_the_run_log_names_objects_on_one_safe_line() -> None:
    from flows.runlog import object_label

    label = object_label("Pod", "ns\x1b]0;t\x07", "a\nb\u202ec", "c\x1b[2J")
    assert label == "Pod ns\\x1b]0;t\\x07/a b\\u202ec (container c\\x1b[2J)"
    assert object_label("Deployment", "shop", "web") == "Deployment shop/web"


def test_kwa_runs_logs_prints_log_messages_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from cli.runlogs import print_logs

    record = {"timestamp": datetime(2026, 1, 1, tzinfo=UTC), "level": 30, "where": "SEC-003", "message": "x\x1b[2Jy\nz"}
    tally = SimpleNamespace(hidden=0, hidden_problems=0, read=1, kwa=1)
    print_logs([record], tally, "run R", verbose=True, output="text")
    out = capsys.readouterr().out
    assert "x\\x1b[2Jy\nz" in out and "\x1b" not in out


def test_an_error_naming_a_hostile_path_is_escaped(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "lint", "nope\x1b[2J.yaml"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert _raw_in(proc.stderr) == [] and b"nope\\x1b[2J.yaml" in proc.stderr
