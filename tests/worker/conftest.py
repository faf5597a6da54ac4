"""Worker fixtures: demo data, a manual clock, ticket helpers, and a PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract, MilestoneRow, Notification, Ticket
from bot.services import demo, tickets, users
from bot.settings import Settings
from bot.worker.clock import ManualClock
from tests.wording_scan import assert_wording
from tests.worker.pg import PostgresServer, start_postgres

# Monday 23 November 2026, 09:00 in Brussels: inside every pack's window.
MONDAY_0900 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def start() -> datetime:
    """The instant the tests' tickets are logged."""
    return MONDAY_0900


@pytest.fixture
def clock(start: datetime) -> ManualClock:
    """The worker's clock, moved by the test."""
    return ManualClock(start)


@pytest.fixture
def console_log(tmp_path: Path) -> Path:
    """Where console messages go in log mode."""
    return tmp_path / "console.jsonl"


@pytest.fixture
def settings(console_log: Path) -> Settings:
    """Settings without .env; console messages are written to a log by the worker."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        console_delivery="log",
        console_log_path=console_log,
        worker_max_sleep_seconds=30,
    )


@pytest.fixture
def seeded(engine: Engine, start: datetime) -> Engine:
    """The per-test database with the demo tenant, contracts and people."""
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
    return engine


def open_ticket(
    engine: Engine,
    *,
    pack_id: str,
    intervention: str,
    priority: str,
    now: datetime,
    kind: str = "incident",
    handle: str = "demo-requester",
) -> Ticket:
    """Open a ticket as a demo user, in its own transaction."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        contract = session.exec(
            select(Contract).where(Contract.pack_id == pack_id, Contract.active == True)  # noqa: E712
        ).one()
        return tickets.open_ticket(
            session=session,
            actor=tickets.actor_for(session=session, user=user),
            contract=contract,
            intervention_id=intervention,
            kind=kind,
            priority=priority,
            description="test",
            now=now,
        )


def staff(engine: Engine, handle: str = "demo-agent") -> tickets.Actor:
    """A demo staff member as an actor."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        return tickets.actor_for(session=session, user=user)


def notifications(engine: Engine, *, event: str | None = None) -> list[Notification]:
    """Outbox rows, oldest first (optionally of one event)."""
    with transaction(engine) as session:
        query = select(Notification).order_by(Notification.id)  # type: ignore[arg-type]
        if event is not None:
            query = query.where(Notification.event == event)
        rows = list(session.exec(query).all())
    for row in rows:  # every notification a test reads is scanned for ids and French clauses
        assert_wording(row.text, row.lang)
    return rows


def milestones(engine: Engine, ticket_id: int) -> list[MilestoneRow]:
    """A ticket's milestone rows, in due order."""
    with transaction(engine) as session:
        query = (
            select(MilestoneRow)
            .where(MilestoneRow.ticket_id == ticket_id)
            .order_by(MilestoneRow.due_at, MilestoneRow.id)  # type: ignore[arg-type]
        )
        return list(session.exec(query).all())


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL 15 server on 127.0.0.1 (skips when it cannot start)."""
    server = start_postgres(tmp_path_factory.mktemp("pg"))
    try:
        yield server
    finally:
        server.stop()
