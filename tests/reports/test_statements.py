"""The manager commands read in a fixed number of SQL statements, however many tickets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Contract
from bot.reports import render
from bot.services import ledger, tickets, users
from bot.settings import Settings
from handlers.core import entry
from handlers.model import InboundEvent
from tests.handlers.conftest import Chat, Clock


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements the engine runs inside the block."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def open_tickets(engine: Engine, clock: Clock, count: int) -> None:
    """`count` more open tickets on two contracts, some acknowledged, logged over days."""
    with transaction(engine) as session:
        requester = users.get_user_by_handle(session=session, handle="demo-requester")
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert requester is not None
        assert agent is not None
        telenet = session.exec(
            select(Contract).where(Contract.pack_id == "telenet-hosting-cloud")
        ).one()
        proximus = session.exec(
            select(Contract).where(Contract.pack_id == "proximus-internet")
        ).one()
        assert telenet.id is not None
        ledger.purchase(session=session, contract_id=telenet.id, amount=Decimal(3 * count))
        for number in range(count):
            contract, intervention, priority = (
                (telenet, "dedicated-server-manual-restart", "express")
                if number % 2
                else (proximus, "no-internet", ("p1", "p2", "p3", "p4")[number % 4])
            )
            ticket = tickets.open_ticket(
                session=session,
                actor=tickets.actor_for(session=session, user=requester),
                contract=contract,
                intervention_id=intervention,
                kind="incident",
                priority=priority,
                description="load",
                now=clock.now - timedelta(hours=number),
            )
            if number % 3 == 0:
                tickets.acknowledge(
                    session=session,
                    actor=tickets.actor_for(session=session, user=agent),
                    ticket=ticket,
                    now=clock.now,
                )


@pytest.mark.parametrize("command", ["/status", "/sla", "/sla 30d", "/credits", "/export"])
def test_statement_count_does_not_grow_with_open_tickets(
    chat: type[Chat], seeded: Engine, clock: Clock, command: str
) -> None:
    manager = chat("demo-manager")
    open_tickets(seeded, clock, 3)
    manager.send(command)  # the conversation row and caches exist from here on
    with counting(seeded) as few:
        manager.send(command)
    open_tickets(seeded, clock, 30)
    with counting(seeded) as many:
        manager.send(command)
    assert len(few) == len(many), (few, many)
    assert manager.outcome is not None
    assert manager.outcome.files  # the chart (or the CSV) was made from the same reads


def test_charts_are_drawn_after_the_transaction(
    seeded: Engine, settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_tickets(seeded, clock, 3)
    connections: list[int] = []
    draw = render.backlog_png

    def watched(*args: Any) -> bytes:
        connections.append(seeded.pool.checkedout())  # type: ignore[attr-defined]
        return draw(*args)

    monkeypatch.setattr(render, "backlog_png", watched)
    core = entry(engine=seeded, settings=settings)
    event = InboundEvent(
        channel="console",
        chat_id="demo-manager",
        user_external_id="demo-manager",
        received_at=clock.now,
        text="/status",
    )
    outcome = core(event)
    [chart] = outcome.files
    assert chart.data.startswith(b"\x89PNG")
    assert connections == [0]  # no connection (so no lock) held while drawing
