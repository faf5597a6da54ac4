"""Auto-close and the customer's "solved" click at the same instant, with two workers: the
ticket closes once, one closing event, the customer told once.

On PostgreSQL the three actors are held behind a fourth transaction's row lock on the ticket
until all of them wait on it; SQLite serialises them (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Ticket, TicketEvent, TicketStatus
from bot.services import demo, tickets
from bot.services.conversation import auto_close_at, close_unanswered
from bot.settings import Settings, using_settings
from pricing.loader import get_pack
from tests.handlers.conftest import Chat, Clock
from tests.worker.conftest import PostgresServer, notifications, open_ticket, staff
from tests.worker.races import run_together

PACK = "telenet-hosting-cloud"


def _resolved(engine: Engine, start: datetime) -> tuple[Ticket, datetime]:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
    ticket = open_ticket(
        engine,
        pack_id=PACK,
        intervention="dedicated-server-down-not-hardware",
        priority="express",
        now=start,
    )
    agent = staff(engine)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with transaction(engine) as session, using_settings(settings):
        found = session.get(Ticket, ticket.id)
        assert found is not None
        tickets.resolve(session=session, actor=agent, ticket=found, now=start, minutes=30)
    due = auto_close_at(pack=get_pack(PACK), resolved_at=start, days=5)
    return ticket, due


def _race(engine: Engine, start: datetime, *, hold: bool) -> list[int]:
    ticket, due = _resolved(engine, start)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    customer = Chat(engine=engine, settings=settings, clock=Clock(now=due), handle="demo-requester")
    closed: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            with transaction(engine) as session, using_settings(settings):
                closed.append(close_unanswered(session=session, now=due, settings=settings))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def click() -> None:
        try:
            barrier.wait()
            customer.send(action=f"t:solved:{ticket.reference}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker), threading.Thread(target=worker)]
    threads.append(threading.Thread(target=click))
    assert ticket.id is not None
    run_together(engine=engine, ticket_id=ticket.id, threads=threads, barrier=barrier, hold=hold)
    assert not errors, errors
    return closed


def _check(engine: Engine, closed: list[int]) -> None:
    with transaction(engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status is TicketStatus.CLOSED
        events = session.exec(select(TicketEvent).where(TicketEvent.type == "closed")).all()
        assert len(events) == 1
        how = events[0].changes["how"]
    # Either one worker closed it (and the click was refused) or the click did (no worker).
    assert sorted(closed) == ([0, 1] if how == "auto" else [0, 0])
    customer_rows = [n for n in notifications(engine, event="closed") if n.audience == "customer"]
    assert len(customer_rows) == (1 if how == "auto" else 0)  # a click is answered in place


def test_auto_close_and_a_click_at_once_on_sqlite(engine: Engine, start: datetime) -> None:
    _check(engine, _race(engine, start, hold=False))


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_auto_close_and_a_click_at_once_on_postgres(pg: Engine, start: datetime) -> None:
    _check(pg, _race(pg, start, hold=True))
