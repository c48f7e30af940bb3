"""preflight: manual confirmations ticked by approvers, power guard state

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "manual_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("item_key", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "item_key", name="uq_manual_item"),
    )
    op.create_index("ix_manual_confirmations_request_id", "manual_confirmations",
                    ["request_id"])
    op.create_table(
        "power_watch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("vm_ref", sa.String(length=64), nullable=False),
        sa.Column("vm_name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("warned_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id", "vm_ref", name="uq_power_vm"),
    )
    op.create_index("ix_power_watch_request_id", "power_watch", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_power_watch_request_id", table_name="power_watch")
    op.drop_table("power_watch")
    op.drop_index("ix_manual_confirmations_request_id", table_name="manual_confirmations")
    op.drop_table("manual_confirmations")
