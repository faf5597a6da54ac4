"""contract desk: a pause's stop-clock cause and the targets it stops

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-09 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_pauses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cause", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("stops", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ticket_pauses", schema=None) as batch_op:
        batch_op.drop_column("stops")
        batch_op.drop_column("cause")
