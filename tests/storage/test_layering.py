"""Storage is the persistence layer: execution and presentation depend on it, never the reverse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_storage_imports_no_execution_or_presentation_code() -> None:
    code = (
        "import sys, storage, storage.db, storage.models, storage.runs, storage.results, storage.bench, "
        "storage.queries, storage.gates, storage.scores, storage.lifecycle\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'checks', 'flows', 'prefect', 'cli', 'kwa'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
