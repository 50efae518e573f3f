"""``kwa metrics``: serve ``/metrics``, write a textfile once, or push once to a Pushgateway.

Read-only over kwa's database, like the queries. docs/metrics.md lists every metric.
"""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from kwa.errors import AlreadyReported, guarded, say_error
from kwa.exit_codes import ExitCode
from kwa.values import bounded_option


def metrics(
    host: Annotated[str, typer.Option(metavar="ADDR", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, bounded_option("--port", 0, 65535, help="port to listen on (0: any free port)")] = 9464,
    textfile: Annotated[
        str | None,
        typer.Option(metavar="PATH", help="write the metrics to PATH once (temp file + rename) and exit"),
    ] = None,
    push: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="push once to this Pushgateway (job kwa, one group per cluster); '-' reads the URL from stdin, "
            "so credentials in it never show in a process list",
        ),
    ] = None,
    cluster: Annotated[str | None, typer.Option(metavar="ID", help="with --push: only this cluster")] = None,
    cache_seconds: Annotated[
        int, bounded_option("--cache-seconds", 0, 3600, help="serve: read the database at most once per N seconds")
    ] = 5,
) -> int:
    """Prometheus metrics of the stored results: serve /metrics, or --textfile PATH, or --push URL."""
    return guarded(lambda: _metrics(host, port, textfile, push, cluster, cache_seconds))


def _metrics(host: str, port: int, textfile: str | None, push: str | None, cluster: str | None, cache: int) -> int:
    from cli.errors import UsageError
    from kwa.metrics.collector import KwaCollector
    from kwa.metrics.export import MetricsError, serve, write_textfile
    from kwa.metrics.export import push as push_metrics
    from kwa.session import open_database

    if cluster is not None and push is None:
        raise UsageError("--cluster goes with --push (a scrape or a textfile holds every cluster)")
    if push == "-":
        push = sys.stdin.readline().strip()
        if not push:
            raise UsageError("--push -: no Pushgateway URL on stdin")
    if push is not None:
        from kwa.metrics.export import split_credentials

        try:
            split_credentials(push)
        except MetricsError as exc:
            raise UsageError(f"--push: {exc}") from None
    try:
        if textfile is not None or push is not None:
            db = open_database()
            try:
                if textfile is not None:
                    collector = KwaCollector(lambda: db, cache_seconds=3600)
                    write_textfile(collector, textfile)
                    if collector.last_error:
                        print(f"warning: kwa_database_up is 0: {collector.last_error}", file=sys.stderr)
                    print(f"metrics written to {textfile}", file=sys.stderr)
                if push is not None:
                    pushed = push_metrics(db, push, [cluster] if cluster else None)
                    print(f"metrics of {len(pushed)} cluster(s) pushed", file=sys.stderr)
            finally:
                db.dispose()
            return ExitCode.OK
        collector = KwaCollector(open_database, cache_seconds=cache, report=_warn)
        server, _ = serve(collector, host, port)
    except MetricsError as exc:
        say_error(exc)
        raise AlreadyReported(ExitCode.FAILED) from None
    where = server.server_address
    print(f"serving http://{host}:{where[1]}/metrics (Ctrl-C stops)", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return ExitCode.OK
    finally:
        server.shutdown()
        collector.close()


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)
