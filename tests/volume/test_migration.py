"""Migration 0016 fills the maintained account sums and the queue key of existing rows; 0020
ends the queue's indexes with the ticket id, and goes back."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import Session

from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, current_revision, upgrade
from bot.db.models import NO_PENDING_DUE, Contract, Ticket
from bot.services import ledger
from tests.worker.conftest import PostgresServer, postgres

__all__ = ["postgres"]

AT = "2026-11-20 10:00:00.000000"
ROWS = """
INSERT INTO tenants (id, slug, name, default_locale, zone, created_at)
    VALUES (1, 't', 'T', 'fr', 'Europe/Brussels', :at);
INSERT INTO contracts (id, tenant_id, pack_id, options, active, created_at)
    VALUES (1, 1, 'telenet-hosting-cloud', '{}', 1, :at);
INSERT INTO users (id, handle, display_name, role, notify_outside_hours, created_at)
    VALUES (1, 'u', 'U', 'REQUESTER', 1, :at);
INSERT INTO ledger_entries (tenant_id, contract_id, unit, type, amount, at) VALUES
    (1, 1, 'credits', 'PURCHASE', '40', :at),
    (1, 1, 'credits', 'HOLD', '-2.5', :at),
    (1, 1, 'credits', 'CHARGE', '-1.25', :at);
INSERT INTO tickets (id, reference, tenant_id, contract_id, requester_id, intervention_id,
    kind, priority, status, logged_at, description, details, response_breached,
    resolution_breached, sla_generation, updated_at, response_due, resolution_due,
    responded_at) VALUES
    (1, 'A', 1, 1, 1, 'x', 'incident', 'p1', 'OPEN', :at, '', '{}', 0, 0, 0, :at,
        '2026-11-20 11:00:00.000000', '2026-11-21 10:00:00.000000', NULL),
    (2, 'B', 1, 1, 1, 'x', 'incident', 'p1', 'RESPONDED', :at, '', '{}', 0, 0, 0, :at,
        '2026-11-20 11:00:00.000000', '2026-11-21 10:00:00.000000', :at),
    (3, 'C', 1, 1, 1, 'x', 'incident', 'p1', 'PAUSED', :at, '', '{}', 0, 0, 0, :at,
        NULL, NULL, NULL),
    (4, 'D', 1, 1, 1, 'x', 'incident', 'p1', 'CLOSED', :at, '', '{}', 0, 0, 0, :at,
        '2026-11-20 11:00:00.000000', '2026-11-21 10:00:00.000000', NULL)
"""


def test_0016_backfills_sums_and_queue_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url=url, revision="0008")
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in ROWS.split(";"):
            connection.execute(text(statement), {"at": AT})
    upgrade(url=url)
    with Session(engine) as session:
        contract = session.get(Contract, 1)
        assert contract is not None
        assert contract.ledger_balance == Decimal("38.75")  # holds left out
        assert contract.ledger_available == Decimal("36.25")
        assert ledger.recomputed(session=session, contract_id=1) == (
            Decimal("38.75"),
            Decimal("36.25"),
        )
        keys = {
            t.reference: t.queue_due for t in (session.get(Ticket, i) for i in range(1, 5)) if t
        }
    assert keys == {
        "A": datetime(2026, 11, 20, 11, 0, tzinfo=UTC),
        "B": datetime(2026, 11, 21, 10, 0, tzinfo=UTC),
        "C": NO_PENDING_DUE,
        "D": None,
    }
    engine.dispose()


def _queue_indexes(url: str, rows: int = 4) -> dict[str, list[str | None]]:
    engine = make_engine(url)
    try:
        found = inspect(engine).get_indexes("tickets")
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM tickets")).scalar_one()
        assert count == rows  # the rows survive either way
        assert current_revision(engine=engine) is not None
        return {i["name"]: i["column_names"] for i in found if "queue_due" in i["column_names"]}
    finally:
        engine.dispose()


def test_0020_ends_the_queue_indexes_with_the_id_and_goes_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url=url, revision="0008")
    engine = make_engine(url)
    with engine.begin() as connection:
        for statement in ROWS.split(";"):
            connection.execute(text(statement), {"at": AT})
    engine.dispose()
    upgrade(url=url, revision="0019")
    before = {
        "ix_tickets_queue_due_logged_at": ["queue_due", "logged_at"],
        "ix_tickets_owner_id_queue_due": ["owner_id", "queue_due", "logged_at"],
    }
    assert _queue_indexes(url) == before
    upgrade(url=url)
    assert _queue_indexes(url) == {
        "ix_tickets_queue_due_logged_at_id": ["queue_due", "logged_at", "id"],
        "ix_tickets_owner_id_queue_due_id": ["owner_id", "queue_due", "logged_at", "id"],
    }
    command.downgrade(alembic_config(url), "0019")
    assert _queue_indexes(url) == before
    upgrade(url=url)
    assert "ix_tickets_queue_due_logged_at_id" in _queue_indexes(url)


def test_0020_goes_back_and_forth_on_postgresql(postgres: PostgresServer) -> None:
    url = postgres.new_database()  # at the head
    new = {
        "ix_tickets_queue_due_logged_at_id": ["queue_due", "logged_at", "id"],
        "ix_tickets_owner_id_queue_due_id": ["owner_id", "queue_due", "logged_at", "id"],
    }
    assert _queue_indexes(url, rows=0) == new
    command.downgrade(alembic_config(url), "0019")
    assert _queue_indexes(url, rows=0) == {
        "ix_tickets_queue_due_logged_at": ["queue_due", "logged_at"],
        "ix_tickets_owner_id_queue_due": ["owner_id", "queue_due", "logged_at"],
    }
    upgrade(url=url)
    assert _queue_indexes(url, rows=0) == new
