"""Agents resolving the same ticket at the same instant: one resolution, one charge or draw.

Two agents on a credits contract (Telenet), four on a time-bank contract (Alteo). Every agent
confirms the resolution from their buttons (the same flow as a ping's
*Resolve*); the others are told the ticket is already resolved. On PostgreSQL the
confirmations are held behind a third transaction's row lock until both wait on it, so they
really run at the same time; SQLite serialises the two transactions (`BEGIN IMMEDIATE`).
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
from bot.db.models import LedgerEntry, LedgerEntryType, Role, Ticket, TicketEvent, TicketStatus
from bot.services import demo, users
from bot.settings import Settings
from handlers.model import Outcome, RefusalReason
from tests.handlers.conftest import Chat, Clock
from tests.worker.conftest import PostgresServer, open_ticket
from tests.worker.races import run_together

TELENET = ("telenet-hosting-cloud", "dedicated-server-down-not-hardware", "express")
ALTEO = ("alteo-hosting", "advanced-software-diagnosis", "major")
EXTRA_AGENTS = ("second-agent", "third-agent", "fourth-agent")


def _seed(engine: Engine, start: datetime) -> None:
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
        for handle in EXTRA_AGENTS:
            users.add_user(
                session=session,
                handle=handle,
                display_name=handle.replace("-", " ").title(),
                role=Role.AGENT,
                provider_codes=["TLN", "ALT"],
            )
            user = users.get_user_by_handle(session=session, handle=handle)
            assert user is not None
            users.link_identity(session=session, user=user, channel="console", external_id=handle)


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


def _race(
    engine: Engine, start: datetime, *, hold: bool, ticket_on: tuple[str, str, str], agents: int
) -> list[Outcome]:
    pack_id, intervention, priority = ticket_on
    ticket = open_ticket(
        engine, pack_id=pack_id, intervention=intervention, priority=priority, now=start
    )
    clock = Clock(now=start)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    chats = [
        Chat(engine=engine, settings=settings, clock=clock, handle=handle)
        for handle in ("demo-agent", *EXTRA_AGENTS)[:agents]
    ]
    clicks = [_to_confirmation(chat, ticket.reference) for chat in chats]
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(chats) + 1)

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
        for agent, click in zip(chats, clicks, strict=True)
    ]
    assert ticket.id is not None
    run_together(engine=engine, ticket_id=ticket.id, threads=threads, barrier=barrier, hold=hold)
    assert not errors, errors
    return outcomes


def _check(engine: Engine, outcomes: list[Outcome], *, agents: int, drawn: list[str]) -> None:
    assert len(outcomes) == agents
    resolved = [o for o in outcomes if o.acted is not None]
    refused = [o for o in outcomes if o.refusal is not None]
    assert len(resolved) == 1
    assert len(refused) == agents - 1
    for outcome in refused:
        assert outcome.refusal is not None
        assert outcome.refusal.reason is RefusalReason.INVALID_STATE
        assert "is already resolved" in outcome.refusal.text
    with transaction(engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status is TicketStatus.RESOLVED
        charges = session.exec(
            select(LedgerEntry).where(
                LedgerEntry.ticket_id == ticket.id, LedgerEntry.type == LedgerEntryType.CHARGE
            )
        ).all()
        assert [-entry.amount for entry in charges] == [Decimal(d) for d in drawn]
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


# 20 minutes: two quarter hours at 3 credits (Telenet Express); 0.50 h of the bank (Alteo).
CASES = [
    pytest.param(TELENET, 2, ["6"], id="telenet-2-agents"),
    pytest.param(ALTEO, 4, ["0.50"], id="alteo-4-agents"),
]


@pytest.mark.parametrize(("ticket_on", "agents", "drawn"), CASES)
def test_agents_resolving_at_once_on_sqlite(
    engine: Engine, start: datetime, ticket_on: tuple[str, str, str], agents: int, drawn: list[str]
) -> None:
    _seed(engine, start)
    outcomes = _race(engine, start, hold=False, ticket_on=ticket_on, agents=agents)
    _check(engine, outcomes, agents=agents, drawn=drawn)


@pytest.fixture
def pg(postgres: PostgresServer) -> Iterator[Engine]:
    """A fresh PostgreSQL database."""
    engine = make_engine(postgres.new_database())
    yield engine
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(("ticket_on", "agents", "drawn"), CASES)
def test_agents_resolving_at_once_on_postgres(
    pg: Engine, start: datetime, ticket_on: tuple[str, str, str], agents: int, drawn: list[str]
) -> None:
    _seed(pg, start)
    outcomes = _race(pg, start, hold=True, ticket_on=ticket_on, agents=agents)
    _check(pg, outcomes, agents=agents, drawn=drawn)
