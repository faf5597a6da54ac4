"""Two agents resolving the same ticket at the same instant: one resolution, one charge.

Both agents confirm the resolution from their buttons (the same flow as a ping's
*Resolve*); the second one is told the ticket is already resolved. On PostgreSQL the two
confirmations are held behind a third transaction's row lock until both wait on it, so they
really run at the same time; SQLite serialises the two transactions (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import LedgerEntry, LedgerEntryType, Role, Ticket, TicketEvent, TicketStatus
from bot.services import demo, users
from bot.settings import Settings
from handlers.model import Outcome, RefusalReason
from tests.handlers.conftest import Chat, Clock
from tests.worker.conftest import PostgresServer, open_ticket
from tests.worker.races import run_together

REF_PACK = "telenet-hosting-cloud"


def _seed(engine: Engine, start: datetime) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
        users.add_user(
            session=session,
            handle="second-agent",
            display_name="Second Agent",
            role=Role.AGENT,
            provider_codes=["TLN"],
        )
        user = users.get_user_by_handle(session=session, handle="second-agent")
        assert user is not None
        users.link_identity(
            session=session, user=user, channel="console", external_id="second-agent"
        )


def _to_confirmation(agent: Chat, reference: str) -> str:
    """The agent clicks Resolve, gives 20 minutes and sees what will be charged."""
    agent.send("/lang en")
    answer = agent.send(action=f"t:resolve:{reference}")
    assert "how many minutes of work to add" in answer
    answer = agent.send("20")
    assert f"Resolve {reference} with 20 min recorded in all?" in answer
    assert "will be charged" in answer
    [yes] = [o for o in agent.last_options if o.payload.endswith(":~yes")]
    return yes.payload


def _race(engine: Engine, start: datetime, *, hold: bool) -> list[Outcome]:
    ticket = open_ticket(
        engine,
        pack_id=REF_PACK,
        intervention="dedicated-server-down-not-hardware",
        priority="express",
        now=start,
    )
    clock = Clock(now=start)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    agents = [
        Chat(engine=engine, settings=settings, clock=clock, handle=handle)
        for handle in ("demo-agent", "second-agent")
    ]
    clicks = [_to_confirmation(agent, ticket.reference) for agent in agents]
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(agents) + 1)

    def confirm(agent: Chat, payload: str) -> None:
        try:
            barrier.wait()
            agent.send(action=payload)
            assert agent.outcome is not None
            outcomes.append(agent.outcome)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [
        threading.Thread(target=confirm, args=(agent, click))
        for agent, click in zip(agents, clicks, strict=True)
    ]
    assert ticket.id is not None
    run_together(engine=engine, ticket_id=ticket.id, threads=threads, barrier=barrier, hold=hold)
    assert not errors, errors
    return outcomes


def _check(engine: Engine, outcomes: list[Outcome]) -> None:
    assert len(outcomes) == 2
    resolved = [o for o in outcomes if o.acted is not None]
    refused = [o for o in outcomes if o.refusal is not None]
    assert len(resolved) == 1
    assert len(refused) == 1
    [refusal] = refused
    assert refusal.refusal is not None
    assert refusal.refusal.reason is RefusalReason.INVALID_STATE
    assert "is already resolved" in refusal.refusal.text
    with transaction(engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status is TicketStatus.RESOLVED
        charges = session.exec(
            select(LedgerEntry).where(
                LedgerEntry.ticket_id == ticket.id, LedgerEntry.type == LedgerEntryType.CHARGE
            )
        ).all()
        assert len(charges) == 1
        resolutions = session.exec(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.type == "resolved"
            )
        ).all()
        assert len(resolutions) == 1
        recorded = session.exec(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.type == "time"
            )
        ).all()
        assert [e.minutes for e in recorded] == [20]  # the loser's minutes were rolled back


def test_two_agents_resolving_at_once_on_sqlite(engine: Engine, start: datetime) -> None:
    _seed(engine, start)
    _check(engine, _race(engine, start, hold=False))


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
def test_two_agents_resolving_at_once_on_postgres(pg: Engine, start: datetime) -> None:
    _seed(pg, start)
    _check(pg, _race(pg, start, hold=True))
