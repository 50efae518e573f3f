"""Which packages a set of modules pulls in, measured in a fresh interpreter (for the layering tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def forbidden_imports(modules: list[str], forbidden: set[str], then: str = "") -> list[str]:
    """Modules of the ``forbidden`` top-level packages loaded by importing ``modules`` (and running
    the statement ``then``), sorted."""
    code = (
        f"import sys, {', '.join(modules)}\n"
        f"{then}\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {sorted(forbidden)!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]
