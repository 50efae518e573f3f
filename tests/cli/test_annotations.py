"""``-o text`` and ``-o github``: one line per finding that editors, CI logs and GitHub read."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cli.formatters.annotations import GITHUB_SHOWN_PER_STEP, github_commands, github_level, text_lines
from tests.cli.builder import MANIFEST, PRIVILEGED, RUN_2

# vim's default errorformat entry "%f:%l: %m" (and a VS Code problem matcher's usual pattern)
EDITOR = re.compile(r"^(?P<file>[^:\s][^:]*):(?P<line>\d+): (?P<message>.*)$")
# GitHub's runner reads "::<command> <k=v,...>::<data>" (ActionCommand.TryParseV2)
COMMAND = re.compile(r"^::(?P<command>[a-z]+)(?: (?P<props>[^:]*))?::(?P<data>.*)$")


def unescape_property(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")


def unescape_data(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    m = COMMAND.match(line)
    assert m, line
    props = {}
    for pair in (m.group("props") or "").split(","):
        if pair:
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
    return m.group("command"), props, unescape_data(m.group("data"))


def row(status: str = "failing", severity: str = "high", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "check_id": "SEC-001",
        "check_name": "Privileged container",
        "severity": severity,
        "status": status,
        "object_kind": "Deployment",
        "object_namespace": "shop",
        "object_name": "web",
        "container": "app",
        "message": "container app is privileged",
        "source": "k8s/app.yaml#1",
        "source_line": 7,
        "source_column": 1,
        "source_end_line": 24,
        "field_path": "spec.template.spec.containers[0].securityContext.privileged",
        "field_line": 24,
        "field_column": 13,
    }
    base.update(extra)
    return base


LIVE = {"source": "api", "source_line": None, "source_column": None, "source_end_line": None, "field_line": None}


def test_text_line_is_file_line_sev_check_object_message() -> None:
    assert list(text_lines([row()])) == [
        "k8s/app.yaml:24: HIGH SEC-001 Deployment/shop/web[app]: container app is privileged"
    ]
    m = EDITOR.match(next(text_lines([row()])))
    assert m and (m["file"], m["line"]) == ("k8s/app.yaml", "24")


def test_text_uses_the_objects_line_without_a_field_and_no_line_for_a_live_object() -> None:
    no_field = row(field_path=None, field_line=None, field_column=None, container=None)
    expected = "k8s/app.yaml:7: HIGH SEC-001 Deployment/shop/web: container app is privileged"
    assert list(text_lines([no_field])) == [expected]
    live = row(**LIVE)
    assert list(text_lines([live])) == ["Deployment/shop/web[app]: HIGH SEC-001: container app is privileged"]
    assert EDITOR.match(next(text_lines([live]))) is None  # an editor takes it for no file
    cluster_scoped = row(**LIVE, object_kind="ClusterRole", object_namespace=None, object_name="admin", container=None)
    assert list(text_lines([cluster_scoped])) == ["ClusterRole/admin: HIGH SEC-001: container app is privileged"]
    check_level = row(**LIVE, status="error", object_kind=None, object_namespace=None, object_name=None,
                      container=None, message="could not list pods: forbidden")  # fmt: skip
    assert list(text_lines([check_level])) == ["ERROR SEC-001: could not list pods: forbidden"]


def test_text_sev_is_the_severity_for_failing_and_the_status_otherwise() -> None:
    rows = [
        row("failing", "critical", object_name="a"),
        row("warning", "critical", object_name="b"),
        row("error", "low", object_name="c", reason="malformed"),
        row("timeout", "low", object_name="d"),
        row("passing", "critical", object_name="e"),
        row("skipped", "critical", object_name="f"),
    ]
    sevs = [line.split(": ", 1)[1].split(" ", 1)[0] for line in text_lines(rows)]
    assert sevs == ["CRITICAL", "WARNING", "ERROR", "TIMEOUT"]


def test_text_is_sorted_by_file_and_line_files_first() -> None:
    rows = [
        row(source="b.yaml#0", field_line=3, object_name="b3"),
        row(**LIVE, object_name="live"),
        row(source="a.yaml#0", field_line=40, object_name="a40"),
        row(source="a.yaml#2", field_line=9, object_name="a9"),
        row(source="<stdin>#4", field_line=2, object_name="stdin"),
    ]
    assert [line.split(":", 2)[:2] for line in text_lines(rows)] == [
        ["<stdin>", "2"], ["a.yaml", "9"], ["a.yaml", "40"], ["b.yaml", "3"],
        ["Deployment/shop/live[app]", " HIGH SEC-001"],
    ]  # fmt: skip


def test_text_keeps_hostile_text_on_one_line_and_out_of_the_terminal() -> None:
    hostile = row(message="first\nsecond\r\x1b[31mred\x1b[0m \u202eevil", object_name="we\tb\x07")
    (line,) = text_lines([hostile])
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    expected = "k8s/app.yaml:24: HIGH SEC-001 Deployment/shop/we b\\x07[app]: first second "
    assert line == expected + "\\x1b[31mred\\x1b[0m \\u202eevil"


@pytest.mark.parametrize(
    ("status", "severity", "level"),
    [
        ("failing", "critical", "error"),
        ("failing", "high", "error"),
        ("failing", "medium", "warning"),
        ("failing", "low", "notice"),
        ("failing", "info", "notice"),
        ("warning", "critical", "warning"),
        ("warning", "medium", "warning"),
        ("warning", "low", "notice"),
        ("error", "info", "error"),
        ("timeout", "info", "error"),
        ("passing", "critical", None),
        ("skipped", "critical", None),
    ],
)
def test_github_level(status: str, severity: str, level: str | None) -> None:
    assert github_level(row(status, severity)) == level


def test_github_command_points_at_the_field_line_and_column() -> None:
    (line,) = github_commands([row()], workspace=None)
    assert line == (
        "::error file=k8s/app.yaml,line=24,col=13,title=SEC-001 Privileged container"
        "::Deployment/shop/web[app]: container app is privileged"
    )
    no_field = row(field_line=None, field_column=None, field_path=None)
    command, props, data = parse_command(next(github_commands([no_field], workspace=None)))
    assert (command, props["line"], props["col"], props["endLine"]) == ("error", "7", "1", "24")
    command, props, data = parse_command(next(github_commands([row(**LIVE)], workspace=None)))
    assert "file" not in props and "line" not in props and data.startswith("Deployment/shop/web[app]: ")


def test_github_escapes_what_the_runner_unescapes() -> None:
    nasty = row(
        message="100% sure\r\nline two::not a command, really",
        check_name="Name: with, commas",
        source="dir,x/a:b.yaml#0",
    )
    line = next(github_commands([nasty], workspace=None))
    assert "\n" not in line and "\r" not in line
    # no ":" left in the properties: the first "::" after the command name ends them, whatever
    # the message holds (parse_command reads them as "[^:]*")
    assert ":" not in line[2:].split("::", 1)[0]
    _, props, data = parse_command(line)
    assert props["file"] == "dir,x/a:b.yaml"
    assert props["title"] == "SEC-001 Name: with, commas"
    assert data == "Deployment/shop/web[app]: 100% sure\r\nline two::not a command, really"
    assert "%25" in line and "%0D%0A" in line and "%2C" in line and "%3A" in line


def test_github_makes_workspace_paths_relative() -> None:
    absolute = row(source="/home/runner/work/repo/repo/k8s/app.yaml#1")
    _, props, _ = parse_command(next(github_commands([absolute], workspace="/home/runner/work/repo/repo")))
    assert props["file"] == "k8s/app.yaml"
    _, props, _ = parse_command(next(github_commands([absolute], workspace="/elsewhere")))
    assert props["file"] == "/home/runner/work/repo/repo/k8s/app.yaml"


def test_github_orders_most_severe_first_and_says_what_the_summary_will_not_show() -> None:
    rows = [row("failing", "low", object_name=f"low{i}") for i in range(3)]
    rows += [row("failing", "medium", object_name=f"med{i}") for i in range(12)]
    rows += [row("failing", "critical" if i % 2 else "high", object_name=f"err{i}") for i in range(15)]
    lines = list(github_commands(rows, workspace=None))
    levels = [parse_command(line)[0] for line in lines]
    assert levels == ["error"] * 15 + ["warning"] * 12 + ["notice"] * 4
    assert all("critical" not in line for line in lines)  # the check's severity is not in the text
    objects = [parse_command(line)[2].split(":")[0] for line in lines[:15]]
    assert [o.split("/")[2].split("[")[0] for o in objects[:7]] == [f"err{i}" for i in (1, 3, 5, 7, 9, 11, 13)]
    _, props, note = parse_command(lines[27])  # the first notice: before the findings' notices
    assert props == {"title": "kwa"}
    assert note.startswith(f"5 errors and 2 warnings beyond the {GITHUB_SHOWN_PER_STEP} per level")
    quiet = list(github_commands(rows[:5], workspace=None))
    assert not any(line.startswith("::notice title=kwa::") for line in quiet)


# -- through the CLI, and read by a real editor ----------------------------------------------------


def test_query_list_prints_text_and_github(kwa) -> None:
    code, out, err = kwa("query", "assessments", "list", "--run", RUN_2, "-o", "text")
    assert code == 0, err
    lines = out.splitlines()
    assert (
        f"{MANIFEST}:{PRIVILEGED[1]}: CRITICAL SEC-001 Deployment/shop/web[web]: container web is privileged" in lines
    )
    assert all(" PASSING " not in line and " SKIPPED " not in line for line in lines)
    code, out, err = kwa("query", "assessments", "list", "--run", RUN_2, "-o", "github")
    assert code == 0, err
    first = parse_command(out.splitlines()[0])
    assert first[0] == "error"
    assert (first[1]["file"], first[1]["line"], first[1]["col"]) == (MANIFEST, str(PRIVILEGED[1]), str(PRIVILEGED[2]))


@pytest.mark.skipif(shutil.which("vim") is None, reason="vim is not installed")
@pytest.mark.parametrize("errorformat", [None, r"%f:%l:\ %m"])
def test_vim_reads_the_text_lines_as_jump_targets(tmp_path: Path, errorformat: str | None) -> None:
    """vim's quickfix list (its default errorformat, and the plain "%f:%l: %m"): every line with a
    file is a valid entry at that file and line; a live object's line is not taken for a file."""
    rows = [row(), row(source="a.yaml#0", field_line=3, field_column=5, object_name="x"), row(**LIVE, object_name="y")]
    listing = tmp_path / "kwa.txt"
    listing.write_text("\n".join(text_lines(rows)) + "\n")
    report = tmp_path / "qf.txt"
    setting = ["-c", f"set errorformat={errorformat}"] if errorformat else []
    script = "for e in getqflist() | echo e.valid . '|' . bufname(e.bufnr) . '|' . e.lnum | endfor"
    subprocess.run(
        ["vim", "-u", "NONE", "-N", "-es", *setting, "-c", f"cgetfile {listing}", "-c", f"redir! > {report}",
         "-c", script, "-c", "redir END", "-c", "qa!"],
        check=False, timeout=30, stdin=subprocess.DEVNULL, capture_output=True,
    )  # fmt: skip
    entries = [line.split("|") for line in report.read_text().split("\n") if line.strip()]
    assert entries == [["1", "a.yaml", "3"], ["1", "k8s/app.yaml", "24"], ["0", "", "0"]]
