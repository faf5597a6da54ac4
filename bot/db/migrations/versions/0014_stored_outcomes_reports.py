"""stored outcomes and reports: each target's outcome and at-risk instant on the ticket, files
sent with outbox messages

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OUTCOME_BACKFILL = [
    f"UPDATE tickets SET {target}_outcome = CASE"  # noqa: S608 - fixed column names
    f" WHEN {target}_due IS NULL THEN NULL"
    f" WHEN {target}_breached THEN 'breached'"
    f" WHEN {met} IS NOT NULL THEN 'met'"
    " ELSE 'open' END"
    for target, met in (
        ("response", "COALESCE(responded_at, resolved_at)"),
        ("resolution", "resolved_at"),
    )
]


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response_outcome", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("resolution_outcome", sa.String(length=12), nullable=True))
        batch_op.add_column(
            sa.Column("response_risk_at", bot.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("resolution_risk_at", bot.db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_tickets_contract_logged", ["contract_id", "logged_at"])
    # Existing tickets: the outcome follows from the stored due, met and breach columns. Their
    # at-risk instants are filled by `supportbot db upgrade` (it rebuilds open tickets' clocks).
    for statement in OUTCOME_BACKFILL:
        op.execute(statement)
    op.create_table(
        "notification_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("mime", sa.String(length=60), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_files_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_files")),
    )
    with op.batch_alter_table("notification_files", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_files_notification_id"), ["notification_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_files_notification_id"))
    op.drop_table("notification_files")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_contract_logged")
        batch_op.drop_column("resolution_risk_at")
        batch_op.drop_column("response_risk_at")
        batch_op.drop_column("resolution_outcome")
        batch_op.drop_column("response_outcome")
