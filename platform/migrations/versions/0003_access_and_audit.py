"""Organization model, access and audit: users as entity records, teams, queues, business calendars,
API tokens, the audit log and platform settings.

The organization tables are created from their entity definitions
(``xrm.metadata.org``), exactly as a pack install would create an entity table;
``test_migrate`` checks the result against ``xrm.system_tables``.  A later change
to those definitions needs a revision of its own.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.org import ORG_ENTITIES
from xrm.metadata.sqltypes import RecordId, UTCDateTime
from xrm.metadata.tables import ENTITY_TABLE_OPTIONS, entity_table, field_indexes, table_items

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


#: Columns the ``user`` entity adds to the sign-in table of revision 0001.
_USER_COLUMNS = ("version", "created_by", "updated_at", "updated_by", "owner_id", "owner_queue_id", "manager",
                 "time_zone", "calendar", "out_of_office_from", "out_of_office_to")
#: Created in this order, so every foreign key finds its table.
_ORG_ORDER = ("queue", "queue_member", "business_calendar", "calendar_holiday", "team", "team_member",
              "user_capacity", "approval_request", "notification")


def upgrade() -> None:
    bind = op.get_bind()
    org = {e.name: e for e in ORG_ENTITIES}
    for name in _ORG_ORDER:
        entity = org[name]
        op.create_table(entity.table_name, *table_items(entity), **ENTITY_TABLE_OPTIONS)
        for index in field_indexes(entity):
            op.create_index(index.name, entity.table_name, _columns(index))
    _extend_users(bind, org["user"])
    op.create_table(
        "xrm_api_tokens",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("user_id", RecordId, sa.ForeignKey("xrm_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
        sa.UniqueConstraint("token_hash", name="uq_xrm_api_tokens_token_hash"),
    )
    op.create_table(
        "xrm_audit",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("record_id", RecordId, nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("record_version", sa.Integer, nullable=False),
        sa.Column("actor_id", RecordId),
        sa.Column("actor", sa.String(150), nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_xrm_audit_entity_record_id", "xrm_audit", ["entity", "record_id"])
    op.create_table(
        "xrm_settings",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def _columns(index: sa.Index) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in index.expressions]


def _extend_users(bind: sa.Connection, user: object) -> None:
    """Add the entity's columns to ``xrm_users``; existing users get version 1 and their creation time."""
    user_table = sa.MetaData()
    columns = {c.name: c for c in entity_table(user, user_table).columns}  # type: ignore[arg-type]
    for name in _USER_COLUMNS:
        column = columns[name]
        if bind.dialect.name == "sqlite":
            # SQLite adds a column with a REFERENCES clause natively; alembic would insist on a table copy
            ddl = sa.schema.CreateColumn(column._copy()).compile(dialect=bind.dialect)
            reference = next(iter(column.foreign_keys), None)
            text = f"ALTER TABLE xrm_users ADD COLUMN {ddl}"
            if name == "updated_at":
                text += " DEFAULT '1970-01-01 00:00:00.000000'"
            if reference is not None:
                target = reference.target_fullname.split(".")[0]
                constraint = reference.constraint
                ondelete = constraint.ondelete if constraint is not None else reference.ondelete
                text += f" CONSTRAINT {constraint.name if constraint is not None else reference.name} REFERENCES {target} (id)"
                text += f" ON DELETE {ondelete}" if ondelete else ""
            op.execute(text)
        else:
            copy = column._copy()
            if name == "updated_at":
                copy.server_default = sa.text("CURRENT_TIMESTAMP")
            op.add_column("xrm_users", copy)
            for reference in column.foreign_keys:
                constraint = reference.constraint
                op.create_foreign_key(constraint.name if constraint is not None else reference.name, "xrm_users",
                                      reference.target_fullname.split(".")[0], [name], ["id"],
                                      ondelete=constraint.ondelete if constraint is not None else reference.ondelete)
            if name == "updated_at":
                op.alter_column("xrm_users", "updated_at", server_default=None)
    op.execute("UPDATE xrm_users SET updated_at = created_at")
    for index in field_indexes(user):  # type: ignore[arg-type]
        op.create_index(index.name, "xrm_users", _columns(index))


def downgrade() -> None:
    for table in ("xrm_settings", "xrm_audit", "xrm_api_tokens"):
        op.drop_table(table)
    for index in field_indexes(next(e for e in ORG_ENTITIES if e.name == "user")):
        op.drop_index(index.name, "xrm_users")
    with op.batch_alter_table("xrm_users") as batch:
        for name in reversed(_USER_COLUMNS):
            batch.drop_column(name)
    org = {e.name: e for e in ORG_ENTITIES}
    for name in reversed(_ORG_ORDER):
        op.drop_table(org[name].table_name)
