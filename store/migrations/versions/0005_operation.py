"""operation: requests and runs name their Site Recovery operation (reprotect before)

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("requests", "runs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("operation", sqlmodel.sql.sqltypes.AutoString(length=32),
                                       nullable=False,
                                       server_default="reprotect"))


def downgrade() -> None:
    for table in ("runs", "requests"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("operation")
