"""Alembic environment for kwa's storage.

Used two ways:

* in code, by :func:`storage.db.upgrade`, which passes an open connection (already inside the
  locked write transaction) as ``config.attributes["connection"]``;
* from the command line, ``alembic -c storage/alembic.ini upgrade head``, which opens
  ``KWA_DATABASE_URL`` (or the per-user SQLite default) through :class:`storage.db.Database`
  with ``migrate=False`` and runs the same locked upgrade.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from storage.models import SQLModel

config = context.config
target_metadata = SQLModel.metadata
_TABLES = {"runs", "assessments", "assessment_history", "kwa_schema", "result_contents", "archived_runs", "api_tokens"}

if config.config_file_name and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", None)
    return table_name in _TABLES if table_name else True


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    with context.begin_transaction():
        before = context.get_context().get_current_revision()
        context.run_migrations()
        after = context.get_context().get_current_revision()
        if after != before:
            # Every upgrade records which kwa did it, so an older kwa can name the version it needs.
            from storage.db import record_schema

            record_schema(connection, after)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from storage.db import _PG_MIGRATION_LOCK, Database

    url = config.get_main_option("sqlalchemy.url") or None
    db = Database(url, migrate=False)
    try:
        with db.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            _run(conn)
    finally:
        db.dispose()


def run_migrations_offline() -> None:
    from storage.db import default_database_url

    context.configure(
        url=config.get_main_option("sqlalchemy.url") or default_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
