"""``kwa checks show ID``: the rule, where its code and fixtures are, its peers' ids."""

from __future__ import annotations

import inspect
import json

import pytest

from kwa.app import call


def test_show_points_at_the_code_and_fixtures(capsys: pytest.CaptureFixture[str]) -> None:
    from checks.registry import load_all

    definition = load_all().by_id("SEC-017")
    func = inspect.unwrap(definition.func)
    line = inspect.getsourcelines(func)[1]
    assert call(["checks", "show", "sec-017"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"SEC-017  {definition.name}\n")
    assert f":{line} ({func.__qualname__})" in out  # file:line of the registered function, wherever it lives
    assert "tests/checks/fixtures/SEC-017" in out and "fail-" in out and "pass-" in out
    assert definition.remediation.splitlines()[0] in out
    for ids in definition.peers.values():
        assert all(i in out for i in ids)


def test_show_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["checks", "show", "SEC-001", "-o", "json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["id"] == "SEC-001" and info["code"]["file"].endswith(".py") and info["code"]["line"] > 0
    assert info["fixtures"]["files"] and isinstance(info["settings"], list) and info["peers"]


def test_unknown_check_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(["checks", "show", "NOPE-1"]) == 2
    assert "no check 'NOPE-1'" in capsys.readouterr().err
