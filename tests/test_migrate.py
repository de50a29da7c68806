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
    if engine.dialect.name == "sqlite":
        differences = _without_inline_reference_noise(differences)
    assert differences == []


def _fk_key(constraint) -> tuple:  # noqa: ANN001
    return (constraint.table.name, tuple(c.name for c in constraint.columns), constraint.referred_table.name)


def _without_inline_reference_noise(differences: list) -> list:
    """Drop remove/add pairs for the same foreign key.

    Revision 0003 adds columns to ``xrm_users`` with an inline ``CONSTRAINT name
    REFERENCES ... ON DELETE SET NULL`` (SQLite cannot add a table constraint), and
    SQLAlchemy's SQLite reflection reads such keys without their name and ON DELETE.
    The key itself (columns and target) must still match exactly.
    """
    removed = {_fk_key(d[1]) for d in differences if d[0] == "remove_fk"}
    added = {_fk_key(d[1]) for d in differences if d[0] == "add_fk"}
    both = removed & added
    return [d for d in differences if not (d[0] in ("remove_fk", "add_fk") and _fk_key(d[1]) in both)]
