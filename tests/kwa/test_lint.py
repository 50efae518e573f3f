"""``kwa lint``: the real command in a subprocess, without Prefect and without a database.

What it must share with ``kwa run`` is proved against ``kwa run`` itself in
``tests/flows/test_lint_vs_run.py`` (that one needs the Prefect server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "checks" / "fixtures"

BAD = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          securityContext:
            privileged: true
"""


def kwa(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    full = {**os.environ, **(env or {})}
    full.pop("PREFECT_API_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "kwa", "lint", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=full,
        cwd=cwd or REPO,
    )


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(BAD)
    return path


def test_a_failing_manifest_fails_the_default_gate_and_says_where(bad: Path) -> None:
    proc = kwa("app.yaml", cwd=bad.parent)
    assert proc.returncode == 6, proc.stderr
    lines = proc.stdout.splitlines()
    # file:line: SEV CHECK object: message — the privileged flag is on line 13
    assert any(line.startswith("app.yaml:13: CRITICAL SEC-001 ") for line in lines), proc.stdout
    assert "[fail-on]" in proc.stderr and "SEC-001" in proc.stderr
    assert proc.stderr.count("kwa lint: 1 object, 101 checks") == 1


def test_no_gate_reports_and_exits_zero(bad: Path) -> None:
    proc = kwa(str(bad), "--fail-on", "none", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["run"]["trigger"] == "ci" and data["run"]["state"] == "completed"
    assert data["run"]["run_id"].startswith("lint_")
    assert data["objects"] == 1
    failing = {(r["check_id"], r["object_name"]) for r in data["results"] if r["status"] == "failing"}
    assert ("SEC-001", "web") in failing
    deployment = [r for r in data["results"] if r["object_kind"] == "Deployment"]
    assert deployment and all(r["source"].split("#")[0].endswith("app.yaml") for r in deployment)
    assert data["scores"]["overall"]["score"] is not None


def test_stdin_and_a_directory(bad: Path) -> None:
    piped = kwa("-", "--fail-on", "none", "-o", "json", stdin=BAD)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["objects"] == 1
    folder = kwa(str(FIXTURES / "SEC-001"), "--check", "SEC-001", "--fail-on", "none", "-o", "json")
    assert folder.returncode == 0, folder.stderr
    data = json.loads(folder.stdout)
    assert data["objects"] == len(list((FIXTURES / "SEC-001").glob("*.yaml"))) or data["objects"] > 1
    assert data["run"]["check_ids"] == ["SEC-001"] and data["run"]["scope"] == "single"


def test_zero_objects_is_exit_9(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    proc = kwa(str(empty))
    assert proc.returncode == 9, proc.stderr
    assert "nothing was assessed" in proc.stderr


def test_usage_errors_are_exit_2_without_a_traceback(tmp_path: Path) -> None:
    for args, said in (
        ((str(tmp_path / "missing.yaml"),), "missing.yaml"),
        ((str(tmp_path), "--check", "NOPE-1"), "NOPE-1"),
        ((str(tmp_path), "--fail-on", "sometimes"), "sometimes"),
        ((str(tmp_path), "-o", "pdf"), "pdf"),
    ):
        proc = kwa(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert said in proc.stderr and "Traceback" not in proc.stderr


def test_a_broken_document_loses_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(BAD)
    (tmp_path / "broken.yaml").write_text("kind: Deployment\nmetadata: {name: [unclosed\n")
    proc = kwa(str(tmp_path), "--fail-on", "none", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["objects"] == 1
    assert any("broken.yaml" in p for p in data["problems"])


def test_sarif_and_github_and_junit(bad: Path) -> None:
    sarif = kwa("app.yaml", "-o", "sarif", cwd=bad.parent)
    assert sarif.returncode == 6
    log = json.loads(sarif.stdout)
    results = log["runs"][0]["results"]
    assert any(r["ruleId"] == "SEC-001" and r["locations"][0]["physicalLocation"]["region"]["startLine"] == 13
               for r in results)  # fmt: skip
    github = kwa("app.yaml", "-o", "github", cwd=bad.parent)
    assert any(line.startswith("::error file=app.yaml,line=13") for line in github.stdout.splitlines()), github.stdout
    junit = kwa(str(bad), "-o", "junit", "--fail-on", "none")
    assert junit.returncode == 0 and junit.stdout.lstrip().startswith("<?xml")


def test_lint_loads_neither_prefect_nor_sqlalchemy(bad: Path) -> None:
    probe = (
        "import sys\n"
        "from kwa.app import call\n"
        f"code = call(['lint', {str(bad)!r}, '--fail-on', 'none', '-o', 'json'])\n"
        "heavy = sorted(m for m in ('prefect', 'sqlalchemy', 'sqlmodel') if m in sys.modules)\n"
        "print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert "HEAVY [] 0" in proc.stderr, proc.stderr


def test_a_check_past_its_timeout_is_killed_and_the_lint_is_partial(bad: Path) -> None:
    """The same hard per-check deadline as a Prefect run: SEC-911 sleeps a minute."""
    proc = kwa(
        str(bad), "--check", "SEC-911,SEC-912", "--check-timeout", "1", "--fail-on", "none", "-o", "json",
        env={"KWA_CHECK_MODULES": "tests.deploy.slow_checks", "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    data = json.loads(proc.stdout)
    assert data["run"]["state"] == "partial"
    assert [r["status"] for r in data["results"] if r["check_id"] == "SEC-911"] == ["timeout"]


def test_store_records_a_ci_run_with_the_same_numbers(bad: Path, tmp_path: Path) -> None:
    db = tmp_path / "kwa.db"
    env = {"KWA_DATABASE_URL": f"sqlite:///{db}"}
    memory = json.loads(kwa(str(bad), "--fail-on", "none", "-o", "json", env=env).stdout)
    assert not db.exists(), "a lint without --store touches no database"
    stored = kwa(str(bad), "--fail-on", "none", "-o", "json", "--store", env=env)
    assert stored.returncode == 0, stored.stderr
    data = json.loads(stored.stdout)
    assert data["run"]["run_id"].startswith("run_") and data["run"]["trigger"] == "ci"
    assert "stored as run " + data["run"]["run_id"] in stored.stderr
    # The database computed these from its rows with SQL; the lint above from memory.
    assert data["scores"] == memory["scores"]
    assert data["pillars"] == memory["pillars"]
    listed = subprocess.run(
        [sys.executable, "-m", "kwa", "runs", "list", "-o", "json"], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env}, cwd=REPO,
    )  # fmt: skip
    assert data["run"]["run_id"] in listed.stdout


def test_a_baseline_fails_only_on_new_findings_and_survives_line_moves(bad: Path, tmp_path: Path) -> None:
    baseline = tmp_path / "kwa-baseline.json"
    wrote = kwa(str(bad), "--write-baseline", str(baseline), "-o", "json")
    assert wrote.returncode == 6 and baseline.exists(), wrote.stderr  # the gate still judged this lint
    assert "written:" in wrote.stderr
    # The same findings ten lines further down: nothing new.
    bad.write_text("# a comment\n" * 10 + BAD)
    again = kwa(str(bad), "--baseline", str(baseline), "-o", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["baseline"]["new"] == 0
    # A second privileged Deployment is new: only it fails the gate.
    bad.write_text(BAD + "---\n" + BAD.replace("name: web,", "name: api,"))
    new = kwa(str(bad), "--baseline", str(baseline), "-o", "json")
    assert new.returncode == 6, new.stderr
    assert "not in the baseline" in new.stderr and "Deployment/shop/api" in new.stderr
    assert "Deployment/shop/web" not in new.stderr.split("gate rejected", 1)[1]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    refused = kwa(str(bad), "--baseline", str(broken))
    assert refused.returncode == 2 and "broken.json" in refused.stderr and "Traceback" not in refused.stderr


def test_a_skipped_document_is_shown_where_it_is_in_every_format(tmp_path: Path) -> None:
    """A manifest the lint cannot read is an error line on its file and line, not a silent loss."""
    from tests.cli.test_formats import sarif_validator

    (tmp_path / "ok.yaml").write_text(BAD)
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   bad: x\n")
    text = kwa(".", "--fail-on", "none", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    first = text.stdout.splitlines()[0]
    assert first.startswith("broken.yaml:5: ERROR input (document 0): YAML does not parse:"), text.stdout
    github = kwa(".", "--fail-on", "none", "-o", "github", cwd=tmp_path)
    assert github.stdout.startswith("::error file=broken.yaml,line=5,col="), github.stdout
    sarif = kwa(".", "--fail-on", "none", "-o", "sarif", cwd=tmp_path)
    log = json.loads(sarif.stdout)
    assert not sorted(sarif_validator().iter_errors(log), key=str)
    (note,) = [n for n in log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
               if n.get("descriptor", {}).get("id") == "kwa/input"]  # fmt: skip
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "broken.yaml"
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    assert "broken.yaml:5: ERROR input" in sarif.stderr  # beside a structured output, on stderr
    assert any(r["ruleId"] == "SEC-001" for r in log["runs"][0]["results"])  # the good file is assessed


def test_peer_suppressions_are_honoured_and_the_audit_says_so(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n  annotations:\n"
        "    checkov.io/skip1: CKV_K8S_16=the CNI needs it\n"
        "spec:\n  containers:\n  - name: c\n    image: nginx:1.27\n    securityContext: {privileged: true}\n"
    )
    proc = kwa("pod.yaml", "--fail-on", "none", cwd=tmp_path)
    assert "SEC-001" not in proc.stdout  # exempted: no finding
    said = "exemption honoured: checkov.io/skip: CKV_K8S_16 (1 object, 1 result): honoured as exempt:checkov for "
    said += "SEC-001"
    assert said in proc.stderr
    data = json.loads(kwa("pod.yaml", "--fail-on", "none", "-o", "json", cwd=tmp_path).stdout)
    (entry,) = [e for e in data["exemption_audit"] if e["source"] == "checkov"]
    assert entry["status"] == "active" and entry["results"] == 1


@pytest.mark.parametrize("option", ["--checks-dir", "--write-baseline", "--config"])
def test_a_path_the_system_cannot_use_is_a_usage_error_whichever_option_names_it(bad: Path, option: str) -> None:
    proc = kwa("app.yaml", option, "x" * 5000 + ".yaml", cwd=bad.parent)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert "File name too long" in proc.stderr


def test_stdin_on_a_terminal_says_it_waits_for_manifests(tmp_path: Path) -> None:
    """``kwa lint -`` with no pipe reads what is typed until Ctrl-D; before, it waited in silence
    and a forgotten pipe looked like a hang."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: kwa on the terminal's side
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "kwa", "lint", "-", "-o", "text"])
    out = b""
    try:
        deadline = time.monotonic() + 60
        while b"press Ctrl-D" not in out and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                out += os.read(fd, 4096)
        assert b"kwa lint: reading manifests from the terminal (stdin): paste them and press Ctrl-D" in out
        pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: typed, namespace: shop}\n"
        pod += "spec: {containers: [{name: c, image: nginx}]}\n"
        os.write(fd, pod.encode() + b"\x04")  # one Ctrl-D ends the input, as it does for cat
        while b"kwa lint: " not in out.split(b"press Ctrl-D", 1)[1] and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    break
        assert b"kwa lint: 1 object" in out
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def test_piped_stdin_gets_no_terminal_hint(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kwa", "lint", "-", "-o", "text"], input="", capture_output=True, text=True, cwd=tmp_path
    )
    assert "reading manifests from the terminal" not in proc.stderr
