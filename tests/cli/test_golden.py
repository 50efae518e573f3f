"""Golden files: every format of every command, byte for byte, on the deterministic database.

Regenerate after an intended change with ``KWA_UPDATE_GOLDEN=1 pytest tests/cli/test_golden.py``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.builder import RUN_1, RUN_2

GOLDEN = Path(__file__).parent / "golden"
RESULT_ID = "asm_20260211_090000_sec002_bbbbbb000001"

CASES = {
    **{f"list.{ext}": ("query", "assessments", "list", "--run", RUN_2, "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"), ("csv", "csv"), ("sarif", "sarif"),
                        ("junit", "xml"))},
    **{f"summary.{ext}": ("query", "assessments", "summary", "--cluster", "prod-eu", "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"), ("csv", "csv"), ("sarif", "sarif"),
                        ("junit", "xml"))},
    **{f"history.{ext}": ("query", "assessments", "history", "--cluster", "prod-eu", "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"), ("csv", "csv"))},
    **{f"diff.{ext}": ("query", "assessments", "diff", RUN_1, RUN_2, "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"), ("csv", "csv"))},
    **{f"get-result.{ext}": ("query", "assessments", "get", RESULT_ID, "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"))},
    **{f"get-run.{ext}": ("runs", "get", RUN_2, "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"))},
    **{f"runs-list.{ext}": ("runs", "list", "-o", fmt)
       for fmt, ext in (("table", "txt"), ("json", "json"), ("yaml", "yaml"), ("csv", "csv"))},
    "summary-gate.txt": ("query", "assessments", "summary", "--run", RUN_2, "--fail-on", "high", "--min-score", "60"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(kwa, name: str) -> None:
    argv = CASES[name]
    code, out, err = kwa(*argv)
    assert code == (6 if "gate" in name else 0), err
    path = GOLDEN / name
    if os.environ.get("KWA_UPDATE_GOLDEN"):
        path.write_text(out, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with KWA_UPDATE_GOLDEN=1 to create it"
    assert out == path.read_text(encoding="utf-8")
