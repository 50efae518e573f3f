"""Every storage test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``KWA_TEST_POSTGRES_URL`` when set (a server the tests may create a database
on; without CREATEDB they fall back to schemas inside the given database), else from a throwaway
cluster started with the Debian binaries (``/usr/lib/postgresql/*/bin``; run as the ``postgres``
user when we are root) on 127.0.0.1 and a free port. Neither possible → the PostgreSQL variants
are skipped with the reason. Each test gets a fresh schema (``search_path`` in the URL).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Database, normalise_url

PG_ENV = "KWA_TEST_POSTGRES_URL"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _version_key(path: str) -> tuple[int, ...]:
    m = re.search(r"/postgresql/([\d.]+)/", path)
    return tuple(int(p) for p in m.group(1).split(".")) if m else (0,)


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if found:
        return Path(found[-1]).parent
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(os.path.realpath(initdb)).parent
    return None


class ThrowawayPostgres:
    """initdb + pg_ctl in a temporary directory; ``url`` has a password (scram-sha-256)."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.url = ""
        self._prefix: list[str] = []
        self._bindir: Path | None = None

    def start(self) -> str:
        bindir = _pg_bindir()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) found")
        self._bindir = bindir
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and there is no 'postgres' user to run initdb as") from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise RuntimeError("running as root and runuser(1) is missing")
            self._prefix = [runuser, "-u", "postgres", "--"]
        self.dir = Path(tempfile.mkdtemp(prefix="kwa-pg-"))
        password = secrets.token_hex(12)
        pwfile = self.dir / "pw"
        pwfile.write_text(password + "\n")
        if owner is not None:
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            os.chown(pwfile, owner.pw_uid, owner.pw_gid)
        data = self.dir / "data"
        self._run(
            "initdb", "-D", str(data), "-U", "kwa", f"--pwfile={pwfile}", "--auth=scram-sha-256",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        port = _free_port()
        options = f"-h 127.0.0.1 -p {port} -k {self.dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run("pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o", options, "start")
        self.url = f"postgresql://kwa:{password}@127.0.0.1:{port}/postgres"
        return self.url

    def _run(self, tool: str, *args: str) -> None:
        assert self._bindir is not None
        proc = subprocess.run(
            [*self._prefix, str(self._bindir / tool), *args], capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            log = ""
            if self.dir is not None and (self.dir / "log").exists():
                log = (self.dir / "log").read_text()[-2000:]
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()} {log}")

    def stop(self) -> None:
        if self.dir is None:
            return
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def _libpq_url(url: str) -> str:
    """SQLAlchemy-style → libpq conninfo URL (psycopg.connect wants no '+driver')."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def _with_database(url: str, dbname: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(normalise_url(url)).set(database=dbname).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL URL with rights to create schemas (and, ideally, databases)."""
    url = os.environ.get(PG_ENV, "").strip()
    server = None
    if not url:
        server = ThrowawayPostgres()
        try:
            url = server.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            server.stop()
            pytest.skip(f"PostgreSQL unavailable: set {PG_ENV}, or install the postgresql package ({exc})")
    try:
        yield url
    finally:
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def pg_database(pg_server: str) -> Iterator[str]:
    """A database of our own on the server (or the given one when we may not create databases)."""
    import psycopg

    name = f"kwa_test_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(_libpq_url(pg_server), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.errors.InsufficientPrivilege:
        yield normalise_url(pg_server)
        return
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_ENV} unreachable: {exc}")
    try:
        yield _with_database(pg_server, name)
    finally:
        with (
            contextlib.suppress(Exception),
            psycopg.connect(_libpq_url(pg_server), autocommit=True, connect_timeout=10) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of a fresh, empty database (a new file, or a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kwa.db'}"
        return
    import psycopg

    base = request.getfixturevalue("pg_database")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq_url(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with contextlib.suppress(Exception), psycopg.connect(_libpq_url(base), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def backend(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"
