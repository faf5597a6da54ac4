"""Two agents deciding the same change request at once (one accepts, one refuses): exactly
one decision is recorded and told; the other agent gets "already decided".

On PostgreSQL both decisions are held behind a third transaction's row lock until both wait
on it, so they really run at the same time; SQLite serialises them (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import Notification, Role, Ticket, TicketEvent
from bot.services import changes, demo, users
from bot.services.actors import actor_for
from bot.services.errors import InvalidStateError
from tests.worker.conftest import PostgresServer, open_ticket
from tests.worker.races import run_together


def _seed(engine: Engine, start: datetime) -> Ticket:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
        users.add_user(
            session=session,
            handle="second-agent",
            display_name="Second Agent",
            role=Role.AGENT,
            provider_codes=["PXS"],
        )
    return open_ticket(
        engine,
        pack_id="proximus-internet",
        intervention="open-close-ports",
        priority="p4",
        kind="change",
        now=start,
    )


def _race(engine: Engine, ticket: Ticket, start: datetime, *, hold: bool) -> list[str]:
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def decide(handle: str, accept: bool) -> None:
        try:
            barrier.wait()
            with transaction(engine) as session:
                row = session.get(Ticket, ticket.id)
                user = users.get_user_by_handle(session=session, handle=handle)
                assert row is not None
                assert user is not None
                changes.decide(
                    session=session,
                    actor=actor_for(session=session, user=user),
                    ticket=row,
                    accept=accept,
                    reason="" if accept else "not in the catalogue",
                    now=start,
                )
            results.append("accepted" if accept else "refused")
        except InvalidStateError:
            results.append("already decided")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=decide, args=("demo-agent", True)),
        threading.Thread(target=decide, args=("second-agent", False)),
    ]
    assert ticket.id is not None
    run_together(engine=engine, ticket_id=ticket.id, threads=threads, barrier=barrier, hold=hold)
    assert not errors, errors
    return results


def _check(engine: Engine, ticket: Ticket, results: list[str]) -> None:
    assert len(results) == 2
    assert results.count("already decided") == 1
    with transaction(engine) as session:
        decisions = session.exec(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id,
                TicketEvent.type.in_((changes.ACCEPTED, changes.REFUSED)),  # type: ignore[attr-defined]
            )
        ).all()
        told = session.exec(
            select(Notification).where(
                Notification.event.in_((changes.ACCEPTED, changes.REFUSED))  # type: ignore[attr-defined]
            )
        ).all()
    assert len(decisions) == 1
    assert told
    assert {n.event for n in told} == {decisions[0].type}


def test_two_agents_deciding_at_once_on_sqlite(engine: Engine, start: datetime) -> None:
    ticket = _seed(engine, start)
    _check(engine, ticket, _race(engine, ticket, start, hold=False))


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_two_agents_deciding_at_once_on_postgres(pg: Engine, start: datetime) -> None:
    ticket = _seed(pg, start)
    _check(pg, ticket, _race(pg, ticket, start, hold=True))
