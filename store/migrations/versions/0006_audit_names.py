"""audit names: the actor's and the channel's name on each audit event, and the names table

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(length=255),
                                   nullable=False, server_default=""))
        batch.add_column(sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=False, server_default=""))
        batch.add_column(sa.Column("channel_name",
                                   sqlmodel.sql.sqltypes.AutoString(length=255),
                                   nullable=False, server_default=""))
    op.create_table(
        "slack_names",
        sa.Column("slack_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("slack_id"),
    )


def downgrade() -> None:
    op.drop_table("slack_names")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("channel_name")
        batch.drop_column("channel_id")
        batch.drop_column("actor_name")
