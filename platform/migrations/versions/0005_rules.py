"""The rules engine's tables: decision trace, round-robin cursors, e-mail outbox, public-pool protections.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.sqltypes import RecordId, UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xrm_rule_trace",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("record_id", RecordId, nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("pack", sa.String(63), nullable=False),
        sa.Column("trigger", sa.String(255), nullable=False),
        sa.Column("fired", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("seen", sa.JSON, nullable=False),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(150), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_xrm_rule_trace_entity_record_id", "xrm_rule_trace", ["entity", "record_id"])
    op.create_table(
        "xrm_assignment_cursors",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("last_user_id", RecordId),
        sa.Column("assigned", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "xrm_outbox",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("to_user_id", RecordId, sa.ForeignKey("xrm_users.id", ondelete="SET NULL")),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("entity", sa.String(63)),
        sa.Column("record_id", RecordId),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime()),
    )
    op.create_index("ix_xrm_outbox_status", "xrm_outbox", ["status", "id"])
    op.create_table(
        "xrm_pool_protections",
        sa.Column("entity", sa.String(63), primary_key=True),
        sa.Column("record_id", RecordId, primary_key=True),
        sa.Column("user_id", RecordId, primary_key=True),
        sa.Column("until", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("xrm_pool_protections", "xrm_outbox", "xrm_assignment_cursors", "xrm_rule_trace"):
        op.drop_table(table)
