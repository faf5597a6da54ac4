"""claims and certificates: the renewal ticket a certificate reminder opened

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_ticket_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_certificates_renewal_ticket_id_tickets", "tickets", ["renewal_ticket_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_constraint("fk_certificates_renewal_ticket_id_tickets", type_="foreignkey")
        batch_op.drop_column("renewal_ticket_id")
