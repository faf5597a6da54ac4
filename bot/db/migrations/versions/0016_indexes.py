"""speed at volume: maintained account sums on contracts, and the indexes the reads need

Revision ID: 0016
Revises: 0010
Create Date: 2026-12-01 22:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0016"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOLD_TYPES = ("HOLD", "RELEASE")  # enums are stored by name
OPEN_STATUSES = ("OPEN", "RESPONDED", "PAUSED")  # enums are stored by name
NO_PENDING_DUE = datetime(9999, 12, 31, tzinfo=UTC)  # as bot.db.models.NO_PENDING_DUE


def upgrade() -> None:
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ledger_balance", sa.String(length=40), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("ledger_available", sa.String(length=40), nullable=False, server_default="0")
        )
    _backfill_sums()
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queue_due", bot.db.types.UTCDateTime(timezone=True), nullable=True)
        )
    _backfill_queue_due()
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_status_logged_at", ["status", "logged_at"], unique=False)
        batch_op.create_index(
            "ix_tickets_queue_due_logged_at", ["queue_due", "logged_at"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_owner_id_queue_due", ["owner_id", "queue_due", "logged_at"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_tenant_id_logged_at", ["tenant_id", "logged_at"], unique=False
        )
        batch_op.create_index(
            "ix_tickets_requester_id_logged_at", ["requester_id", "logged_at"], unique=False
        )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_contract_id_at", ["contract_id", "at"], unique=False
        )


def _backfill_sums() -> None:
    """Each account's sums from its entries, in exact decimals (never the database's floats)."""
    bind = op.get_bind()
    sums: dict[int, list[Decimal]] = {}
    rows = bind.execute(sa.text("SELECT contract_id, type, amount FROM ledger_entries"))
    for contract_id, kind, amount in rows:
        both = sums.setdefault(contract_id, [Decimal(0), Decimal(0)])
        value = Decimal(amount)
        both[1] += value
        if kind not in HOLD_TYPES:
            both[0] += value
    update = sa.text(
        "UPDATE contracts SET ledger_balance = :balance, ledger_available = :available "
        "WHERE id = :id"
    )
    for contract_id, (balance, available) in sums.items():
        bind.execute(
            update, {"id": contract_id, "balance": str(balance), "available": str(available)}
        )


def _backfill_queue_due() -> None:
    """Each open ticket's queue key: the response's due until met, then the resolution's."""
    instant = bot.db.types.UTCDateTime(timezone=True)
    tickets = sa.table(
        "tickets",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("responded_at", instant),
        sa.column("response_due", instant),
        sa.column("resolution_due", instant),
        sa.column("queue_due", instant),
    )
    bind = op.get_bind()
    query = sa.select(
        tickets.c.id, tickets.c.responded_at, tickets.c.response_due, tickets.c.resolution_due
    ).where(sa.cast(tickets.c.status, sa.String).in_(OPEN_STATUSES))
    for ticket_id, responded_at, response_due, resolution_due in bind.execute(query).all():
        if responded_at is None and response_due is not None:
            due = response_due
        else:
            due = resolution_due or NO_PENDING_DUE
        bind.execute(tickets.update().where(tickets.c.id == ticket_id).values(queue_due=due))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_contract_id_at")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_requester_id_logged_at")
        batch_op.drop_index("ix_tickets_tenant_id_logged_at")
        batch_op.drop_index("ix_tickets_owner_id_queue_due")
        batch_op.drop_index("ix_tickets_queue_due_logged_at")
        batch_op.drop_index("ix_tickets_status_logged_at")
        batch_op.drop_column("queue_due")
    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_column("ledger_available")
        batch_op.drop_column("ledger_balance")
