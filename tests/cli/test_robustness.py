"""Expected failures end in a clear message and a documented exit code, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main
from tests.cli.builder import RUN_2

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (("query", "assessments", "list", "--run", "run_nope"), 7, "run run_nope does not exist"),
        (("query", "assessments", "summary", "--run", "run_nope"), 7, "run run_nope does not exist"),
        (("query", "assessments", "get", "asm_20990101_000000_x_000000000000"), 7, "result asm_20990101"),
        (("query", "assessments", "get", "run_nope"), 7, "run run_nope does not exist"),
        (("query", "assessments", "list", "--cluster", "nowhere"), 7, "no runs recorded for cluster 'nowhere'"),
        (("query", "assessments", "history", "--cluster", "nowhere"), 7, "known clusters: prod-eu, staging"),
        (("query", "assessments", "diff", "--cluster", "nowhere"), 7, "no runs recorded for cluster"),
        (("query", "assessments", "diff", RUN_2, "run_nope"), 7, "run run_nope does not exist"),
        (("query", "assessments", "diff", RUN_2), 2, "diff takes two run ids"),
        (("query", "assessments", "list", "--since", "yesterday-ish"), 2, "--since 'yesterday-ish' is not a date"),
        (("query", "assessments", "list", "--since", "2026-13-45"), 2, "ISO 8601"),
        (("runs", "list", "--since", "2026-02-30"), 2, "is not a date"),
        (("query", "assessments", "list", "--cursor", "garbage!"), 2, "invalid cursor"),
        (("query", "assessments", "list", "--cursor", "x", "--offset", "3"), 2, "either a cursor or an offset"),
        (("query", "assessments", "list", "--limit", "-1"), 2, "limit must be"),
        (("runs", "list", "--state", "done"), 2, "unknown state 'done'"),
        (("runs", "list", "--trigger", "cron"), 2, "unknown trigger 'cron'"),
        (("runs", "get", "asm_20260211_090000_sec002_bbbbbb000001"), 2, "is a result id"),
        (("query", "assessments", "history", "--plot", "/tmp/x.gif"), 2, ".png, .svg or .pdf"),
    ],
)
def test_expected_errors(kwa, argv: tuple[str, ...], code: int, message: str) -> None:
    got, out, err = kwa(*argv)
    assert got == code, err
    assert message in err
    assert "Traceback" not in err and out == ""


def test_bad_option_is_argparse_usage(kwa) -> None:
    with pytest.raises(SystemExit) as exc:
        kwa("query", "assessments", "list", "-o", "html")
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "argv",
    [
        ("query", "assessments", "list"),
        ("query", "assessments", "summary"),
        ("query", "assessments", "history"),
        ("query", "assessments", "diff"),
        ("query", "assessments", "get", "run_x"),
    ],
)
def test_empty_database_says_how_to_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, argv) -> None:
    monkeypatch.setenv("KWA_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    assert main(list(argv)) == 7
    err = capsys.readouterr().err
    assert "no runs yet" in err and "kwa run" in err
    assert not (tmp_path / "none.db").exists()  # a query never creates a database


def test_empty_but_existing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from storage.db import Database

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Database(url).engine.dispose()  # migrated, no runs
    monkeypatch.setenv("KWA_DATABASE_URL", url)
    assert main(["runs", "list"]) == 0
    assert "no runs yet: start one with `kwa run`" in capsys.readouterr().out
    assert main(["query", "assessments", "summary"]) == 7
    assert "no runs yet" in capsys.readouterr().err
    assert main(["runs", "list", "-o", "json"]) == 0
    assert '"items": []' in capsys.readouterr().out


def test_storage_unavailable(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("KWA_DATABASE_URL", "postgresql://kwa:secret@127.0.0.1:1/kwa")
    assert main(["runs", "list"]) == 4
    err = capsys.readouterr().err
    assert "storage unavailable" in err and "secret" not in err


def test_python_m_cli_and_kwa_dispatch(cli_db_url: str) -> None:
    env = {**os.environ, "KWA_DATABASE_URL": cli_db_url}
    for cmd in ([sys.executable, "-m", "cli"], [sys.executable, "-m", "kwa"]):
        proc = subprocess.run(
            [*cmd, "query", "assessments", "get", "run_missing"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert proc.returncode == 7 and "run run_missing does not exist" in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "runs", "list", "-o", "csv"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("run_id,cluster_id,state")
