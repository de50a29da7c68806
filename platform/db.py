"""Database engines: SQLite by default, PostgreSQL when ``DATABASE_URL`` says so."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from xrm.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///xrm.db"


def database_url() -> str:
    """The configured database URL (``DATABASE_URL``, else an SQLite file in the working folder)."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def _normalise(url: str) -> str:
    """Let people write ``postgresql://`` and still get the psycopg 3 driver we ship."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


#: Key of the PostgreSQL advisory lock held while the schema or the installed metadata changes.
SCHEMA_LOCK_KEY = 7_382_000_001


def lock_schema(connection: Connection) -> None:
    """Serialize schema and metadata changes across processes, until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock.  SQLite: every transaction
    already holds the write lock from its start (BEGIN IMMEDIATE).
    """
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(SCHEMA_LOCK_KEY)))


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unreadable database URL>"


def database_exists(url: str) -> bool:
    """False for an SQLite file that is not there yet (so read-only commands do not create it)."""
    try:
        parsed = make_url(_normalise(url))
    except ArgumentError:
        return True  # make_engine reports the bad URL
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return True
    return Path(parsed.database).exists()


#: Execution option marking a connection that only reads (SQLite then skips the up-front write lock).
READ_ONLY_OPTION = "xrm_read_only"


def dialect_insert(connection: Connection):  # noqa: ANN201 - the dialect's insert construct
    """``insert`` of the connection's dialect, which has ``on_conflict_do_update`` / ``do_nothing``."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert if connection.dialect.name == "postgresql" else sqlite_insert


def read_only(connection: Connection) -> Connection:
    """``connection`` marked as only reading; use before its first statement."""
    return connection.execution_options(**{READ_ONLY_OPTION: True})


def make_engine(url: str | None = None, **kwargs) -> Engine:  # noqa: ANN003
    """An engine for ``url`` with the platform's connection settings applied."""
    try:
        url = _normalise(url or database_url())
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"'{url}' is not a database URL (examples: sqlite:///xrm.db, postgresql://user@host:5432/name)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _make_sqlite_transactional(engine: Engine) -> None:
    """Make SQLite honour transactions for DDL too, and enforce foreign keys.

    Python's sqlite3 driver only opens a transaction before INSERT/UPDATE/
    DELETE, so a CREATE TABLE would commit on its own and a failed pack install
    would leave half its tables behind.  Taking transaction control away from
    the driver and emitting BEGIN ourselves (the recipe in SQLAlchemy's SQLite
    dialect documentation) makes CREATE TABLE/INDEX roll back with everything
    else: SQLite's DDL is transactional, only the driver was in the way.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        # IMMEDIATE takes the write lock up front: a transaction that reads and then writes
        # would otherwise fail with "database is locked" when another one wrote in between
        # (busy_timeout cannot help a deferred transaction upgrade its lock).  Connections
        # opened with read_only() only read, so they take no write lock and run side by side.
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
