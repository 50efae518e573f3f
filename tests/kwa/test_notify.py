"""``kwa notify``: the block and the automation it makes on the real Prefect server, the automation
firing against a webhook receiver on 127.0.0.1, and what it does when the server is away."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from flows.notifications import PREFIX, Notification, default_name, describe, parse_description, target_of
from kwa.app import call


def kwa(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = call(list(argv))
    return code, out.getvalue(), err.getvalue()


# The triggers service reads automations when it starts and on every change message; a few seconds
# let it take in one created just now before the events it must react to arrive.
TRIGGER_SETTLE = 5.0


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps every POST body it receives."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "body": json.loads(body or b"{}")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/s3cr3t-token-abcdef"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.25)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _triggers_enabled(api: str) -> bool:
    """Whether the server runs its triggers and actions services (both follow this one setting)."""
    import urllib.request

    with urllib.request.urlopen(f"{api.rstrip('/')}/admin/settings", timeout=10) as resp:
        return bool(json.loads(resp.read())["server"]["services"]["triggers"]["enabled"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_names_targets_and_descriptions_keep_the_secret_part_out() -> None:
    assert default_name("regressed", "Prod EU/1") == "regressed-prod-eu-1"
    assert default_name("finished", None) == "finished-all"
    assert target_of("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/…"
    note = Notification("n", "webhook", "regressed", "prod", target_of("http://127.0.0.1:8080/x/secret"))
    text = describe(note)
    assert "secret" not in text
    assert parse_description("n", text, True) == note
    assert parse_description("n", describe(Notification("m", "slack", "finished", None, "https://h/…")), False) == (
        Notification("n", "slack", "finished", None, "https://h/…", False)
    )


def test_add_needs_exactly_one_url_and_a_valid_name() -> None:
    code, _, err = kwa("notify", "add")
    assert code == 2 and "exactly one of --slack-webhook URL and --webhook URL" in err
    code, _, err = kwa("notify", "add", "--webhook", "http://a/b", "--slack-webhook", "http://c/d")
    assert code == 2


def test_bad_values_are_usage_errors_that_never_print_the_url() -> None:
    code, out, err = kwa("notify", "add", "--webhook", "ftp://host/SECRETPATHxyz123")
    assert code == 2 and "not an http(s) URL" in err and "SECRETPATHxyz123" not in out + err
    code, _, err = kwa("notify", "add", "--webhook", "http://127.0.0.1:9/x", "--name", "Bad Name")
    assert code == 2 and "notification name 'Bad Name'" in err
    code, _, err = kwa("notify", "remove", "Bad Name")
    assert code == 2 and "notification name 'Bad Name'" in err


@pytest.mark.prefect
def test_add_creates_block_and_automation_that_fire_on_a_regressed_run(
    prefect_api: str, receiver: Receiver, tmp_path: Any
) -> None:
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client

    from tests.flows.test_events import GOOD, PRIVILEGED, _assess

    cluster = f"notify-{time.time_ns()}"
    name = f"hook-{time.time_ns()}"
    code, out, err = kwa("notify", "add", "--webhook", receiver.url, "--on", "regressed", "--cluster", cluster,
                         "--name", name)  # fmt: skip
    assert code == 0, err
    assert "s3cr3t-token" not in out + err and name in out
    # Adding the same name again replaces it: still one automation, one block.
    code, _, err = kwa("notify", "add", "--webhook", receiver.url, "--on", "regressed", "--cluster", cluster,
                       "--name", name)  # fmt: skip
    assert code == 0, err

    with get_client(sync_client=True) as client:
        automations = client.read_automations_by_name(name=PREFIX + name)
        doc = client.read_block_document_by_name(PREFIX + name, "custom-webhook", include_secrets=False)
    assert len(automations) == 1
    automation = Automation.read(name=PREFIX + name)
    assert automation.trigger.expect == {"kwa.run.regressed"}
    assert automation.trigger.match.model_dump()["prefect.resource.id"] == f"kwa.cluster.{cluster}"
    assert automation.actions[0].block_document_id == doc.id
    assert "s3cr3t-token" not in json.dumps(doc.data, default=str)  # the URL is a secret field

    code, out, _ = kwa("notify", "list")
    assert code == 0 and name in out and f"cluster {cluster}" in out and "http://127.0.0.1:" in out
    assert "s3cr3t-token" not in out

    if not _triggers_enabled(prefect_api):  # the automation exists (checked above) but cannot fire
        pytest.skip("this Prefect server runs with server.services.triggers.enabled false (GET /admin/settings)")
    time.sleep(TRIGGER_SETTLE)
    path = tmp_path / "app.yaml"
    path.write_text(GOOD)
    _assess(path, cluster)
    path.write_text(PRIVILEGED)
    worse = _assess(path, cluster)
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=10)
    got = receiver.wait(1, timeout=60)
    assert got, "the automation did not call the webhook within 60 s"
    assert got[0]["path"] == "/hook/s3cr3t-token-abcdef"
    text = got[0]["body"]["text"]
    assert worse["run_id"] in text and cluster in text and "regressed" in text and "new critical 1" in text

    code, out, _ = kwa("notify", "remove", name)
    assert code == 0
    with get_client(sync_client=True) as client:
        assert client.read_automations_by_name(name=PREFIX + name) == []
    code, _, err = kwa("notify", "remove", name)
    assert code == 7 and "no notification named" in err


def test_an_unreachable_prefect_server_is_a_clear_error_and_exit_4() -> None:
    import os

    from flows.server import use_api

    before = os.environ.get("PREFECT_API_URL")  # the session's server, when another test started it
    use_api("http://127.0.0.1:9/api")  # nothing listens on the discard port
    try:
        for argv in (
            ("notify", "list"),
            ("notify", "remove", "x"),
            ("notify", "add", "--webhook", "http://h/SECRETxyz987"),
        ):
            code, out, err = kwa(*argv)
            assert code == 4, (argv, err)
            assert "is not answering; nothing was changed" in err and "SECRETxyz987" not in out + err
    finally:
        use_api(before)


@pytest.mark.prefect
def test_a_slack_notification_keeps_its_url_secret_and_replaces_a_webhook_of_the_same_name(prefect_api: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    name = f"slack-{time.time_ns()}"
    secret = "https://hooks.slack.com/services/T0KWATEST/B0KWATEST/SecretPartKwa123"
    try:
        assert kwa("notify", "add", "--webhook", "http://127.0.0.1:9/hook", "--name", name)[0] == 0
        code, out, err = kwa("notify", "add", "--slack-webhook", secret, "--on", "finished", "--name", name)
        assert code == 0, err
        assert "SecretPartKwa123" not in out + err
        with get_client(sync_client=True) as client:
            doc = client.read_block_document_by_name(PREFIX + name, "slack-webhook", include_secrets=False)
            assert "SecretPartKwa123" not in json.dumps(doc.data, default=str)
            with pytest.raises(ObjectNotFound):  # the webhook block of the same name is gone
                client.read_block_document_by_name(PREFIX + name, "custom-webhook", include_secrets=False)
            [automation] = client.read_automations_by_name(name=PREFIX + name)
        assert automation.trigger.expect == {"kwa.run.finished"}
        assert automation.trigger.match.model_dump()["prefect.resource.id"] == "kwa.cluster.*"
        code, out, _ = kwa("notify", "list")
        assert f"{name}  slack  on finished  cluster *  https://hooks.slack.com/…" in out
        assert "SecretPartKwa123" not in out
    finally:  # never left behind: it would post every later test run's end to Slack
        kwa("notify", "remove", name)


def test_message_templates_say_n_a_for_a_missing_score_never_none() -> None:
    """A failed run has no score: the message says ``n/a`` where Jinja would print ``None``."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from flows.events import FINISHED, REGRESSED
    from flows.notifications import BODIES, SUBJECT

    env = ImmutableSandboxedEnvironment()
    payload = {"run_id": "run_1", "cluster": "prod", "state": "failed", "scope": "full", "score": None}
    finished = env.from_string(BODIES[FINISHED]).render(event={"event": FINISHED, "payload": payload})
    assert "None" not in finished and "score n/a" in finished and "run_1" in finished and "prod" in finished
    scored = {**payload, "state": "completed", "score": 0, "score_before": 12.5, "score_after": 0}
    regressed = env.from_string(BODIES[REGRESSED]).render(event={"event": REGRESSED, "payload": scored})
    assert "score 12.5 -> 0 " in regressed  # a zero score is a score, not a missing one
    assert env.from_string(SUBJECT).render(event={"event": FINISHED, "payload": payload}) == f"kwa: prod {FINISHED}"
