"""Durable timers: time-based work (approval expiry, later the rules' time triggers) as rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.sqltypes import RecordId, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xrm_timers",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(63), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("fired_at", UTCDateTime()),
        sa.UniqueConstraint("kind", "key", name="uq_xrm_timers_kind_key"),
    )
    op.create_index("ix_xrm_timers_status_due_at", "xrm_timers", ["status", "due_at", "id"])


def downgrade() -> None:
    op.drop_table("xrm_timers")
