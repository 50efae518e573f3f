"""The error a command-line value raises when the command cannot use it.

Raised by the presentation code (value parsing, history, the query views); ``kwa``'s command tree
turns it into one line on stderr and exit 2 (``kwa/exit_codes.py`` holds every exit code).
"""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """A command-line value the command cannot use; the message says what was expected."""
