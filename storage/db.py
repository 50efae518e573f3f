"""Database location, engine set-up and schema migration.

Where the data lives
--------------------
``KWA_DATABASE_URL`` (any SQLAlchemy URL) wins. ``postgresql://`` and ``postgres://`` URLs without an
explicit driver are rewritten to ``postgresql+psycopg://`` (psycopg 3). Without the variable the
database is SQLite at ``$XDG_DATA_HOME/kwa/kwa.db``, or ``~/.local/share/kwa/kwa.db`` when
``XDG_DATA_HOME`` is unset or not absolute; the directory is created.

Schema
------
The schema is owned by Alembic (``storage/migrations``). A :class:`Database` first reads the
database's revision in a read transaction: at ``head`` (the usual case) nothing else happens, so a
read-only command never takes a write lock and never waits behind a writer. Only a database
behind ``head`` is upgraded, inside one write transaction that first takes a lock (``BEGIN
IMMEDIATE`` on SQLite, ``pg_advisory_xact_lock`` on PostgreSQL) and reads the revision again: two
processes opening a fresh database at once migrate one after the other, the second doing nothing.
Every upgrade records which kwa made it (table ``kwa_schema``); a database at a revision this kwa
does not know was migrated by a newer kwa, and opening it raises :class:`SchemaTooNew`, which
names both versions.

SQLite
------
Every connection gets ``busy_timeout`` (30 s; ``KWA_DB_BUSY_TIMEOUT`` in seconds overrides it),
``journal_mode=WAL``, ``synchronous=NORMAL``,
``foreign_keys=ON`` and a 64 MiB page cache (bulk inserts need it). pysqlite's own transaction
handling is switched off (``isolation_level=None``) and SQLAlchemy emits ``BEGIN IMMEDIATE``
itself, so a write transaction takes SQLite's write lock up front, where the busy timeout
applies, instead of failing with "database is locked" when a deferred transaction tries to
upgrade its lock. Read-only work goes through :meth:`Database.read`, which emits a plain
(deferred) ``BEGIN`` so readers never wait for writers (WAL).

Errors
------
Failing to create, open, connect to or lock the database raises :class:`StorageUnavailable`; its
message names the URL with the password masked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

# Per-connection SQLite set-up lives in storage.sqlite_setup; the constants are re-exported here.
from storage.sqlite_setup import _BEGIN_OPTION, _install_sqlite_hooks, busy_timeout_ms
from storage.sqlite_setup import ENV_BUSY_TIMEOUT as ENV_BUSY_TIMEOUT
from storage.sqlite_setup import SQLITE_BUSY_TIMEOUT_MS as SQLITE_BUSY_TIMEOUT_MS
from storage.sqlite_setup import SQLITE_CACHE_KIB as SQLITE_CACHE_KIB

log = logging.getLogger(__name__)

ENV_URL = "KWA_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PG_CONNECT_TIMEOUT = 10  # seconds; a connect_timeout in the URL wins
# Key of the PostgreSQL advisory lock held while migrating (any constant shared by all kwa processes).
_PG_MIGRATION_LOCK = zlib.crc32(b"kwa.storage.migrate")

# URLs (rendered with password) already migrated by this process: later Database objects skip Alembic.
_migrated: set[str] = set()
_migrate_lock = threading.Lock()
# Every engine a Database opened (a Database can be dropped while its engine lives on in a
# reference cycle), so that a process ending without the interpreter's teardown (kwa.quick_exit)
# still closes its connections: SQLite checkpoints its WAL on the last close.
_opened: weakref.WeakSet[Engine] = weakref.WeakSet()


class StorageUnavailable(Exception):
    """The database cannot be created, opened, connected to or locked."""


class SchemaTooNew(StorageUnavailable):
    """The database was migrated by a newer kwa, to a schema this kwa does not know."""


def kwa_version() -> str:
    """The installed kwa's version (``unknown`` when running from a tree that was never installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kwa")
    except PackageNotFoundError:
        return "unknown"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/kwa`` or ``~/.local/share/kwa`` (not created)."""
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "kwa"


def default_database_url() -> str:
    """``KWA_DATABASE_URL`` if set (normalised), else the per-user SQLite file (directory created)."""
    env = os.environ.get(ENV_URL, "").strip()
    if env:
        return normalise_url(env)
    directory = default_data_dir()
    path = directory / "kwa.db"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailable(f"cannot create the kwa data directory {directory}: {exc}") from exc
    return f"sqlite:///{path}"


def normalise_url(url: str | URL) -> str:
    """Return ``url`` as a string, with a driverless PostgreSQL URL pointed at psycopg 3."""
    if isinstance(url, URL):
        url = url.render_as_string(hide_password=False)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def mask_url(url: str | URL) -> str:
    """The URL as text with its password replaced by ``***`` (unparseable text is hidden entirely)."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


