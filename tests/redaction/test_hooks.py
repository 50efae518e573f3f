"""``redaction.install``: nothing a process logs, prints, raises or sends to Prefect keeps a credential.

Each case runs in a fresh interpreter: install() changes process-wide state (the logging record
factory, the exception hooks, sys.stdout/sys.stderr, Prefect's classes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "tok-Zq71-0123456789"


def run(code: str) -> subprocess.CompletedProcess[str]:
    script = textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )


def test_logging_printing_and_uncaught_exceptions_are_redacted() -> None:
    got = run(
        f"""
        import logging, sys, threading, warnings
        import redaction
        redaction.install(streams=True)
        redaction.register("{TOKEN}\\n")
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
        log = logging.getLogger("x")
        log.info("header %r", b"Bearer {TOKEN}\\r\\n")
        try:
            raise ValueError("Invalid header value b'Bearer {TOKEN}\\\\n'")
        except ValueError:
            log.exception("request failed")
        log.info("bad args %s %s", "{TOKEN}")  # a formatting error must not print the arguments
        print("split", "{TOKEN[:8]}", end="")
        print("{TOKEN[8:]}", "done")
        sys.stdout.buffer.write(b"bytes {TOKEN}\\n")
        sys.stderr.write("stderr Bearer abcdef123\\n")
        warnings.warn("warned {TOKEN}")
        threading.Thread(target=lambda: 1 / 0 if False else (_ for _ in ()).throw(RuntimeError("{TOKEN}"))).start()
        raise SystemExit(f"exiting with {TOKEN}")
        """
    )
    text = got.stdout + got.stderr
    assert TOKEN not in text and TOKEN[:8] + TOKEN[8:] not in text, text
    assert "Traceback (most recent call last)" in got.stderr  # still shown, just redacted
    assert "ValueError: Invalid header value b'Bearer ***'" in got.stderr
    assert "request failed" in got.stderr and "log arguments could not be formatted" in got.stderr
    assert "stderr Bearer ***" in got.stderr
    assert "Exception in thread" in got.stderr and "RuntimeError: ***" in got.stderr
    assert "split ***" in got.stdout or "split" in got.stdout
    assert "exiting with ***" in got.stderr
    assert got.returncode == 1


def test_log_records_are_redacted_for_every_handler() -> None:
    got = run(
        f"""
        import json, logging
        import redaction
        redaction.install()
        redaction.register("{TOKEN}")
        records = []
        class Keep(logging.Handler):
            def emit(self, record):
                records.append((record.getMessage(), record.args, record.exc_info, self.format(record)))
        logging.getLogger().addHandler(Keep())
        try:
            {{}}["{TOKEN}"]
        except KeyError:
            logging.getLogger("y").error("lookup of %s failed", "{TOKEN}", exc_info=True)
        message, args, exc_info, formatted = records[0]
        print(json.dumps([message, args, exc_info, formatted]))
        """
    )
    message, args, exc_info, formatted = json.loads(got.stdout)
    assert message == "lookup of *** failed" and args is None and exc_info is None
    assert "Traceback (most recent call last)" in formatted and "KeyError: '***'" in formatted
    assert TOKEN not in got.stdout


def test_prefect_state_messages_and_request_bodies_are_redacted() -> None:
    got = run(
        f"""
        import json
        import httpx
        import redaction
        redaction.install(prefect=True)
        redaction.register("{TOKEN}")
        import prefect.states, prefect._internal.states
        from redaction.hooks import clean_request
        exc = RuntimeError("Invalid header value b'Bearer {TOKEN}'")
        print(prefect.states.format_exception(exc))
        print(prefect._internal.states.format_exception(exc))
        body = {{"logs": [{{"message": "token: {TOKEN}"}}], "n": 1}}
        request = httpx.Request("POST", "http://127.0.0.1:1/api/logs/", json=body)
        cleaned = clean_request(request)
        print(cleaned.headers["content-length"] == str(len(cleaned.content)))
        print(cleaned.content.decode())
        same = httpx.Request("POST", "http://127.0.0.1:1/api/logs/", json={{"message": "nothing here"}})
        print(clean_request(same) is same)
        """
    )
    lines = got.stdout.splitlines()
    assert got.returncode == 0, got.stderr
    assert lines[0] == lines[1] == "RuntimeError: Invalid header value b'Bearer ***'"
    assert lines[2] == "True"
    assert json.loads(lines[3]) == {"logs": [{"message": "token: ***"}], "n": 1}
    assert lines[4] == "True"  # a body with nothing to redact is sent as it was
    assert TOKEN not in got.stdout + got.stderr


def test_a_credential_stored_on_purpose_passes_only_inside_requests_unredacted() -> None:
    got = run(
        f"""
        import httpx
        import redaction
        from redaction.hooks import clean_request, requests_unredacted
        redaction.register("{TOKEN}")
        body = {{"data": {{"secrets": {{"webhook_url": "https://hooks.example/{TOKEN}"}}}}}}
        make = lambda: httpx.Request("POST", "http://127.0.0.1:1/api/block_documents/", json=body)
        print("{TOKEN}" in clean_request(make()).content.decode())
        with requests_unredacted():
            print("{TOKEN}" in clean_request(make()).content.decode())
        print("{TOKEN}" in clean_request(make()).content.decode())
        """
    )
    assert got.returncode == 0, got.stderr
    assert got.stdout.split() == ["False", "True", "False"]


def test_install_is_idempotent_and_registers_the_environment() -> None:
    got = run(
        """
        import logging, os, sys
        os.environ["PREFECT_API_KEY"] = "pnu_envkeyZq72"
        import redaction
        redaction.install(streams=True)
        redaction.install(streams=True)
        print(type(sys.stdout).__name__, type(sys.stdout.wrapped).__name__)
        print("key pnu_envkeyZq72")
        """
    )
    assert got.stdout.splitlines() == ["RedactingStream TextIOWrapper", "key ***"]
