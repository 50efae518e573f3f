"""Expected failures end in a clear message and a documented exit code, never a traceback."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kwa.app import call as main
from storage.queries import RunQuery
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


def _cursor(obj: object) -> str:
    import base64
    import json

    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


RUNS_FINGERPRINT = RunQuery().fingerprint()  # `runs list` without filters
# Values a user (or a script gone wrong) can type: each a usage error naming the option, no traceback.
RANGE_ERRORS = [
    (("query", "assessments", "list", "--offset", "99999999999999999999"), "--offset takes a whole number from 0"),
    (("query", "assessments", "list", "--offset", "-1"), "'-1' is out of range: --offset"),
    (("query", "assessments", "list", "--offset", "9" * 5000), "--offset takes a whole number"),
    (("query", "assessments", "list", "--limit", "-1"), "--limit takes a whole number from 0 to 10,000"),
    (("query", "assessments", "list", "--limit", "10001"), "'10001' is out of range"),
    (("query", "assessments", "list", "--limit", "1e3"), "'1e3' is not a whole number"),
    (("query", "assessments", "history", "--limit", "0"), "--limit takes a whole number from 1 to 100,000"),
    (("query", "assessments", "history", "--limit", "18446744073709551616"), "out of range"),
    (("query", "assessments", "diff", "--max-rows", "-5"), "--max-rows takes a whole number from 0"),
    (("runs", "list", "--limit", "99999999"), "--limit takes a whole number from 0 to 10,000"),
]
USAGE_ERRORS = [
    (("query", "assessments", "list", "--since", "99999999d"), "--since '99999999d' is more than 100 years"),
    (("query", "assessments", "list", "--since", "9" * 40 + "h"), "the age is far too large"),
    (("query", "assessments", "list", "--since", "36526d"), "at most 36525d"),
    (("runs", "list", "--since", "99999999w"), "more than 100 years"),
    (("query", "assessments", "history", "--since", "99999999d"), "more than 100 years"),
    (("query", "assessments", "list", "--since", "0001-01-01T00:00:00+01:00"), "out of range once converted to UTC"),
    (("query", "assessments", "list", "--since", "9999-12-31T23:59:59-01:00"), "out of range"),
    (("query", "assessments", "list", "--since", "2999-01-01"), "is in the future"),
    (("query", "assessments", "list", "--since", "10000-01-01"), "is not a date"),
    (("query", "assessments", "list", "--since", "2026-01-01" * 20), "is not a date"),
    # JSON nested 50,000 deep (json.loads would raise RecursionError): refused by its length first
    (("query", "assessments", "list", "--cursor", _cursor(b"[" * 50_000 + b"]" * 50_000)), "invalid cursor"),
    (("query", "assessments", "list", "--cursor", _cursor([1, 2])), "invalid cursor"),
    (("query", "assessments", "list", "--cursor", _cursor({"v": 1, "f": "x", "k": [1, 2]})), "invalid cursor"),
    (("query", "assessments", "list", "--cursor", _cursor({"v": 1, "f": "x", "k": ["a" * 600, "b"]})), "invalid"),
    (("query", "assessments", "list", "--cursor", _cursor(b"\xff\xfe\x00garbage")), "invalid cursor"),
    (("query", "assessments", "list", "--cursor", "é" * 10), "invalid cursor"),
    (("query", "assessments", "list", "--cursor", "A" * 100_000), "invalid cursor"),
    (
        ("runs", "list", "--cursor", _cursor({"v": 1, "f": RUNS_FINGERPRINT, "k": ["9999-12-31T23:59:59-01:00", "r"]})),
        "invalid cursor: pass the next_cursor",
    ),  # a key that overflows once moved to UTC
    (("runs", "list", "--cursor", _cursor({"v": 1, "f": RUNS_FINGERPRINT, "k": ["yesterday", "r"]})), "invalid cursor"),
    (("query", "assessments", "summary", "--min-score", "nan"), "--min-score 'nan'"),
    (("query", "assessments", "summary", "--min-coverage", "inf"), "--min-coverage 'inf'"),
    (("query", "assessments", "summary", "--min-coverage", "security=-1"), "--min-coverage 'security=-1'"),
]


@pytest.mark.parametrize(("argv", "message"), RANGE_ERRORS)
def test_out_of_range_numbers_are_usage_errors(kwa, argv: tuple[str, ...], message: str) -> None:
    code, out, err = kwa(*argv)
    assert code == 2 and message in err, err
    assert out == ""
    assert "Traceback" not in err and "OverflowError" not in err


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_out_of_range_dates_cursors_and_gates_are_usage_errors(kwa, argv: tuple[str, ...], message: str) -> None:
    code, out, err = kwa(*argv)
    assert code == 2 and message in err, err
    assert "Traceback" not in err and out == "" and len(err) < 1000  # the value is not echoed in full


def test_edges_of_the_ranges_are_accepted(kwa) -> None:
    for argv in (
        ("query", "assessments", "list", "--run", RUN_2, "--offset", "1000000000", "-o", "json"),
        ("query", "assessments", "list", "--run", RUN_2, "--limit", "10000", "-o", "csv"),
        ("query", "assessments", "list", "--since", "36525d", "-o", "json"),
        ("query", "assessments", "list", "--since", "0001-01-01", "-o", "json"),
        ("query", "assessments", "history", "--cluster", "prod-eu", "--limit", "100000", "-o", "json"),
        ("query", "assessments", "diff", "--cluster", "prod-eu", "--max-rows", "0"),
        ("runs", "list", "--limit", "0", "--since", "1970-01-01T00:00:00Z", "-o", "yaml"),
    ):
        code, _, err = kwa(*argv)
        assert code == 0, (argv, err)


def test_bad_option_or_verb_is_a_usage_error(kwa) -> None:
    """Click's usage error (exit 2) naming the choices, or the verbs there are."""
    code, _, err = kwa("query", "assessments", "list", "-o", "html")
    assert code == 2 and "--output 'html': choose from table, json" in err
    code, _, err = kwa("runs", "nonsense")
    assert code == 2 and "No such command 'nonsense'" in err


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