class Database:
    """One kwa database: an engine plus the guarantee that its schema is at Alembic ``head``.

    Cheap to construct: nothing is opened until :attr:`engine` (or :meth:`begin`/:meth:`read`) is
    first used, which connects, migrates and raises :class:`StorageUnavailable` on failure.
    """

    def __init__(self, url: str | URL | None = None, *, migrate: bool = True, echo: bool = False) -> None:
        raw = normalise_url(url) if url is not None else default_database_url()
        try:
            self._url: URL = make_url(raw)
        except ArgumentError:
            raise StorageUnavailable(f"invalid database URL {mask_url(raw)!r}") from None
        self._migrate = migrate
        self._echo = echo
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    # -- identity -------------------------------------------------------------------------------

    @property
    def url(self) -> URL:
        """The SQLAlchemy URL; its ``str()``/``repr()`` mask the password."""
        return self._url

    @property
    def safe_url(self) -> str:
        return mask_url(self._url)

    @property
    def dialect(self) -> str:
        """``sqlite``, ``postgresql``, …"""
        return self._url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def __repr__(self) -> str:
        return f"Database({self.safe_url!r})"

    __str__ = __repr__

    # -- engine -----------------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        """The engine, created, connected and migrated on first access."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = self._create_engine()
                    try:
                        self._check_and_migrate(engine)
                    except BaseException:
                        engine.dispose()
                        raise
                    self._engine = engine
                    _opened.add(engine)
        return self._engine

    def dispose(self) -> None:
        """Close pooled connections (the object stays usable: the next use reconnects)."""
        if self._engine is not None:
            self._engine.dispose()

    def close(self) -> None:
        self.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on success."""
        engine = self.engine
        try:
            with engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (deferred ``BEGIN`` on SQLite, so it never waits for writers)."""
        engine = self.engine
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(**{_BEGIN_OPTION: "BEGIN"})
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    # -- internals --------------------------------------------------------------------------------

    def _unavailable(self, exc: BaseException, what: str = "database unavailable") -> StorageUnavailable:
        detail = str(getattr(exc, "orig", None) or exc).strip() or type(exc).__name__
        password = self._url.password
        if password:
            detail = detail.replace(str(password), "***")
        if self._url.get_backend_name() == "postgresql" and detail.startswith("connection timeout expired"):
            waited = self._url.query.get("connect_timeout") or PG_CONNECT_TIMEOUT
            detail += (
                f": nothing answered as PostgreSQL within {waited} s (another service on that port, or "
                "a route that drops the packets?); connect_timeout in the URL sets the wait"
            )
        if self.is_sqlite and detail == "database is locked":
            waited = busy_timeout_ms() / 1000
            detail += (
                f": another process held its write lock for longer than kwa waits ({waited:g} s, "
                "KWA_DB_BUSY_TIMEOUT): a long write elsewhere, or a sqlite3 shell with a transaction open"
            )
        return StorageUnavailable(f"{what}: {self.safe_url}: {detail}")

    def _create_engine(self) -> Engine:
        url = self._url
        kwargs: dict[str, Any] = {"echo": self._echo, "future": True}
        if self.is_sqlite:
            database = url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                parent = Path(database).expanduser().resolve().parent
                try:
                    parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageUnavailable(f"cannot create the directory for {self.safe_url}: {exc}") from exc
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms() / 1000}
        else:
            kwargs["pool_pre_ping"] = True
            if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
                # libpq waits 130 s for a server that accepts the connection but never answers as
                # PostgreSQL (another service on the port, a proxy, a dropped route): kwa says so sooner.
                kwargs["connect_args"] = {"connect_timeout": PG_CONNECT_TIMEOUT}
        try:
            engine = create_engine(url, **kwargs)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise StorageUnavailable(f"cannot use database {self.safe_url}: {exc}") from exc
        if self.is_sqlite:
            _install_sqlite_hooks(engine)
        return engine

    def _check_and_migrate(self, engine: Engine) -> None:
        key = self._url.render_as_string(hide_password=False)
        try:
            with engine.connect() as conn:
                conn = conn.execution_options(**{_BEGIN_OPTION: "BEGIN"})  # a reader: no write lock
                with conn.begin():
                    found = read_schema(conn)
        except DBAPIError as exc:
            raise self._unavailable(exc, "cannot connect to the database") from exc
        if not self._migrate:
            return
        with _migrate_lock:
            if key in _migrated:
                return
            if found.revision != head_revision():
                found.refuse_if_too_new(self.safe_url)
                try:
                    upgrade(engine)
                except OperationalError as exc:
                    raise self._unavailable(exc, "cannot migrate the database") from exc
                except SchemaTooNew as exc:  # another kwa moved it ahead meanwhile
                    raise SchemaTooNew(f"{self.safe_url}: {exc}") from None
            _migrated.add(key)
            log.debug("database %s is at the latest schema", self.safe_url)


