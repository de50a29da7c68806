"""Access and audit: teams, API tokens, the audit log and platform settings.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.sqltypes import RecordId, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xrm_teams",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.UniqueConstraint("name", name="uq_xrm_teams_name"),
    )
    op.create_table(
        "xrm_team_members",
        sa.Column("team_id", RecordId, sa.ForeignKey("xrm_teams.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", RecordId, sa.ForeignKey("xrm_users.id", ondelete="CASCADE"), primary_key=True),
    )
    op.create_index("ix_xrm_team_members_user_id", "xrm_team_members", ["user_id"])
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


def downgrade() -> None:
    for table in ("xrm_settings", "xrm_audit", "xrm_api_tokens", "xrm_team_members", "xrm_teams"):
        op.drop_table(table)
