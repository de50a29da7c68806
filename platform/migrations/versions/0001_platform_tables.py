"""Platform tables: users, roles, installed packs, metadata, schema history, sequences.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.sqltypes import RecordId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xrm_users",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("username", name="uq_xrm_users_username"),
    )
    op.create_table(
        "xrm_user_roles",
        sa.Column("user_id", RecordId, sa.ForeignKey("xrm_users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(63), primary_key=True),
    )
    op.create_table(
        "xrm_packs",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("installed_at", UTCDateTime(), nullable=False),
        sa.Column("installed_by", sa.String(150), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "xrm_metadata",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("pack", sa.String(63), sa.ForeignKey("xrm_packs.name", ondelete="CASCADE"), nullable=False),
        sa.Column("layer", sa.String(20), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("kind", "name", "layer", name="uq_xrm_metadata_kind_name_layer"),
    )
    op.create_table(
        "xrm_schema_history",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("pack", sa.String(63), nullable=False),
        sa.Column("pack_version", sa.String(40), nullable=False),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("applied_at", UTCDateTime(), nullable=False),
        sa.Column("applied_by", sa.String(150), nullable=False),
    )
    op.create_table(
        "xrm_sequences",
        sa.Column("name", sa.String(130), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "xrm_metadata_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in ("xrm_metadata_version", "xrm_sequences", "xrm_schema_history", "xrm_metadata",
                  "xrm_packs", "xrm_user_roles", "xrm_users"):
        op.drop_table(table)
