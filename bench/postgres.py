"""The PostgreSQL server the benchmarks use, and throw-away databases on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

POSTGRES_URL = os.environ.get("XRM_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def unreachable() -> str | None:
    """Why the server cannot be used, or None when it can."""
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return f"no PostgreSQL at {POSTGRES_URL} ({error})"
    return None


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database for one benchmark, dropped afterwards (with any open connections)."""
    name = f"xrm_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
