"""The customer answering one quote twice at the same instant (two devices, or Accept then
Decline): exactly one answer is recorded and told; the other is "already answered".

On PostgreSQL both answers are held behind a third transaction's row lock until both wait
on it, so the guarded UPDATE really runs concurrently; SQLite serialises them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Notification, Ticket, TicketEvent
from bot.services import demo, ticket_quotes, users
from bot.services.actors import actor_for
from bot.services.errors import InvalidStateError
from pricing.quotes import ON_QUOTE_INTERVENTION
from tests.worker.conftest import PostgresServer, open_ticket, staff
from tests.worker.races import run_together


def _seed(engine: Engine, start: datetime) -> Ticket:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
    ticket = open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention=ON_QUOTE_INTERVENTION,
        priority="standard",
        kind="change",
        now=start,
    )
    agent = staff(engine)
    with transaction(engine) as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        ticket_quotes.propose(
            session=session,
            actor=agent,
            ticket=row,
            amount=Decimal(12),
            unit="credits",
            text="extra disk",
            now=start,
        )
    return ticket


def _race(engine: Engine, ticket: Ticket, start: datetime, *, hold: bool) -> list[str]:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def answer(accept: bool) -> None:
        try:
            barrier.wait()
            with transaction(engine) as session:
                row = session.get(Ticket, ticket.id)
                user = users.get_user_by_handle(session=session, handle="demo-requester")
                assert row is not None
                assert user is not None
                ticket_quotes.answer(
                    session=session,
                    actor=actor_for(session=session, user=user),
                    ticket=row,
                    accept=accept,
                    now=start,
                )
            results.append("accepted" if accept else "declined")
        except InvalidStateError:
            results.append("already answered")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=answer, args=(True,)),
        threading.Thread(target=answer, args=(True,)),
    ]
    assert ticket.id is not None
    run_together(engine=engine, ticket_id=ticket.id, threads=threads, barrier=barrier, hold=hold)
    assert not errors, errors
    return results


def _check(engine: Engine, ticket: Ticket, results: list[str]) -> None:
    assert sorted(results) == ["accepted", "already answered"]
    with transaction(engine) as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None
        assert row.quote_status == ticket_quotes.ACCEPTED
        answers = session.exec(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.type == "quote_accepted"
            )
        ).all()
        told = session.exec(
            select(Notification).where(Notification.event == "quote_accepted")
        ).all()
    assert len(answers) == 1
    assert told


def test_two_accepts_at_once_on_sqlite(engine: Engine, start: datetime) -> None:
    ticket = _seed(engine, start)
    _check(engine, ticket, _race(engine, ticket, start, hold=False))


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_two_accepts_at_once_on_postgres(pg: Engine, start: datetime) -> None:
    ticket = _seed(pg, start)
    _check(pg, ticket, _race(pg, ticket, start, hold=True))