def test_python_m_kwa_dispatch(cli_db_url: str) -> None:
    env = {**os.environ, "KWA_DATABASE_URL": cli_db_url}
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "query", "assessments", "get", "run_missing"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 7 and "run run_missing does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "runs", "list", "-o", "csv"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0 and proc.stdout.startswith("run_id,cluster_id,state")


def test_runs_in_progress_are_not_no_runs_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """20 runs queued or running, none finished: every command says so instead of "no runs yet"."""
    from storage.db import Database
    from storage.runs import create_run, start_run

    url = f"sqlite:///{tmp_path / 'busy.db'}"
    db = Database(url)
    for i in range(20):
        run = create_run(
            db, scope="full", pillars=[], check_ids=["SEC-001", "REL-001"], cluster_id=f"c{i % 3}", source="demo",
            trigger="manual",
        )  # fmt: skip
        if i % 2:
            start_run(db, run["run_id"])
    db.dispose()
    monkeypatch.setenv("KWA_DATABASE_URL", url)

    def run(*argv: str) -> tuple[int, str]:
        out = io.StringIO()
        code = main(list(argv), out=out)
        text = out.getvalue() + capsys.readouterr().err
        assert "no runs yet" not in text and "Traceback" not in text
        return code, text

    code, text = run("query", "assessments", "list")
    assert code == 0 and "is running: no results yet" in text
    assert "7 runs queued or running for cluster c1 (20 in all)" in text
    code, text = run("query", "assessments", "history", "--cluster", "c0")
    assert code == 0 and "cluster c0 has no finished full runs" in text
    assert "7 runs queued or running for cluster c0" in text
    code, text = run("query", "assessments", "diff")
    assert code == 2 and "no completed or partial run (20 queued or running): nothing to compare yet" in text
    code, text = run("query", "assessments", "diff", "--cluster", "c1")
    assert code == 2 and "no completed or partial run of cluster c1 (7 queued or running)" in text
    code, text = run("query", "assessments", "summary", "-o", "json")
    doc = json.loads(text[: text.rindex("}") + 1])
    assert doc["scores"]["overall"]["incomplete"] and {e["why"] for e in doc["scores"]["not_evaluated"]} == {"pending"}
    code, text = run("query", "assessments", "summary", "--fail-on", "critical")
    assert code == 6 and "not reported yet: REL-001, SEC-001" in text  # a gate never passes a run in progress
    code, text = run("runs", "list", "--limit", "0")
    assert code == 0 and "20 runs" in text


def test_history_stored_by_an_older_kwa_reads_by_the_current_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Scores version 1 (before coverage was part of the verdict): every view applies today's rule."""
    from sqlalchemy import update

    from storage.db import Database
    from storage.models import history_table
    from storage.runs import create_run, finish_run, start_run

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    run = create_run(db, scope="full", pillars=[], check_ids=["SEC-001"], cluster_id="c", source="api", trigger="ci")
    start_run(db, run["run_id"])
    finish_run(db, run["run_id"], "partial")
    v1 = {
        "version": 1,
        "overall": {"score": 91.4, "grade": "A", "coverage": 69.0},
        "pillars": {"security": {"score": 0.0, "grade": "F", "coverage": 31.0}},
        "pillar_order": ["security"],
        "not_evaluated": [],
    }
    with db.begin() as conn:
        conn.execute(update(history_table).where(history_table.c.run_id == run["run_id"]).values(scores=v1))
    db.dispose()
    monkeypatch.setenv("KWA_DATABASE_URL", url)
    for argv, expected in (
        (("query", "assessments", "summary"), ("91.4 (D, capped)", "│ security │       incomplete │     31 % │")),
        (("runs", "list"), ("91.4 (D, capped)", "69 %")),
        (("query", "assessments", "history"), ("91.4", "incomplete")),
    ):
        out = io.StringIO()
        assert main(list(argv), out=out) == 0
        for text in expected:
            assert text in out.getvalue(), out.getvalue()
    out = io.StringIO()
    assert main(["query", "assessments", "summary", "--fail-on", "critical"], out=out) == 6
    assert "[coverage] coverage 69 % is below the minimum 90 %" in out.getvalue()
