"""replies: the reply to an inbox event is stored with its handled mark, until it is sent

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-02 01:30:00

`inbound_updates.reply` holds the core's outcome, written in the transaction that marks the
row handled; `replied_at` says the channel sent it (or gave it up). Rows handled before this
revision count as replied.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0018"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = bot.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reply", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("replied_at", STAMP, nullable=True))
        batch_op.create_index(
            "ix_inbound_updates_unreplied", ["replied_at", "parked_at", "chat_key"]
        )
    inbound = sa.table(
        "inbound_updates",
        sa.column("processed_at", STAMP),
        sa.column("replied_at", STAMP),
    )
    op.execute(
        inbound.update()
        .where(inbound.c.processed_at.is_not(None))
        .values(replied_at=inbound.c.processed_at)
    )


def downgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_updates_unreplied")
        batch_op.drop_column("replied_at")
        batch_op.drop_column("reply")