def dispose_all() -> None:
    """Close the pooled connections of every engine this process opened (each stays usable)."""
    for engine in list(_opened):
        with contextlib.suppress(Exception):
            engine.dispose()


class SchemaFound:
    """What a database says about its schema: its Alembic revision and who migrated it last."""

    def __init__(self, revision: str | None, kwa: str | None = None, recorded: str | None = None) -> None:
        self.revision = revision
        self.kwa = kwa  # the kwa version recorded by the last upgrade (None before migration 0004)
        self.recorded = recorded

    def refuse_if_too_new(self, where: str) -> None:
        """Raise :class:`SchemaTooNew` when the revision is one this kwa does not know."""
        if self.revision is None or self.revision in known_revisions():
            return
        by = f"kwa {self.kwa}" if self.kwa else "a newer kwa"
        raise SchemaTooNew(
            f"{where}: this database was migrated by {by} (schema {self.revision}); this kwa "
            f"{kwa_version()} knows schema up to {head_revision()}: upgrade kwa to use it "
            f"(or point {ENV_URL} at another database)"
        )


def read_schema(conn: Connection) -> SchemaFound:
    """The database's revision and the kwa that migrated it, read without taking a write lock."""
    from storage.revisions import Unsure, current_revision

    try:
        revision = current_revision(conn)  # without Alembic's import (storage/revisions.py)
    except Unsure:
        from alembic.runtime.migration import MigrationContext

        revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        return SchemaFound(None)
    row = None
    if _has_schema_table(conn):  # not before migration 0004
        row = conn.execute(text("SELECT kwa_version, schema_revision FROM kwa_schema WHERE id = 1")).first()
    return SchemaFound(revision, *(row if row is not None else (None, None)))


def _has_schema_table(conn: Connection) -> bool:
    from sqlalchemy import inspect

    return inspect(conn).has_table("kwa_schema")


_script_cache: dict[str, Any] = {}


def _script() -> Any:
    if "script" not in _script_cache:
        from alembic.script import ScriptDirectory

        _script_cache["script"] = ScriptDirectory.from_config(alembic_config())
    return _script_cache["script"]


def head_revision() -> str:
    """The newest schema revision this kwa knows."""
    from storage.revisions import head_of

    return head_of(MIGRATIONS_DIR / "versions") or str(_script().get_current_head())


def known_revisions() -> set[str]:
    return {s.revision for s in _script().walk_revisions()}


def record_schema(conn: Connection, revision: str | None) -> None:
    """Record that this kwa migrated the database to ``revision`` (called by every upgrade)."""
    if revision is None:
        return
    if not _has_schema_table(conn):  # downgraded below migration 0004
        return
    from storage.models import schema_table

    conn.execute(schema_table.delete().where(schema_table.c.id == 1))
    conn.execute(
        schema_table.insert().values(
            id=1, kwa_version=kwa_version(), schema_revision=revision, migrated_at=datetime.now(UTC)
        )
    )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run Alembic ``upgrade`` on ``engine`` under the migration lock (idempotent).

    Raises :class:`SchemaTooNew` when, under the lock, the database turns out to be at a revision
    this kwa does not know (Alembic would only say "Can't locate revision").
    """
    from alembic import command

    with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE is the lock
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        read_schema(conn).refuse_if_too_new("the database")
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def alembic_config() -> Any:
    """An in-code Alembic configuration pointing at ``storage/migrations``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg
