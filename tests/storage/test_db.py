from __future__ import annotations

import socket
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy import text as sql

from storage import db as dbmod
from storage.db import (
    Database,
    StorageUnavailable,
    alembic_config,
    current_revision,
    default_database_url,
    mask_url,
    normalise_url,
    upgrade,
)
from storage.models import SQLModel
from storage.runs import create_run, get_run, list_runs

TABLES = {
    "runs", "assessments", "assessment_history", "kwa_schema", "result_contents", "archived_runs", "api_tokens",
}  # fmt: skip


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


# -- URLs ---------------------------------------------------------------------------------------------


def test_env_url_wins_and_postgres_uses_psycopg3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KWA_DATABASE_URL", "postgresql://kwa:pw@db.example:5432/kwa")
    assert default_database_url() == "postgresql+psycopg://kwa:pw@db.example:5432/kwa"
    monkeypatch.setenv("KWA_DATABASE_URL", "postgres://kwa@db/kwa")
    assert default_database_url() == "postgresql+psycopg://kwa@db/kwa"
    monkeypatch.setenv("KWA_DATABASE_URL", "sqlite:////tmp/x.db")
    assert default_database_url() == "sqlite:////tmp/x.db"
    assert normalise_url("postgresql+psycopg2://a@b/c") == "postgresql+psycopg2://a@b/c"


def test_default_is_per_user_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KWA_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_database_url() == f"sqlite:///{tmp_path / 'xdg' / 'kwa' / 'kwa.db'}"
    assert (tmp_path / "xdg" / "kwa").is_dir()

    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_database_url() == f"sqlite:///{tmp_path / 'home' / '.local' / 'share' / 'kwa' / 'kwa.db'}"
    assert (tmp_path / "home" / ".local" / "share" / "kwa").is_dir()

    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec says relative paths are invalid
    assert default_database_url().startswith(f"sqlite:///{tmp_path / 'home'}")


def test_database_without_url_uses_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KWA_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    with Database() as db:
        create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="ci")
    assert (tmp_path / "kwa" / "kwa.db").is_file()


def test_password_is_masked_everywhere() -> None:
    db = Database("postgresql://kwa:s3cr3t-pw@db.example:5432/kwa")
    assert db.url.drivername == "postgresql+psycopg"
    for text in (str(db), repr(db), str(db.url), repr(db.url), db.safe_url):
        assert "s3cr3t-pw" not in text
        assert "***" in text
    assert mask_url("postgresql://u:pw@h/d") == "postgresql://u:***@h/d"
    assert "pw" not in mask_url("not a url : pw")


# -- schema -------------------------------------------------------------------------------------------


def test_first_use_creates_schema_with_alembic(db: Database) -> None:
    engine = db.engine
    names = set(inspect(engine).get_table_names())
    assert names >= TABLES
    assert "alembic_version" in names
    assert current_revision(db) == _head()
    indexes = {ix["name"] for t in TABLES for ix in inspect(engine).get_indexes(t)}
    assert {
        "ix_runs_cluster_id_requested_at",
        "ix_runs_state",
        "ix_assessments_run_id_status",
        "ix_assessments_run_id_check_id",
        "ix_assessments_run_id_pillar",
    } <= indexes


def test_upgrade_is_idempotent(db_url: str) -> None:
    with Database(db_url) as db:
        run = create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="manual")
        upgrade(db.engine)
        upgrade(db.engine)
        assert current_revision(db) == _head()
    dbmod._migrated.clear()  # a new process would migrate again: it must be a no-op
    with Database(db_url) as again:
        assert get_run(again, run["run_id"]) is not None
        assert current_revision(again) == _head()


def test_models_match_the_migrations(db: Database) -> None:
    with db.read() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, SQLModel.metadata)

    def ours(diff: object) -> bool:
        text = repr(diff)
        return any(f"'{t}'" in text or f"Table('{t}'" in text for t in TABLES)

    assert [d for d in diffs if ours(d)] == []


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'p.db'}") as db:
        for _ in range(2):
            with db.engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
                assert raw.execute("PRAGMA busy_timeout").fetchone()[0] >= 30_000
                assert raw.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
                assert raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            db.dispose()


def test_sqlite_write_transactions_begin_immediate(tmp_path: Path) -> None:
    with Database(f"sqlite:///{tmp_path / 'b.db'}") as db:
        statements: list[str] = []
        from sqlalchemy import event

        @event.listens_for(db.engine, "before_cursor_execute")
        def spy(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        with db.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 2")
        assert statements == ["BEGIN IMMEDIATE", "SELECT 1", "BEGIN", "SELECT 2"]


def test_fresh_sqlite_file_in_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "kwa.db"
    with Database(f"sqlite:///{path}") as db:
        assert set(inspect(db.engine).get_table_names()) >= TABLES
    assert path.is_file()


# -- unavailable --------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_postgres_is_storage_unavailable() -> None:
    db = Database(f"postgresql://kwa:s3cr3t-pw@127.0.0.1:{_closed_port()}/kwa?connect_timeout=3")
    with pytest.raises(StorageUnavailable) as err:
        create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="manual")
    text = str(err.value)
    assert "127.0.0.1" in text and "***" in text
    assert "s3cr3t-pw" not in text
    assert "s3cr3t-pw" not in repr(err.value)


def test_a_server_that_never_answers_as_postgres_fails_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq alone waits 130 s for a listener that never speaks PostgreSQL (another service on the
    port, a proxy); kwa sets a connect timeout unless the URL has one."""
    import threading
    import time

    monkeypatch.setattr(dbmod, "PG_CONNECT_TIMEOUT", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    started = time.monotonic()
    try:
        db = Database(f"postgresql://kwa:s3cr3t-pw@127.0.0.1:{listener.getsockname()[1]}/kwa")
        with pytest.raises(StorageUnavailable) as err:
            create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="manual")
    finally:
        listener.close()
        for conn in accepted:
            conn.close()
    assert time.monotonic() - started < 15
    text = str(err.value)
    assert "connection timeout expired: nothing answered as PostgreSQL within 1 s" in text
    assert "s3cr3t-pw" not in text


def test_unwritable_sqlite_path_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where a directory should be")
    db = Database(f"sqlite:///{blocker / 'kwa.db'}")
    with pytest.raises(StorageUnavailable, match="not-a-directory"):
        _ = db.engine


def test_unopenable_sqlite_file_is_storage_unavailable(tmp_path: Path) -> None:
    (tmp_path / "dir.db").mkdir()  # a directory cannot be opened as a database, even by root
    with pytest.raises(StorageUnavailable, match=r"dir\.db"):
        _ = Database(f"sqlite:///{tmp_path / 'dir.db'}").engine


def test_a_sqlite_lock_held_too_long_says_who_may_hold_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    monkeypatch.setenv("KWA_DB_BUSY_TIMEOUT", "0.2")
    path = tmp_path / "kwa.db"
    with Database(f"sqlite:///{path}") as db:
        _ = db.engine  # migrated before anyone holds the lock
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # a sqlite3 shell with a transaction left open
        try:
            with pytest.raises(StorageUnavailable) as err:
                create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="manual")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert str(err.value).endswith(
        "database is locked: another process held its write lock for longer than kwa waits (0.2 s, "
        "KWA_DB_BUSY_TIMEOUT): a long write elsewhere, or a sqlite3 shell with a transaction open"
    )


def test_invalid_url_is_storage_unavailable() -> None:
    with pytest.raises(StorageUnavailable):
        Database("no-such-scheme://x:pw@y/z").engine  # noqa: B018


# -- migration check, versions, readers --------------------------------------------------------------------


def test_every_upgrade_records_which_kwa_migrated_the_database(db: Database) -> None:
    with db.read() as conn:
        row = conn.execute(sql("SELECT kwa_version, schema_revision FROM kwa_schema WHERE id = 1")).one()
    assert row.kwa_version == dbmod.kwa_version()
    assert row.schema_revision == _head()


def _pretend_newer(db_url: str, revision: str = "0099_from_the_future", version: str = "9.9.0") -> None:
    """What a newer kwa leaves behind: a revision this kwa does not know, recorded with its version."""
    with Database(db_url) as db, db.begin() as conn:
        conn.execute(sql("UPDATE alembic_version SET version_num = :r"), {"r": revision})
        conn.execute(
            sql("UPDATE kwa_schema SET kwa_version = :v, schema_revision = :r"), {"v": version, "r": revision}
        )
    dbmod._migrated.clear()  # as a new process would


def test_a_database_migrated_by_a_newer_kwa_names_both_versions(db_url: str) -> None:
    _pretend_newer(db_url)
    with pytest.raises(dbmod.SchemaTooNew) as caught:
        Database(db_url).engine.dispose()
    message = str(caught.value)
    assert "migrated by kwa 9.9.0 (schema 0099_from_the_future)" in message
    assert f"this kwa {dbmod.kwa_version()} knows schema up to {_head()}" in message
    assert "upgrade kwa" in message
    assert isinstance(caught.value, StorageUnavailable)  # every command already reports these cleanly


def test_a_newer_schema_without_a_recorded_version_still_says_so(db_url: str) -> None:
    with Database(db_url) as db, db.begin() as conn:
        conn.execute(sql("UPDATE alembic_version SET version_num = '0042_unknown'"))
        conn.execute(sql("DELETE FROM kwa_schema"))
    dbmod._migrated.clear()
    with pytest.raises(dbmod.SchemaTooNew, match=r"migrated by a newer kwa \(schema 0042_unknown\)"):
        Database(db_url).engine.dispose()


def test_the_migration_check_never_waits_for_a_writer(tmp_path: Path) -> None:
    """A new process opening an up-to-date database reads its revision without a write lock, so a
    query never waits behind (or fails behind) a run that holds SQLite's write lock."""
    import sqlite3
    import time

    url = f"sqlite:///{tmp_path / 'r.db'}"
    with Database(url) as db:
        create_run(db, scope="full", pillars=[], check_ids=[], cluster_id="c", source="s", trigger="manual")
    writer = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a run in the middle of a write, for longer than the reader's patience
    writer.execute("UPDATE runs SET source = 'being written'")
    try:
        dbmod._migrated.clear()
        started = time.monotonic()
        with Database(url) as reader:
            runs = list_runs(reader)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert [r["source"] for r in runs] == ["s"]  # the last committed state, read beside the writer
    assert elapsed < 5.0, f"the reader waited {elapsed:.1f}s for the writer"


def test_an_old_database_is_migrated_and_recorded(db_url: str) -> None:
    """A database left at an older revision is upgraded on first use, and the upgrade recorded."""
    from alembic import command

    with Database(db_url) as db:
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0003_run_lifecycle")
        assert current_revision(db) == "0003_run_lifecycle"
    dbmod._migrated.clear()
    with Database(db_url) as again:
        assert current_revision(again) == _head()
        with again.read() as conn:
            assert conn.execute(sql("SELECT schema_revision FROM kwa_schema")).scalar_one() == _head()


def test_busy_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KWA_DB_BUSY_TIMEOUT", "1.5")
    assert dbmod.busy_timeout_ms() == 1500
    with Database(f"sqlite:///{tmp_path / 't.db'}") as db, db.engine.connect() as conn:
        assert conn.connection.driver_connection.execute("PRAGMA busy_timeout").fetchone()[0] == 1500
    for bad in ("soon", "-1", "99999"):
        monkeypatch.setenv("KWA_DB_BUSY_TIMEOUT", bad)
        assert dbmod.busy_timeout_ms() == dbmod.SQLITE_BUSY_TIMEOUT_MS

