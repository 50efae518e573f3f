"""Expected failures end in one line on stderr and their exit code; only a bug prints a traceback.

Every command body runs through :func:`guarded`, so the mapping from what went wrong to the
exit code (``kwa/exit_codes.py``) is written once for the whole command tree.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from collections.abc import Callable

from kwa.exit_codes import ExitCode
from redaction.controls import shortened, terminal_safe

# A name longer than the system allows; a loop of symbolic links.
_UNUSABLE_PATH = frozenset({errno.ENAMETOOLONG, errno.ELOOP})


class NotFound(LookupError):
    """No such run, result or cluster (exit 7); the message says which."""


class AlreadyReported(Exception):
    """The command already said what went wrong on stderr; ``code`` is its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def guarded(body: Callable[[], int]) -> int:
    """``body()``'s exit code, or the exit code of the exception it raised (said on stderr)."""
    try:
        return int(body())
    except AlreadyReported as exc:
        return exc.code
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        return failure(exc)


def failure(exc: Exception) -> int:
    """Say what went wrong; its exit code. Storage's exceptions are imported only now: a command
    that never touched storage does not load SQLAlchemy to report its own error."""
    from cli.errors import UsageError

    if isinstance(exc, (UsageError, NotFound)):
        return _say(exc, ExitCode.USAGE if isinstance(exc, UsageError) else ExitCode.NOT_FOUND)
    if isinstance(exc, OSError) and exc.errno in _UNUSABLE_PATH:
        # A path given on the command line that the system cannot use at all, whichever option
        # named it (--checks-dir, --write-baseline, …): the user's to fix, not a bug.
        say_error(f"a path cannot be used: {exc.strerror}: {shortened(str(exc.filename or ''))}")
        return ExitCode.USAGE
    if "storage.db" not in sys.modules:  # none of storage's exceptions can have been raised
        return _internal()
    from storage.db import StorageUnavailable
    from storage.gates import GateError
    from storage.queries import ClusterNotFound, NoRuns, QueryError, ResultNotFound, RunNotFound

    if isinstance(exc, (QueryError, GateError)):
        return _say(exc, ExitCode.USAGE)
    if isinstance(exc, NoRuns):
        from kwa.views.runs import NO_RUNS_HINT

        print(NO_RUNS_HINT, file=sys.stderr)
        return ExitCode.NOT_FOUND
    if isinstance(exc, (RunNotFound, ResultNotFound, ClusterNotFound)):
        _say(exc, ExitCode.NOT_FOUND)
        if isinstance(exc, RunNotFound):
            print("hint: `kwa runs list` shows the runs there are", file=sys.stderr)
        return ExitCode.NOT_FOUND
    if isinstance(exc, StorageUnavailable):
        say_error(f"storage unavailable: {exc}")
        return ExitCode.FAILED
    return _internal()


def say_error(what: object) -> None:
    """``error: <what>`` on stderr, escaped: it may name a path or an object from the input."""
    print(terminal_safe(f"error: {what}"), file=sys.stderr)


def _say(exc: Exception, code: int) -> int:
    say_error(exc)
    return code


def _internal() -> int:
    print("internal error (a bug in kwa; please report it with this traceback):", file=sys.stderr)
    traceback.print_exc()
    return ExitCode.INTERNAL
