"""Exit codes of the query commands, and the errors that map to them (documented in docs/query.md)."""

from __future__ import annotations

from storage.gates import GATE_EXIT

EXIT_OK = 0
EXIT_INTERNAL = 1  # a bug: the traceback is worth reporting
EXIT_USAGE = 2  # bad option or value: malformed date or cursor, unknown status, severity, pillar, format
EXIT_STORAGE = 4  # the database cannot be opened or read (same code as flows.run's "storage unavailable")
EXIT_GATE = GATE_EXIT  # 6: --fail-on / --min-score rejected the run
EXIT_NOT_FOUND = 7  # unknown run id, result id or cluster; or no runs at all yet

__all__ = ["EXIT_GATE", "EXIT_INTERNAL", "EXIT_NOT_FOUND", "EXIT_OK", "EXIT_STORAGE", "EXIT_USAGE", "UsageError"]


class UsageError(Exception):
    """A command-line value the command cannot use; the message says what was expected."""
