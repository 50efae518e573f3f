"""The three ways out: an HTTP endpoint on a real loopback port, a textfile, a Pushgateway."""

from __future__ import annotations

import base64
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kwa.metrics.collector import METRICS, KwaCollector
from kwa.metrics.export import push_after_run, serve, shown_url, split_credentials
from tests.metrics.helpers import exposition, parse, value


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        return resp.read().decode()


def test_the_endpoint_serves_what_the_collector_reads_and_caches_between_scrapes(seeded_db) -> None:
    collector = KwaCollector(lambda: seeded_db, cache_seconds=30)
    server, thread = serve(collector, "127.0.0.1", 0)
    try:
        port = server.server_address[1]
        first = parse(_scrape(port))
        assert value(first, "kwa_database_up") == 1.0
        assert {dict(k)["cluster"] for k in first["kwa_runs"]} == {"prod-eu", "staging"}
        # A storm of scrapes inside the cache window reads the database once.
        threads = [threading.Thread(target=_scrape, args=(port,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert collector.reads == 1
        uncached = parse(exposition(KwaCollector(lambda: seeded_db, cache_seconds=0)))
        for name in METRICS:
            if name != "kwa_collect_duration_seconds":
                assert first[name] == uncached[name], name
    finally:
        server.shutdown()
        thread.join(5)


def test_the_cache_expires(seeded_db) -> None:
    collector = KwaCollector(lambda: seeded_db, cache_seconds=0.2)
    exposition(collector)
    exposition(collector)
    assert collector.reads == 1
    time.sleep(0.25)
    exposition(collector)
    assert collector.reads == 2


def test_no_database_is_kwa_database_up_0_not_a_failed_scrape(tmp_path: Path) -> None:
    from storage.queries import NoRuns

    def missing() -> Any:
        raise NoRuns()

    samples = parse(exposition(KwaCollector(missing, cache_seconds=0)))
    assert value(samples, "kwa_database_up") == 0.0
    assert "kwa_runs" not in samples


def test_textfile_is_written_once_by_rename(kwa_in, tmp_path: Path) -> None:
    target = tmp_path / "kwa.prom"
    target.write_text("old content\n")
    before = target.stat().st_ino
    code, _, err = kwa_in("metrics", "--textfile", str(target))
    assert code == 0, err
    assert target.stat().st_ino != before  # a new file renamed over the old one, never rewritten in place
    samples = parse(target.read_text())
    assert value(samples, "kwa_run_score", cluster="prod-eu") is not None
    assert sorted(os.listdir(tmp_path)) == ["kwa.prom"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("path", "says"),
    [("missing-dir/kwa.prom", "does not exist"), (".", "is a directory")],
)
def test_textfile_bad_path_is_one_clear_line(kwa_in, tmp_path: Path, path: str, says: str) -> None:
    code, _, err = kwa_in("metrics", "--textfile", str(tmp_path / path))
    assert code == 4
    assert says in err and "Traceback" not in err
    assert err.count("\n") == 1


class Receiver:
    """A tiny Pushgateway stand-in on 127.0.0.1: records each request and answers ``status``."""

    def __init__(self, status: int = 200) -> None:
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size).decode()
                receiver.requests.append(
                    {"method": self.command, "path": self.path, "body": body, "headers": dict(self.headers)}
                )
                self.send_response(status)
                self.end_headers()

            do_PUT = do_POST = _record

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


def test_push_puts_one_group_per_cluster_with_basic_auth_and_no_password_shown(kwa_in, receiver: Receiver) -> None:
    url = f"http://pusher:s3cr3t-pass@127.0.0.1:{receiver.port}/"
    code, out, err = kwa_in("metrics", "--push", url)
    assert code == 0, err
    assert "s3cr3t-pass" not in out + err
    paths = sorted((r["method"], r["path"]) for r in receiver.requests)
    assert paths == [("PUT", "/metrics/job/kwa/cluster/prod-eu"), ("PUT", "/metrics/job/kwa/cluster/staging")]
    for r in receiver.requests:
        cluster = r["path"].rsplit("/", 1)[1]
        assert r["headers"]["Authorization"] == "Basic " + base64.b64encode(b"pusher:s3cr3t-pass").decode()
        samples = parse(r["body"])
        clusters = {dict(k).get("cluster") for series in samples.values() for k in series}
        assert clusters == {cluster}  # only that cluster's series; none of the scrape's own
        assert "kwa_database_up" not in samples
        assert value(samples, "kwa_last_run_state", cluster=cluster, state="completed") is not None
    # --cluster: that group only
    receiver.requests.clear()
    code, _, err = kwa_in("metrics", "--push", url, "--cluster", "staging")
    assert code == 0, err
    assert [r["path"] for r in receiver.requests] == ["/metrics/job/kwa/cluster/staging"]
    # A cluster with no runs is not pushed (its group would be replaced by an empty one).
    receiver.requests.clear()
    code, _, err = kwa_in("metrics", "--push", url, "--cluster", "nope")
    assert code == 7 and "no runs of cluster 'nope' are stored" in err
    assert receiver.requests == []


def _dead_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_pushgateway_is_one_line_without_credentials(kwa_in) -> None:
    code, out, err = kwa_in("metrics", "--push", f"http://u:hunter2-secret@127.0.0.1:{_dead_port()}")
    assert code == 4
    assert "cannot push metrics to http://127.0.0.1:" in err
    assert "hunter2-secret" not in out + err and "Traceback" not in err


def test_push_after_run_warns_and_reports_false_on_a_refusing_gateway(seeded_db, capsys) -> None:
    refusing = Receiver(status=500)
    try:
        pushed = push_after_run(seeded_db, "prod-eu", f"https://a:b-very-secret@127.0.0.1:{refusing.port}")
    finally:
        refusing.close()
    assert pushed is False
    err = capsys.readouterr().err
    assert err.startswith("warning: cannot push metrics to ") and "b-very-secret" not in err


@pytest.mark.parametrize("url", ["ftp://host/x", "http://", "http://host:notaport"])
def test_a_url_that_is_no_pushgateway_is_a_usage_error(kwa_in, url: str) -> None:
    code, _, err = kwa_in("metrics", "--push", url)
    assert code == 2
    assert "--push: not a Pushgateway URL" in err


def test_urls_are_shown_without_userinfo() -> None:
    assert shown_url("https://me:pw@gw.example:9091/base?x=1") == "https://gw.example:9091/base"
    assert split_credentials("me:p%40ss@gw:9091") == ("http://gw:9091", "me", "p@ss")
    from redaction import redact

    assert "p%40ss" not in redact("gw said: bad password p%40ss") and "p@ss" not in redact("echo p@ss")


def test_an_unreadable_database_is_reported_once_per_reason(seeded_db) -> None:
    told: list[str] = []
    broken = {"on": True}

    def open_db() -> Any:
        if broken["on"]:
            raise OSError("disk on fire, password=hunter2-hunter2")
        return seeded_db

    collector = KwaCollector(open_db, cache_seconds=0, report=told.append)
    for _ in range(3):
        assert value(parse(exposition(collector)), "kwa_database_up") == 0.0
    assert len(told) == 1 and "disk on fire" in told[0] and "hunter2-hunter2" not in told[0]
    broken["on"] = False
    assert value(parse(exposition(collector)), "kwa_database_up") == 1.0
    assert told[1:] == ["kwa's database is readable again"]


def test_the_command_serves_until_interrupted(seeded_url: str, tmp_path: Path) -> None:
    import re
    import signal
    import subprocess
    import sys

    env = {**os.environ, "KWA_DATABASE_URL": seeded_url, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kwa", "metrics", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.match(r"serving http://127\.0\.0\.1:(\d+)/metrics", line)
        assert m, line
        samples = parse(_scrape(int(m.group(1))))
        assert value(samples, "kwa_runs", cluster="prod-eu", state="partial") == 1.0
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_port_in_use_is_one_clear_line(kwa_in) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = kwa_in("metrics", "--port", str(port))
    assert code == 4
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}: ") and "Traceback" not in err
