"""Every exit code of every ``kwa`` command, in one table.

The README's "Exit codes" table is checked against :data:`MEANINGS` by a test, so the two cannot
drift apart. A code means the same thing in every command: 4 is "failed" whether a run failed or
kwa could not reach what it needs to do its job (its database, the Prefect API).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    PARTIAL = 3
    FAILED = 4
    ABORTED = 5
    GATE = 6
    NOT_FOUND = 7
    WAIT_TIMEOUT = 8
    NOTHING_ASSESSED = 9
    INTERRUPTED = 130


# One line each; the README's table says the same at length (tests/kwa/test_exit_codes.py).
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "completed: every check executed (a query or control command: it did what was asked)",
    ExitCode.INTERNAL: "internal error (a bug in kwa: the traceback is worth reporting)",
    ExitCode.USAGE: "usage error: unknown command, check or pillar, bad option or value, invalid config",
    ExitCode.PARTIAL: "partial: at least one check errored or timed out, at least one executed",
    ExitCode.FAILED: "failed: the run failed, or kwa's storage or the Prefect API is unavailable",
    ExitCode.ABORTED: "aborted: kwa runs abort, Cancel in the Prefect UI, SIGINT or SIGTERM",
    ExitCode.GATE: "a CI gate (--fail-on, --min-score, --min-coverage) rejected the run",
    ExitCode.NOT_FOUND: "no such run, result or cluster, or no runs yet",
    ExitCode.WAIT_TIMEOUT: "kwa runs wait --timeout: the run was still active when the timeout passed",
    ExitCode.NOTHING_ASSESSED: "nothing was assessed: the run read no object, or no check judged one",
    ExitCode.INTERRUPTED: "interrupted while following another run (that run goes on)",
}

# What ``--help`` calls each code.
NAMES: dict[ExitCode, str] = {
    ExitCode.OK: "ok/completed",
    ExitCode.INTERNAL: "internal error",
    ExitCode.USAGE: "usage error",
    ExitCode.PARTIAL: "partial",
    ExitCode.FAILED: "failed or unavailable",
    ExitCode.ABORTED: "aborted",
    ExitCode.GATE: "rejected by a gate",
    ExitCode.NOT_FOUND: "not found",
    ExitCode.WAIT_TIMEOUT: "wait timed out",
    ExitCode.NOTHING_ASSESSED: "nothing assessed",
    ExitCode.INTERRUPTED: "interrupted",
}

# The exit code of a run that ended in each terminal state (before gates and "nothing assessed").
STATE_EXIT: dict[str, ExitCode] = {
    "completed": ExitCode.OK,
    "partial": ExitCode.PARTIAL,
    "failed": ExitCode.FAILED,
    "aborted": ExitCode.ABORTED,
}


def state_exit(state: str | None) -> int:
    """The exit code of a run in ``state``; an unknown or missing state counts as failed."""
    return int(STATE_EXIT.get(state or "failed", ExitCode.FAILED))


def epilog() -> str:
    """The exit-code list every command's ``--help`` ends with."""
    return "Exit codes: " + ", ".join(f"{int(c)} {NAMES[c]}" for c in ExitCode) + " (README: Exit codes)."
