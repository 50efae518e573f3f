"""Redaction under the whole process, so that no path can bypass it.

* **Logging**: a record factory redacts every record when it is created, before any handler sees
  it: the message is rendered (``getMessage``) and redacted, ``args`` cleared, and an exception's
  traceback pre-rendered, redacted, into ``exc_text`` with ``exc_info`` cleared (every
  ``logging.Formatter`` appends ``exc_text``; nothing can re-render the raw exception). This covers
  kwa's loggers, the ``kubernetes`` client's, urllib3's, and Prefect's: its API log handler ships
  records to the Prefect server's database, its console handler prints them.
* **Uncaught exceptions**: ``sys.excepthook`` and ``threading.excepthook`` print redacted
  tracebacks.
* **Streams** (``streams=True``, for command-line entry points): ``sys.stdout`` and ``sys.stderr``
  become line-buffered redacting wrappers, so whatever is printed (``print``, Rich, argparse,
  warnings, a traceback) is redacted line by line. A credential split across two lines of output
  is still caught by the known-value layer, which registers every line of a value.
* **Prefect** (``prefect=True``): the message of every state Prefect builds from an exception
  (``format_exception``) is redacted, and so is the body of every request its API clients send
  (logs, states, artifacts): the last gate before the Prefect server's database.

Cost: a log record or an output line costs one pass of the known-value pattern plus a few
substring tests (a few microseconds); a Prefect request body is only parsed and rewritten when the
cheap test says it could contain a credential.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

from redaction import needs_redaction, redact, redact_bytes, redact_obj, register_environment

_lock = threading.Lock()
_installed: set[str] = set()
_unredacted = 0  # > 0 while a caller stores a credential in a Prefect secret field on purpose


def install(*, streams: bool = False, prefect: bool = False) -> None:
    """Install the process-wide hooks (each at most once); register the environment's credentials."""
    register_environment()
    with _lock:
        if "logging" not in _installed:
            _install_logging()
            _install_excepthooks()
            _installed.add("logging")
        if streams and "streams" not in _installed:
            sys.stdout = RedactingStream(sys.stdout, by_line=_isatty(sys.stdout))  # type: ignore[assignment]
            sys.stderr = RedactingStream(sys.stderr, by_line=True)  # type: ignore[assignment]
            _installed.add("streams")
        if prefect and "prefect" not in _installed:
            _install_prefect()
            _installed.add("prefect")


# ---- logging ------------------------------------------------------------------------------------


def scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact a record in place: message rendered and redacted, traceback pre-rendered (see above)."""
    try:
        message = record.getMessage()
    except Exception:  # bad arguments: keep the template, never the arguments' reprs
        message = f"{record.msg} (log arguments could not be formatted)"
    record.msg = redact(message)
    record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        rendered = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        record.exc_text = redact(rendered)
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def _install_logging() -> None:
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return scrub_record(previous(*args, **kwargs))

    factory.kwa_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def _install_excepthooks() -> None:
    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        stream = sys.stderr or sys.__stderr__
        if stream is not None:
            stream.write(redact(text))
            stream.flush()

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "<unknown>"
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        stream = sys.stderr or sys.__stderr__
        if stream is not None:
            stream.write(redact(f"Exception in thread {name}:\n{text}"))
            stream.flush()

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


# ---- streams ------------------------------------------------------------------------------------


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class RedactingStream:
    """A text stream that redacts what is written to it, complete lines at a time.

    Text is held until a line ends (``\\n`` or ``\\r``, so progress lines still show) or the stream
    is flushed. With ``by_line=False`` (stdout to a pipe or file, already block-buffered by Python)
    complete lines are held until :data:`BLOCK` characters are pending, so a large export written
    row by row is redacted in a few large pieces instead of one call per row. Everything else
    (``isatty``, ``fileno``, ``encoding``…) is the wrapped stream's. ``buffer`` is a binary view
    that redacts too, after writing out any pending text.
    """

    BLOCK = 64 * 1024

    def __init__(self, stream: Any, by_line: bool = True):
        self._stream = stream
        self._by_line = by_line
        self._parts: list[str] = []  # pending text (joined only when written: no quadratic copying)
        self._size = 0
        self._lock = threading.RLock()

    @property
    def wrapped(self) -> Any:
        return self._stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self._lock:
            self._parts.append(text)
            self._size += len(text)
            ready = ("\n" in text or "\r" in text) if self._by_line else self._size >= self.BLOCK
            if ready:
                data = "".join(self._parts)
                cut = max(data.rfind("\n"), data.rfind("\r")) + 1
                rest = data[cut:]
                self._parts, self._size = ([rest] if rest else []), len(rest)
                if cut:
                    self._stream.write(redact(data[:cut]))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self._lock:
            if self._parts:
                pending = "".join(self._parts)
                self._parts, self._size = [], 0
                self._stream.write(redact(pending))
            self._stream.flush()

    @property
    def buffer(self) -> Any:
        return _RedactingBinary(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _RedactingBinary(io.RawIOBase):
    def __init__(self, text: RedactingStream):
        super().__init__()
        self._text = text

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        raw = bytes(data)
        with self._text._lock:
            self._text.flush()
            self._text.wrapped.buffer.write(redact_bytes(raw))
        return len(raw)

    def flush(self) -> None:
        self._text.flush()

    def fileno(self) -> int:
        return self._text.wrapped.fileno()


# ---- Prefect ------------------------------------------------------------------------------------


def _install_prefect() -> None:
    try:
        import prefect._internal.states as internal_states
        import prefect.states as states
        from prefect.client import base
    except ImportError:  # Prefect's layout changed: logging redaction still covers its log records
        logging.getLogger(__name__).warning("Prefect's state and request hooks could not be installed")
        return
    original_format = states.format_exception

    def format_exception(exc: BaseException, tb: Any = None) -> str:
        return redact(original_format(exc, tb))

    for module in (states, internal_states):
        if getattr(module, "format_exception", None) is original_format:
            module.format_exception = format_exception

    async_send = base.PrefectHttpxAsyncClient.send
    sync_send = base.PrefectHttpxSyncClient.send

    async def send_async(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        return await async_send(self, clean_request(request), *args, **kwargs)

    def send_sync(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        return sync_send(self, clean_request(request), *args, **kwargs)

    base.PrefectHttpxAsyncClient.send = send_async  # type: ignore[method-assign]
    base.PrefectHttpxSyncClient.send = send_sync  # type: ignore[method-assign]


@contextlib.contextmanager
def requests_unredacted() -> Iterator[None]:
    """Let Prefect API request bodies through as they are while inside.

    For the one request whose purpose is to store a credential in a Prefect *secret* field (``kwa
    notify add`` saving a webhook URL in its notification block): redacted, the block would hold
    ``***`` and never deliver. Process-wide, so only for a command's own short call, never inside a
    flow run (whose logs and states other threads send meanwhile). Everything printed or logged
    stays redacted.
    """
    global _unredacted
    with _lock:
        _unredacted += 1
    try:
        yield
    finally:
        with _lock:
            _unredacted -= 1


def clean_request(request: Any) -> Any:
    """An httpx request with a redacted body (the same request when nothing needs redacting)."""
    if _unredacted:
        return request
    try:
        content = request.content
    except Exception:  # a streaming body: Prefect sends none to its API, and it cannot be re-read
        return request
    if not content:
        return request
    text = content.decode("utf-8", "surrogateescape")
    if not needs_redaction(text):
        return request
    if "json" in request.headers.get("content-type", ""):
        try:
            document = json.loads(text)
        except ValueError:
            new = redact_bytes(content)
        else:
            cleaned = redact_obj(document)
            if cleaned == document:  # a trigger word ("key", "token") but nothing to mask
                return request
            new = json.dumps(cleaned, separators=(",", ":")).encode("utf-8")
    else:
        new = redact_bytes(content)
    if new == content:
        return request
    import httpx

    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    return httpx.Request(request.method, request.url, headers=headers, content=new, extensions=request.extensions)
