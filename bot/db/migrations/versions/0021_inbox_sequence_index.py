"""inbox order: a channel's rows by platform sequence, so the claim finds where a gap-free
sequence (Telegram's update ids) is complete without reading the retained rows

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_inbound_updates_channel_seq"


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.create_index(INDEX, ["channel", "seq", "received_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_index(INDEX)
