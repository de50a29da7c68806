"""Alembic environment for the platform's own tables.

Run through ``xrm migrate`` (``xrm.migrate.upgrade``), which hands over an open
connection; there is no alembic.ini.
"""

from __future__ import annotations

from alembic import context

from xrm.migrate import VERSION_TABLE
from xrm.system_tables import system_metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=system_metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
