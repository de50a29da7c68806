"""CSV import jobs and the rows they refused.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from xrm.metadata.sqltypes import RecordId, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xrm_import_jobs",
        sa.Column("id", RecordId, primary_key=True, autoincrement=True),
        sa.Column("entity", sa.String(63), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("encoding", sa.String(40), nullable=False),
        sa.Column("content", sa.LargeBinary),
        sa.Column("settings", sa.JSON),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("total_rows", sa.Integer, nullable=False),
        sa.Column("last_row", sa.Integer, nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("runner", sa.String(255)),
        sa.Column("user_id", RecordId, sa.ForeignKey("xrm_users.id", ondelete="SET NULL")),
        sa.Column("actor", sa.String(150), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Index("ix_xrm_import_jobs_entity_checksum", "entity", "checksum"),
    )
    op.create_table(
        "xrm_import_errors",
        sa.Column("job_id", RecordId, sa.ForeignKey("xrm_import_jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("row", sa.Integer, primary_key=True),
        sa.Column("cells", sa.JSON, nullable=False),
        sa.Column("errors", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("xrm_import_errors")
    op.drop_table("xrm_import_jobs")
