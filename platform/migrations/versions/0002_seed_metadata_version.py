"""Seed the metadata version row, so bumping it is one atomic UPDATE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_version = sa.table("xrm_metadata_version", sa.column("id", sa.Integer), sa.column("version", sa.BigInteger))


def upgrade() -> None:
    exists = op.get_bind().execute(sa.select(_version.c.id).where(_version.c.id == 1)).first()
    if exists is None:
        op.bulk_insert(_version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.execute(_version.delete().where(_version.c.id == 1))
