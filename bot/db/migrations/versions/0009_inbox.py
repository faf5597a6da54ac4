"""inbox: claimable inbound rows (order per chat, leases, attempts, parking); open questions

Revision ID: 0009
Revises: 0013
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0009"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMP = bot.db.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chat_key", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("lease_until", STAMP, nullable=True))
        batch_op.add_column(sa.Column("parked_at", STAMP, nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("reported_at", STAMP, nullable=True))
        batch_op.create_index(
            "ix_inbound_updates_pending", ["processed_at", "parked_at", "chat_key"]
        )
    # Rows stored before the inbox have no chat: they are parked, for an operator to retry.
    inbound = sa.table(
        "inbound_updates",
        sa.column("id", sa.Integer()),
        sa.column("channel", sa.String()),
        sa.column("chat_key", sa.String()),
        sa.column("processed_at", STAMP),
        sa.column("parked_at", STAMP),
        sa.column("reported_at", STAMP),
        sa.column("last_error", sa.String()),
    )
    now = datetime.now(UTC)
    op.execute(
        inbound.update()
        .where(inbound.c.processed_at.is_(None))
        .values(
            chat_key=inbound.c.channel
            + sa.literal(":legacy:")
            + sa.cast(inbound.c.id, sa.String()),
            parked_at=now,
            reported_at=now,
            last_error="stored before the inbox existed",
        )
    )
    op.create_table(
        "open_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=120), nullable=False),
        sa.Column("user_key", sa.String(length=120), nullable=False),
        sa.Column("message_id", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False, server_default=""),
        sa.Column("updated_at", STAMP, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "chat_id", "user_key"),
    )


def downgrade() -> None:
    op.drop_table("open_questions")
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_updates_pending")
        for name in (
            "reported_at",
            "last_error",
            "parked_at",
            "lease_until",
            "claim_token",
            "failures",
            "attempts",
            "seq",
            "chat_key",
        ):
            batch_op.drop_column(name)
