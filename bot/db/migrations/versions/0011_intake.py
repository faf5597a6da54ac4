"""intake: the detail question a draft is at; a ticket's quote (on-quote requests)

Revision ID: 0011
Revises: 0016
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0011"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detail_at", sa.String(length=60), nullable=True))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("quote_amount", bot.db.types.DecimalText(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("quote_unit", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("quote_text", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("quote_status", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("quote_status")
        batch_op.drop_column("quote_text")
        batch_op.drop_column("quote_unit")
        batch_op.drop_column("quote_amount")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("detail_at")
