"""cli is presentation: it depends on storage only, never on checks' execution or on flows/Prefect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_imports_no_execution_or_orchestration_code() -> None:
    code = (
        "import sys, cli.main, cli.query, cli.runs, cli.history, cli.formatters.table, cli.formatters.sarif, "
        "cli.formatters.junit, cli.formatters.csvout, cli.formatters.structured, storage.queries, storage.gates\n"
        "cli.main.build_parser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'checks', 'flows', 'prefect'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_storage_query_modules_import_no_presentation_code() -> None:
    code = (
        "import sys, storage.queries, storage.gates\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'checks', 'flows', 'prefect', 'cli', 'kwa', "
        "'pandas', 'matplotlib', 'rich'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
