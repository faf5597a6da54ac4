"""A customer and an agent asking for escalation at the same instant: each request moves the
ticket one level, in turn (levels 1 then 2 in office hours), never both to the same level;
two workers passing over the same maintenance window at once write each notice once.

On PostgreSQL the requests are held behind a third transaction's row lock until both wait on
it, so they really run at the same time; SQLite serialises them (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Notification, Ticket, TicketEvent
from bot.services import demo, escalation, maintenance_notices, planned_works, users
from bot.services.actors import actor_for
from tests.worker.conftest import PostgresServer, open_ticket
from tests.worker.races import run_together

# Tuesday 30 March 2027, 09:00 in Brussels: office hours, the day after Easter Monday.
TUESDAY = datetime(2027, 3, 30, 7, 0, tzinfo=UTC)


def _seed(engine: Engine) -> Ticket:
    with transaction(engine) as session:
        demo.seed(session=session, now=TUESDAY - timedelta(days=30))
    return open_ticket(
        engine, pack_id="proximus-internet", intervention="no-internet", priority="p1", now=TUESDAY
    )


def _race(engine: Engine, ticket: Ticket, *, hold: bool) -> list[int]:
    levels: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def ask(handle: str) -> None:
        try:
            barrier.wait()
            with transaction(engine) as session:
                row = session.get(Ticket, ticket.id)
                user = users.get_user_by_handle(session=session, handle=handle)
                assert row is not None
                assert user is not None
                step = escalation.escalate(
                    session=session,
                    actor=actor_for(session=session, user=user),
                    ticket=row,
                    now=TUESDAY + timedelta(hours=1),
                )
                levels.append(step.level.level)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=ask, args=("demo-requester",)),
        threading.Thread(target=ask, args=("demo-agent",)),
    ]
    assert ticket.id is not None
    run_together(engine=engine, ticket_id=ticket.id, threads=threads, barrier=barrier, hold=hold)
    assert not errors, errors
    return levels


def _check(engine: Engine, ticket: Ticket, levels: list[int]) -> None:
    assert sorted(levels) == [1, 2]
    with transaction(engine) as session:
        stored = session.get(Ticket, ticket.id)
        events = session.exec(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.type == escalation.ESCALATED
            )
        ).all()
    assert stored is not None
    assert stored.escalation_level == 2
    assert sorted((e.changes["from"], e.changes["level"]) for e in events) == [(0, 1), (1, 2)]


def _notices_race(engine: Engine) -> None:
    with transaction(engine) as session:
        planned_works.announce(
            session=session,
            provider_code="ALT",
            starts_at=TUESDAY + timedelta(days=10),
            minutes=60,
            services="web",
            now=TUESDAY,
        )
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with transaction(engine) as session:
                maintenance_notices.due_notices(
                    session=session, now=TUESDAY + timedelta(days=9, hours=1)
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with transaction(engine) as session:
        rows = session.exec(
            select(Notification).where(Notification.event == "maintenance_day_before")
        ).all()
    assert len(rows) == 1  # the demo requester, on the console, once


def test_two_escalations_at_once_on_sqlite(engine: Engine) -> None:
    ticket = _seed(engine)
    _check(engine, ticket, _race(engine, ticket, hold=False))
    _notices_race(engine)


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_two_escalations_at_once_on_postgres(pg: Engine) -> None:
    ticket = _seed(pg)
    _check(pg, ticket, _race(pg, ticket, hold=True))
    _notices_race(pg)
