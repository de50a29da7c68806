"""One transaction for a metadata change: the schema lock taken, and on SQLite foreign keys switched off.

SQLite cannot ALTER most things, so some changes rebuild a table (copy, drop,
rename).  With foreign keys on, dropping the old table would run the ON DELETE
actions of every table pointing at it — cascading deletes of child rows.
SQLite's documented procedure is to switch foreign keys off *before* the
transaction (the pragma is ignored inside one), make the change, run
``PRAGMA foreign_key_check`` before committing, and switch them back on.
PostgreSQL changes its tables in place and keeps foreign keys on.

The metadata version is bumped first thing: app processes take a shared lock
on that row in their write transactions (``xrm.runtime.catalog_cache``), so a
change waits for the writes in flight and new writes wait for the change —
none runs against the old metadata after the tables changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from xrm.db import lock_schema
from xrm.errors import XrmError
from xrm.metadata import store


class ForeignKeysBroken(XrmError):
    def __init__(self, rows: list) -> None:
        super().__init__(f"the change would leave {len(rows)} records pointing at records that do not exist; "
                         "nothing was changed")
        self.rows = rows


@contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for a schema and metadata change (committed when the block ends)."""
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # before BEGIN: the pragma does nothing inside a transaction
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                lock_schema(connection)
                store.bump_metadata_version(connection)
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise ForeignKeysBroken(broken)
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = ON")  # type: ignore[union-attr]
