"""Start ``prefect server start`` with SQLite write transactions taken up front.

Prefect 3.8's SQLite backend opens DEFERRED transactions. When a read transaction upgrades to a
write while the task-run recorder has just committed, SQLite answers "database is locked" at once
(the busy timeout does not apply to that case), the API returns HTTP 503 and the client backs off
about 2 s (Prefect issue #18934). Every kwa run then pays several seconds and fills the log with
lock errors. Taking the write lock at BEGIN (``BEGIN IMMEDIATE``) makes writers queue on the busy
timeout instead. Measured on a 2-core machine, 6 pillar subflows x 15 checks: 0 lock errors and
2.6 s instead of 6.8 s (sequential, heartbeats on) or 11-18 s with 5-13 HTTP 503 retries.

PostgreSQL-backed servers do not need this; the patch only touches the SQLite configuration class.
Run as ``python -m flows.prefect_server --host 127.0.0.1 --port 4200``.
"""

from __future__ import annotations

import contextlib
import sys


def _patch_sqlite_begin_immediate() -> None:
    from prefect.server.database import configurations

    original = configurations.AioSqliteConfiguration.begin_transaction

    @contextlib.asynccontextmanager
    async def begin_transaction(self, session, with_for_update: bool = False):  # type: ignore[no-untyped-def]
        async with original(self, session, with_for_update=True) as transaction:
            yield transaction

    configurations.AioSqliteConfiguration.begin_transaction = begin_transaction  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    _patch_sqlite_begin_immediate()
    from prefect.cli import app

    sys.argv = ["prefect", "server", "start", *(argv if argv is not None else sys.argv[1:])]
    app()


if __name__ == "__main__":
    main()
