"""List views saved in the app, personal or shared.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.sqltypes import RecordId, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xrm_saved_views",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("owner_id", RecordId, sa.ForeignKey("xrm_users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("shared", sa.Boolean, nullable=False),
        sa.Column("columns", sa.JSON, nullable=False),
        sa.Column("filter", sa.Text),
        sa.Column("sort", sa.String(255)),
        sa.Column("q", sa.String(255)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("entity", "owner_id", "name", name="uq_xrm_saved_views_entity_owner_id_name"),
    )


def downgrade() -> None:
    op.drop_table("xrm_saved_views")
