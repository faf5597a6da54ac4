"""dropped notifications: the PostgreSQL enum type gets the DROPPED status

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-01 23:45:00

`NotificationStatus.DROPPED` (a recipient deactivated, unlinked or moved before the message
went out) was added to the model without extending PostgreSQL's native enum type, so the
retention pass and offboarding failed there. SQLite stores the names as text: nothing to do.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE notificationstatus ADD VALUE IF NOT EXISTS 'DROPPED'")


def downgrade() -> None:
    # PostgreSQL cannot remove a value from an enum type; an unused value is harmless.
    pass
