"""agent desk: ticket owner and creator; staff drafts (requester, logging instant, work time)

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("created_by_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_tickets_owner_id", ["owner_id"], unique=False)
        batch_op.create_foreign_key("fk_tickets_owner_id_users", "users", ["owner_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_tickets_created_by_id_users", "users", ["created_by_id"], ["id"]
        )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requester_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("logged_at", bot.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("work_minutes", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_conversations_requester_id_users", "users", ["requester_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversations_requester_id_users", type_="foreignkey")
        batch_op.drop_column("work_minutes")
        batch_op.drop_column("logged_at")
        batch_op.drop_column("requester_id")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint("fk_tickets_created_by_id_users", type_="foreignkey")
        batch_op.drop_constraint("fk_tickets_owner_id_users", type_="foreignkey")
        batch_op.drop_index("ix_tickets_owner_id")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("owner_id")
