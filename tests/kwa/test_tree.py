"""The command tree: every verb listed by its group's --help, a one-line help for every command
and option, unknown verbs and values rejected as usage errors (exit 2)."""

from __future__ import annotations

import pytest

from kwa.app import call, command

GROUPS = {
    "runs": {
        "list", "get", "abort", "rerun", "resume", "watch", "wait", "logs", "delete", "prune", "compact", "reap",
        "publish",
    },
    "query": {"assessments"},
    "checks": {"list", "show"},
    "server": {"start", "stop", "status"},
    "notify": {"add", "list", "remove"},
}


def _walk(cmd, path=()):
    yield path, cmd
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def test_every_group_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    for group, verbs in GROUPS.items():
        assert call([group, "--help"]) == 0
        out = capsys.readouterr().out
        block = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]  # up to the epilog
        listed = {line.split()[0] for line in block.splitlines() if line.startswith("  ") and line.strip()}
        assert listed == verbs, (group, out)


def test_every_command_and_option_has_help() -> None:
    missing = []
    for path, cmd in _walk(command()):
        if path and not (cmd.help or "").strip():
            missing.append(" ".join(path))
        for param in cmd.params:
            if param.param_type_name == "option" and not (getattr(param, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert missing == []


def test_no_help_text_looks_like_a_credential() -> None:
    """Every line kwa prints is masked for credentials; help that reads "token: id" came out as
    "token: ***". So no command's or option's help may look like one."""
    import redaction

    masked = []
    for path, cmd in _walk(command()):
        texts = [cmd.help or "", cmd.short_help or "", cmd.epilog or ""]
        texts += [getattr(p, "help", "") or "" for p in cmd.params]
        masked += [(" ".join(path), t) for t in texts if redaction.redact(t) != t]
    assert masked == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("runs", "nonsense"), "No such command 'nonsense'"),
        (("nonsense",), "No such command 'nonsense'"),
        (("checks", "list", "-o", "html"), "--output 'html': choose from table, json, yaml"),
        (("runs", "prune"), "Missing option '--older-than'"),
        (("runs", "prune", "--older-than", "soon"), "--older-than 'soon': expected a duration such as"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str) -> None:
    assert call(list(argv)) == 2
    assert message in capsys.readouterr().err


def test_help_and_completion_are_there(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--install-completion" in out and "--show-completion" in out
    for group in (*GROUPS, "run", "lint", "fleet"):
        assert group in out
    assert call(["server", "--help"]) == 0


def test_python_m_flows_run_is_kwa_run(capsys: pytest.CaptureFixture[str]) -> None:
    from flows.run import main

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: python -m flows.run [OPTIONS]") and "--check" in out
    assert main(["--check", "NOPE-999", "--demo"]) == 2  # before any Prefect server or run is touched
    assert "NOPE-999" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["query", "--help"],
        ["query", "assessments", "list", "-h"],
        ["query", "assessments", "lisst"],
        ["query", "assessments", "list", "--limit", "0"],
        ["runs"],
        ["runs", "list", "--state", ""],
        ["checks", "show"],
        ["fleet", "--help"],
        ["serve", "--port", "x"],
        ["metrics", "-h"],
        ["tokens", "create", "--help"],
        ["notify", "nope"],
    ],
)
def test_a_command_built_alone_reads_as_in_the_whole_tree(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """``kwa query …`` builds only its group's tree (the whole one costs 35 ms of every start):
    help, usage lines and usage errors must be those of the whole tree, word for word."""
    from kwa.app import _alone, command, invoke

    alone = invoke(_alone(argv[0]), argv, None, "kwa")
    first = capsys.readouterr()
    whole = invoke(command(), argv, None, "kwa")
    second = capsys.readouterr()
    assert (alone, first.out, first.err) == (whole, second.out, second.err)
    assert first.out or first.err
