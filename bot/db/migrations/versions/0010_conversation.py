"""conversation on tickets: attachments, satisfaction, files carried by notifications

Revision ID: 0010
Revises: 0017
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("file_id", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("mime", sa.String(length=120), nullable=True),
        sa.Column("permalink", sa.String(length=500), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_attachments_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ticket_events.id"], name="fk_ticket_attachments_event_id_ticket_events"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_ticket_attachments_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_attachments"),
    )
    op.create_index(
        "ix_ticket_attachments_ticket_id", "ticket_attachments", ["ticket_id"], unique=False
    )
    op.create_table(
        "ticket_satisfaction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.String(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name="fk_ticket_satisfaction_ticket_id_tickets"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_ticket_satisfaction_user_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_satisfaction"),
        sa.UniqueConstraint("ticket_id", name="uq_ticket_satisfaction_ticket_id"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("attachments", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    op.drop_table("ticket_satisfaction")
    op.drop_index("ix_ticket_attachments_ticket_id", table_name="ticket_attachments")
    op.drop_table("ticket_attachments")
