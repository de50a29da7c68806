"""The alembic revisions create exactly the platform tables that ``xrm.system_tables`` declares."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from xrm.migrate import current_revision, head_revision, is_up_to_date, upgrade
from xrm.system_tables import system_metadata


def test_migrate_is_idempotent_and_reaches_head(engine: Engine) -> None:
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert is_up_to_date(engine)


def test_migrated_schema_matches_declared_tables(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, system_metadata)
                       if not (d[0] == "remove_table" and d[1].name == "xrm_alembic_version")]
    assert differences == []
