"""``python -m flows.run``: the same command as ``kwa run``, kept as the entry point the quick
start, the benchmarks and the container images use.

A shim: parsing, rendering and exit codes live in the command tree (``kwa/commands/run.py``);
this module hands its arguments over. It is the one place flows/ imports the presentation layer,
declared as an exception in the import-linter contracts (pyproject.toml).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from kwa.app import main as kwa_main

    return kwa_main(argv, prog="python -m flows.run", only="run")


if __name__ == "__main__":
    sys.exit(main())
