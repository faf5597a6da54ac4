"""reads at volume: the queue's indexes end with the ticket id, its last sort key, so a page
of the queue reads its LIMIT of rows even when many tickets share a due and logging instant

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (old name, new name, old columns): the new index has the id after the old columns.
INDEXES = (
    (
        "ix_tickets_queue_due_logged_at",
        "ix_tickets_queue_due_logged_at_id",
        ["queue_due", "logged_at"],
    ),
    (
        "ix_tickets_owner_id_queue_due",
        "ix_tickets_owner_id_queue_due_id",
        ["owner_id", "queue_due", "logged_at"],
    ),
)


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for old, new, columns in INDEXES:
            batch_op.create_index(new, [*columns, "id"], unique=False)
            batch_op.drop_index(old)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        for old, new, columns in INDEXES:
            batch_op.create_index(old, columns, unique=False)
            batch_op.drop_index(new)
