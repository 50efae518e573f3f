"""The README's exit-code table says what kwa/exit_codes.py defines: the same codes, in order."""

from __future__ import annotations

import re
from pathlib import Path

from kwa.exit_codes import MEANINGS, NAMES, STATE_EXIT, ExitCode

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_codes() -> list[int]:
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    return [int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", section, re.M)]


def test_readme_table_matches_the_module() -> None:
    assert sorted(_readme_codes()) == sorted(int(c) for c in ExitCode)
    assert len(_readme_codes()) == len(set(_readme_codes()))  # each code once


def test_every_code_is_named_and_explained() -> None:
    assert set(MEANINGS) == set(NAMES) == set(ExitCode)
    assert {int(c) for c in STATE_EXIT.values()} == {0, 3, 4, 5}
