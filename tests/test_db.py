"""Database engines: SQLite with foreign keys and transactional DDL, URL normalisation, database_exists."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from xrm.db import DEFAULT_DATABASE_URL, _normalise, database_exists, database_url, make_engine


def sqlite_tables(url: str) -> set[str]:
    """Table names as a separate, plain sqlite3 connection sees them (nothing cached by SQLAlchemy)."""
    with sqlite3.connect(make_url(url).database) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        connection.exec_driver_sql("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))")
        connection.exec_driver_sql("INSERT INTO parent (id) VALUES (1)")
        connection.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (1, 1)")
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO child (id, parent_id) VALUES (2, 99)")
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM parent WHERE id = 1")


def test_sqlite_connections_have_foreign_keys_wal_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                        for name in ("foreign_keys", "journal_mode", "busy_timeout")]
    finally:
        engine.dispose()
    assert settings == [1, "wal", 5000]


def test_ddl_rolls_back_with_the_transaction(engine: Engine) -> None:
    """A failure after CREATE TABLE/INDEX leaves no table behind (on SQLite too)."""
    with pytest.raises(RuntimeError, match="boom"), engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE doomed (id INTEGER PRIMARY KEY, name VARCHAR(20))")
        connection.exec_driver_sql("CREATE INDEX ix_doomed_name ON doomed (name)")
        connection.exec_driver_sql("INSERT INTO doomed (id, name) VALUES (1, 'x')")
        assert "doomed" in inspect(connection).get_table_names()
        raise RuntimeError("boom")
    assert "doomed" not in inspect(engine).get_table_names()


def test_ddl_rolls_back_on_a_raw_connection(sqlite_url: str) -> None:
    """The driver's own connection must not commit before DDL behind the transaction's back."""
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
            connection.commit()
            connection.exec_driver_sql("CREATE TABLE doomed (id INTEGER PRIMARY KEY)")
            connection.exec_driver_sql("DROP TABLE kept")
            assert sqlite_tables(sqlite_url) == {"kept"}  # nothing visible outside the open transaction
            connection.rollback()
        assert sqlite_tables(sqlite_url) == {"kept"}
    finally:
        engine.dispose()


def test_commit_makes_ddl_visible(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE made (id INTEGER PRIMARY KEY)")
    finally:
        engine.dispose()
    assert sqlite_tables(sqlite_url) == {"made"}


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://xrm@db.example/xrm", "postgresql+psycopg"),
        ("postgres://xrm@db.example/xrm", "postgresql+psycopg"),
        ("postgresql+psycopg://xrm@db.example/xrm", "postgresql+psycopg"),
    ],
)
def test_postgresql_urls_get_the_psycopg_3_driver(url: str, driver: str) -> None:
    engine = make_engine(url)  # creating an engine does not connect
    try:
        assert engine.url.drivername == driver
        assert (engine.url.username, engine.url.host, engine.url.database) == ("xrm", "db.example", "xrm")
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        ("postgresql://xrm@db/xrm", "postgresql+psycopg://xrm@db/xrm"),
        ("postgres://xrm@db/xrm", "postgresql+psycopg://xrm@db/xrm"),
        ("postgresql+psycopg2://xrm@db/xrm", "postgresql+psycopg2://xrm@db/xrm"),  # an explicit driver is respected
        ("sqlite:///xrm.db", "sqlite:///xrm.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalise(url: str, normalised: str) -> None:
    assert _normalise(url) == normalised


def test_normalising_keeps_the_password_port_and_query() -> None:
    engine = make_engine("postgresql://xrm:p%40ss%2Fw0rd@db.example:6543/xrm?sslmode=require")
    try:
        url = engine.url
        assert (url.drivername, url.password, url.port, dict(url.query)) == (
            "postgresql+psycopg", "p@ss/w0rd", 6543, {"sslmode": "require"},
        )
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_plain_postgresql_url_connects(postgres_url: str) -> None:
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    engine = make_engine(plain)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_sqlite_url_stays_sqlite_and_its_folder_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'xrm.db'}"
    engine = make_engine(url)
    try:
        assert engine.url.drivername == "sqlite"
        assert (tmp_path / "deep" / "er").is_dir()
    finally:
        engine.dispose()


def test_in_memory_sqlite() -> None:
    engine = make_engine("sqlite://")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_database_exists_for_sqlite_only_once_the_file_is_there(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'xrm.db'}"
    assert database_exists(url) is False
    assert not (tmp_path / "xrm.db").exists()  # asking does not create it
    (tmp_path / "xrm.db").touch()
    assert database_exists(url) is True


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "postgresql://postgres@127.0.0.1:1/nowhere", "postgres://u@h/db"],
)
def test_database_exists_assumes_in_memory_and_server_databases_exist(url: str) -> None:
    assert database_exists(url) is True


def test_database_exists_for_a_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert database_exists("sqlite:///here.db") is False
    (tmp_path / "here.db").touch()
    assert database_exists("sqlite:///here.db") is True


@pytest.mark.parametrize(("value", "expected"), [(None, DEFAULT_DATABASE_URL), ("", DEFAULT_DATABASE_URL),
                                                 ("postgresql://x@y/z", "postgresql://x@y/z")])
def test_database_url_reads_the_environment(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str) -> None:
    if value is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", value)
    assert database_url() == expected


def test_default_database_is_an_sqlite_file_in_the_working_folder() -> None:
    assert DEFAULT_DATABASE_URL == "sqlite:///xrm.db"
