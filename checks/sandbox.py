"""Run a function in a forked child that is killed at its deadline: a timeout nothing can outlive.

Prefect's ``timeout_seconds`` is only soft for tasks on worker threads, and nothing interrupts a
long C call or a socket read without its own timeout. A forked child inherits the snapshot for
free (copy-on-write, no serialisation of the input), and SIGKILL ends it whatever it is doing.
The child must not touch Prefect, the database or any lock-holding library: it only computes and
writes a pickled answer to a pipe.

The pipe messages and the killing and reaping of children are in :mod:`checks.forked`; this module
holds the two ways of using them: one call per child, and batches of jobs on worker lanes.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import select
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from checks.forked import HEADER, exited, kill, messages, read_message, reap, send, write_framed


class HardTimeout(TimeoutError):
    """The function ran past its deadline and its process was killed."""


class ChildError(RuntimeError):
    """The function raised in the child; the message carries the original exception text."""

    def __init__(self, message: str, exc_type: str, tb: str):
        super().__init__(message)
        self.exc_type = exc_type
        self.traceback = tb


class ChildDied(RuntimeError):
    """The child exited without an answer (killed by a signal, os._exit, out of memory)."""


def fork_available() -> bool:
    return hasattr(os, "fork")


def run_with_deadline(fn: Callable[[], Any], timeout: float) -> Any:
    """Call ``fn()`` in a forked child; return its result or raise within ``timeout`` (+ ~10 ms).

    The answer is length-prefixed rather than read to EOF: when several threads fork at once, a
    child can inherit another pipe's write end, so EOF may not come until an unrelated child ends.
    """
    if not fork_available():  # pragma: no cover - Windows: no hard timeout, run inline
        return fn()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(read_fd)
        _child(fn, write_fd)
    os.close(write_fd)
    deadline = time.monotonic() + timeout
    buffer = bytearray()
    expected: int | None = None
    outcome = "timeout"
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _, _ = select.select([read_fd], [], [], min(remaining, 0.05))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if chunk:
                    buffer += chunk
                    if expected is None and len(buffer) >= HEADER.size:
                        (expected,) = HEADER.unpack_from(buffer)
                    if expected is not None and len(buffer) >= HEADER.size + expected:
                        outcome = "answered"
                        break
                    continue
            if exited(pid):
                outcome = "died"
                break
    finally:
        os.close(read_fd)
        if outcome == "timeout":
            kill(pid)
        else:
            reap(pid, deadline)
    if outcome == "timeout":
        raise HardTimeout(f"exceeded its {timeout:g}s timeout; process {pid} was killed")
    if outcome == "died":
        raise ChildDied("the check process exited without a result")
    kind, value = pickle.loads(bytes(buffer[HEADER.size : HEADER.size + expected]))
    if kind == "ok":
        return value
    message, exc_type, tb = value
    raise ChildError(message, exc_type, tb)


def _child(fn: Callable[[], Any], write_fd: int) -> None:
    # Default signal dispositions: the parent may have Python-level handlers we must not run.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_DFL)
    code = 0
    try:
        try:
            data = pickle.dumps(("ok", fn()), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException as exc:  # everything, SystemExit included, is reported to the parent
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            data = pickle.dumps(("error", (text, type(exc).__name__, traceback.format_exc())))
            code = 1
        write_framed(write_fd, data)
        os.close(write_fd)
    finally:
        os._exit(code)


# ---- batches: one forked worker runs many checks, each with its own deadline --------------------


class BatchCancelled(Exception):
    """The batch was cancelled (the run was aborted) before this job finished."""


class Outcome:
    """What happened to one job of a :class:`IsolatedBatch`."""

    __slots__ = ("duration_ms", "job_id", "kind", "value")

    def __init__(self, job_id: str, kind: str, value: Any = None, duration_ms: int = 0):
        self.job_id = job_id
        self.kind = kind  # "ok" | "error" | "timeout" | "died" | "not-started" | "cancelled"
        self.value = value
        self.duration_ms = duration_ms

    def unwrap(self, timeout: float) -> Any:
        """The job's value, or the exception that describes why there is none."""
        if self.kind == "ok":
            return self.value
        if self.kind == "error":
            message, exc_type, tb = self.value
            raise ChildError(message, exc_type, tb)
        if self.kind == "timeout":
            if self.value == "run-deadline":
                raise HardTimeout("stopped at the run deadline; its worker process was killed")
            raise HardTimeout(f"exceeded its {timeout:g}s timeout; its worker process was killed")
        if self.kind == "not-started":
            raise HardTimeout(f"not started: {self.value}")
        if self.kind == "cancelled":
            raise BatchCancelled(self.value or "the run was aborted before this check finished")
        raise ChildDied(self.value or "the check process exited without a result")


