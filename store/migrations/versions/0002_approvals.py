"""approvals: permalink of the request message, item locks

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("permalink", sa.String(length=512), nullable=True))
    op.create_table(
        "item_locks",
        sa.Column("item_key", sa.String(length=1024), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("item_key"),
    )
    op.create_index("ix_item_locks_request_id", "item_locks", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_item_locks_request_id", table_name="item_locks")
    op.drop_table("item_locks")
    with op.batch_alter_table("requests") as batch:
        batch.drop_column("permalink")