class IsolatedBatch:
    """Evaluate jobs in forked worker processes, each job with its own hard deadline.

    Forking once per job costs ~7 ms in a process that has Prefect loaded, and forks serialise on
    the GIL; a worker that runs many jobs costs one fork. ``lanes`` workers run side by side (true
    parallelism: they are processes) and take jobs from one shared queue, in the order given, as
    they become free: a lane that drew cheap jobs does not sit idle while another still has a
    backlog. The worker announces each job before starting it, so the parent knows which job is
    running and when its deadline falls. A job past its deadline gets its worker SIGKILLed and a
    fresh worker takes the lane's next job.

    ``first_lanes`` start at once and the rest of ``lanes`` are spares: a lane whose job has run
    for ``spare_after`` seconds while jobs wait starts one, so a slow or hung job never holds up
    the queue until its deadline, and a batch of quick jobs costs no more workers (each copies the
    pages of the parent's heap it touches) than it needs.
    """

    def __init__(
        self,
        jobs: list[tuple[str, float]],
        run: Callable[[str], Any],
        lanes: int = 2,
        run_deadline: float | None = None,
        first_lanes: int | None = None,
        spare_after: float | None = None,
    ):
        self._run = run
        self._timeouts = dict(jobs)
        self._run_deadline = run_deadline  # time.monotonic() value, or None
        self._outcomes: dict[str, Outcome] = {}
        self._events = {job_id: threading.Event() for job_id, _ in jobs}
        self._callbacks: dict[str, list[Callable[[Outcome], None]]] = {}
        self._queue = [job_id for job_id, _ in jobs]
        self._queue.reverse()  # popped from the end: first job first
        self._lock = threading.Lock()
        self._lanes = max(1, min(lanes, len(jobs)))
        first = self._lanes if first_lanes is None else max(1, min(first_lanes, self._lanes))
        self._spare_after = spare_after if first < self._lanes else None
        self._threads = [threading.Thread(target=self._manage, daemon=True) for _ in range(first)]
        self._cancelled = threading.Event()
        self._cancel_reason = ""

    def start(self) -> IsolatedBatch:
        for thread in list(self._threads):
            thread.start()
        return self

    @property
    def lanes_started(self) -> int:
        return len(self._threads)

    def _call_spare(self) -> None:
        """Start one more lane, if a spare is left and a job is waiting for it."""
        with self._lock:
            if len(self._threads) >= self._lanes or not self._queue or self._cancelled.is_set():
                return
            thread = threading.Thread(target=self._manage, daemon=True)
            self._threads.append(thread)
        thread.start()

    def cancel(self, reason: str = "the run was aborted") -> None:
        """Kill the workers; jobs without an outcome yet end ``cancelled`` (they leave no result)."""
        self._cancel_reason = reason
        self._cancelled.set()

    def wait(self, job_id: str) -> Outcome:
        self._events[job_id].wait()
        return self._outcomes[job_id]

    def done(self, job_id: str, timeout: float = 0.0) -> bool:
        """Whether the job has its outcome, waiting up to ``timeout`` seconds for it."""
        return self._events[job_id].wait(timeout)

    def add_done_callback(self, job_id: str, callback: Callable[[Outcome], None]) -> None:
        """Call ``callback(outcome)`` once the job has one (at once if it already has; else from a
        manager thread, so the callback must be quick and thread-safe)."""
        with self._lock:
            if job_id not in self._outcomes:
                self._callbacks.setdefault(job_id, []).append(callback)
                return
        callback(self._outcomes[job_id])

    def _deliver(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes[outcome.job_id] = outcome
            callbacks = self._callbacks.pop(outcome.job_id, [])
        self._events[outcome.job_id].set()
        for callback in callbacks:
            callback(outcome)

    def _next_job(self) -> str | None:
        with self._lock:
            return self._queue.pop() if self._queue else None

    def _drain(self, kind: str, value: str) -> None:
        while (job_id := self._next_job()) is not None:
            self._deliver(Outcome(job_id, kind, value))

    def _manage(self) -> None:
        job_id = self._next_job()
        while job_id is not None:
            if self._cancelled.is_set():
                self._deliver(Outcome(job_id, "cancelled", self._cancel_reason))
                self._drain("cancelled", self._cancel_reason)
                return
            if self._run_deadline is not None and time.monotonic() >= self._run_deadline:
                self._deliver(Outcome(job_id, "not-started", "the run deadline had already passed"))
                self._drain("not-started", "the run deadline had already passed")
                return
            job_id = self._one_worker(job_id)

    def _one_worker(self, first: str) -> str | None:
        """Feed jobs to one worker until the queue is empty (None) or the worker is gone (the next
        job still to run, if any)."""
        read_fd, write_fd = os.pipe()
        command_read, command_write = os.pipe()
        pid = os.fork()
        if pid == 0:  # worker
            os.close(read_fd)
            os.close(command_write)
            _worker(self._run, command_read, write_fd)
        os.close(write_fd)
        os.close(command_read)
        current: str | None = first
        send(command_write, (first,))
        started = 0.0
        spare_at = math.inf  # when the current job calls in a spare lane (once)
        deadline = time.monotonic() + 60.0  # until the first "start": the worker is being born
        buffer = bytearray()
        killed = False
        cut_by_run = False
        try:
            while current is not None:
                if self._cancelled.is_set():
                    kill(pid)
                    killed = True
                    return current  # _manage delivers "cancelled" for it and the rest
                ready, _, _ = select.select([read_fd], [], [], max(0.0, min(deadline - time.monotonic(), 0.05)))
                if ready:
                    chunk = os.read(read_fd, 1 << 20)
                    buffer += chunk
                    for message in messages(buffer):
                        if message[0] == "start":
                            started = time.monotonic()
                            if self._spare_after is not None:
                                spare_at = started + self._spare_after
                            budget, cut_by_run = self._budget(current)
                            deadline = started + budget
                            continue
                        kind, job_id, value = message
                        elapsed = int((time.monotonic() - started) * 1000)
                        current = self._next_job()
                        spare_at = math.inf
                        if current is not None:  # the worker starts on it while we deliver
                            send(command_write, (current,))
                            deadline = time.monotonic() + 60.0
                        self._deliver(Outcome(job_id, kind, value, elapsed))
                    if chunk:
                        continue
                if current is None:
                    break
                if time.monotonic() >= spare_at:
                    spare_at = math.inf
                    self._call_spare()
                if time.monotonic() >= deadline:
                    kill(pid)
                    killed = True
                    why = "run-deadline" if cut_by_run else None
                    self._deliver(Outcome(current, "timeout", why, int((time.monotonic() - started) * 1000)))
                    return self._next_job()
                if exited(pid):
                    killed = True
                    self._deliver(Outcome(current, "died", "the check process exited without a result"))
                    return self._next_job()
        finally:
            os.close(read_fd)
            if not killed:
                # An explicit stop: another worker forked meanwhile may hold a copy of this pipe's
                # write end, so EOF alone could come late.
                with contextlib.suppress(OSError):
                    send(command_write, ())
            os.close(command_write)
            if not killed:
                reap(pid, time.monotonic())
        return None

    def _budget(self, job_id: str) -> tuple[float, bool]:
        """Seconds the job may run, and whether the run's deadline (not its own) set that."""
        budget = self._timeouts[job_id]
        if self._run_deadline is not None and self._run_deadline - time.monotonic() < budget:
            return max(self._run_deadline - time.monotonic(), 0.0), True
        return budget, False


def _worker(run: Callable[[str], Any], command_fd: int, write_fd: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_DFL)
    code = 0
    try:
        while command := read_message(command_fd):  # None (EOF) or () (stop) ends the worker
            (job_id,) = command
            send(write_fd, ("start", job_id))
            try:
                result = run(job_id)
            except BaseException as exc:  # reported to the parent; the worker goes on with the next job
                text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                send(write_fd, ("error", job_id, (text, type(exc).__name__, traceback.format_exc())))
                continue
            try:
                send(write_fd, ("ok", job_id, result))
            except Exception as exc:  # e.g. an unpicklable result: an error for this job only
                text = f"result could not be sent: {type(exc).__name__}: {exc}"
                send(write_fd, ("error", job_id, (text, type(exc).__name__, traceback.format_exc())))
        os.close(write_fd)
    except BaseException:  # a broken pipe (parent gone): the parent, if alive, sees the death
        code = 1
    finally:
        os._exit(code)
