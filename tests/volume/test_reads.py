"""Reads at volume: statement counts independent of the desk's size, reads without the write
lock, the queue's stored sort key, bulk demo tickets. Counts and outcomes, never timings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event
from sqlmodel import Session, col, func, select

from bot.db.engine import make_engine, read_transaction, transaction
from bot.db.models import (
    NO_PENDING_DUE,
    Contract,
    Conversation,
    MilestoneRow,
    MilestoneStatus,
    Ticket,
    TicketStatus,
)
from bot.services import demo_volume, shapes, users
from bot.settings import Settings
from handlers.core import entry, reads_only
from handlers.model import InboundEvent, RefusalReason
from tests.handlers.conftest import Clock


def _event(handle: str, text: str, now: datetime) -> InboundEvent:
    return InboundEvent(
        channel="console", chat_id=handle, user_external_id=handle, received_at=now, text=text
    )


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the engine runs inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _statements(engine: Engine, settings: Settings, now: datetime, handle: str, text: str) -> int:
    core = entry(engine=engine, settings=settings)
    core(_event(handle, text, now))  # first contact: the conversation row is created
    with counting(engine) as seen:
        outcome = core(_event(handle, text, now))
    assert outcome.refusal is None, outcome.refusal
    return len(seen)


def _grow(engine: Engine, count: int, now: datetime) -> None:
    with transaction(engine) as session:
        demo_volume.seed_open_tickets(session=session, count=count, now=now)


def test_queue_and_lists_run_as_many_statements_at_100_as_at_1000_open_tickets(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    asked = [
        ("demo-agent", "/queue"),
        ("demo-agent", "/queue breached"),
        ("demo-agent", "/queue mine"),
        ("demo-requester", "/tickets"),
        ("demo-requester", "/tickets all"),
    ]
    _grow(seeded, 100, clock.now)  # every list shows a full page already
    small = {text: _statements(seeded, settings, clock.now, who, text) for who, text in asked}
    _grow(seeded, 900, clock.now)
    large = {text: _statements(seeded, settings, clock.now, who, text) for who, text in asked}
    assert large == small


def test_a_list_or_the_status_reads_the_speaker_the_conversation_and_one_select(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    """The speaker comes with the providers they serve, a page with each ticket's contract,
    customer and people (no statement per ticket, none per kind of row shown), `/status`'s
    counts (tallies, edges of cut days, late targets) in one statement."""
    _grow(seeded, 40, clock.now)
    core = entry(engine=seeded, settings=settings)
    asked = [
        ("demo-agent", "/queue", "FROM tickets"),
        ("demo-requester", "/tickets all", "FROM tickets"),
        ("demo-manager", "/status", "FROM ticket_tallies"),
    ]
    for who, text, read in asked:
        core(_event(who, text, clock.now))  # first contact: the conversation row is created
        with counting(seeded) as seen:
            outcome = core(_event(who, text, clock.now))
        assert outcome.refusal is None, outcome.refusal
        selects = [s for s in seen if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 3, (text, selects)
        assert "agent_providers" in selects[0]
        assert read in selects[2]


def test_queue_pages_follow_the_stored_key_in_order(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    _grow(seeded, 90, clock.now)
    with Session(seeded) as session:
        keys = session.exec(
            select(Ticket.queue_due, Ticket.logged_at, Ticket.id)
            .where(col(Ticket.queue_due).is_not(None))
            .order_by(col(Ticket.queue_due), col(Ticket.logged_at), col(Ticket.id))
        ).all()
        first = [session.get(Ticket, row[2]) for row in keys[:15]]
    core = entry(engine=seeded, settings=settings)
    text = core(_event("demo-agent", "/queue", clock.now)).replies[0]
    body = getattr(text, "text", "")
    positions = [body.index(ticket.reference) for ticket in first if ticket is not None]
    assert positions == sorted(positions)


def test_later_pages_bind_their_bounds_to_the_statement_built_for_the_first(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    """Each page shows the next tickets in the queue's order, and turning pages builds no
    new statement (LIMIT and OFFSET are bound at each call)."""
    _grow(seeded, 50, clock.now)
    with Session(seeded) as session:
        ordered = session.exec(
            select(Ticket.reference)
            .where(col(Ticket.queue_due).is_not(None))
            .order_by(col(Ticket.queue_due), col(Ticket.logged_at), col(Ticket.id))
        ).all()
    core = entry(engine=seeded, settings=settings)
    core(_event("demo-agent", "/queue", clock.now))
    built = len(shapes.BUILT)
    shown: list[str] = []
    for page in (1, 2, 3):
        reply = core(_event("demo-agent", f"/queue {page}", clock.now)).replies[0]
        body = getattr(reply, "text", "")
        shown += sorted((r for r in ordered if r in body), key=body.index)
    assert shown == list(ordered[:45])
    assert len(shapes.BUILT) == built


def test_the_stored_queue_key_follows_the_ticket(seeded: Engine, clock: Clock) -> None:
    now = clock.now
    with transaction(seeded) as session:
        contract = session.exec(select(Contract)).first()
        requester = users.get_user_by_handle(session=session, handle="demo-requester")
        assert contract is not None
        assert requester is not None
        ticket = Ticket(
            reference="T-KEY-1",
            tenant_id=contract.tenant_id,
            contract_id=contract.id or 0,
            requester_id=requester.id or 0,
            intervention_id="x",
            kind="incident",
            priority="p1",
            logged_at=now,
            response_due=now + timedelta(hours=1),
            resolution_due=now + timedelta(hours=8),
        )
        session.add(ticket)
        session.flush()
        assert ticket.queue_due == now + timedelta(hours=1)
        ticket.responded_at = now
        session.flush()
        assert ticket.queue_due == now + timedelta(hours=8)
        ticket.resolution_due = None
        session.flush()
        assert ticket.queue_due == NO_PENDING_DUE
        ticket.status = TicketStatus.RESOLVED
        session.flush()
        assert ticket.queue_due is None


def test_a_read_runs_while_another_connection_holds_the_write_lock(
    seeded: Engine, db_url: str, settings: Settings, clock: Clock
) -> None:
    engine = make_engine(db_url, busy_timeout_ms=100)
    core = entry(engine=engine, settings=settings)
    core(_event("demo-agent", "/help", clock.now))  # the conversation exists
    path = db_url.split("///", 1)[1]
    writer = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE users SET on_duty = on_duty")
        for text in ("/queue", "/help", "/tickets"):
            outcome = core(_event("demo-agent", text, clock.now))
            assert outcome.refusal is None, (text, outcome.refusal)
        # A write meanwhile waits for the lock and, here after 0.1 s, fails cleanly.
        refused = core(_event("demo-agent", "/duty off", clock.now))
        assert refused.refusal is not None
        assert refused.refusal.reason is RefusalReason.ERROR
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert core(_event("demo-agent", "/duty off", clock.now)).refusal is None
    engine.dispose()


def test_a_read_that_must_write_runs_again_as_a_write(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    assert reads_only(_event("demo-agent", "/queue", clock.now))
    assert not reads_only(_event("demo-agent", "/ack X", clock.now))
    core = entry(engine=seeded, settings=settings)
    outcome = core(_event("demo-agent", "/queue", clock.now))  # first contact writes its row
    assert outcome.refusal is None
    with Session(seeded) as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 1


def test_an_idle_conversation_is_not_rewritten_by_a_read(
    seeded: Engine, settings: Settings, clock: Clock
) -> None:
    core = entry(engine=seeded, settings=settings)
    core(_event("demo-requester", "/help", clock.now))
    with Session(seeded) as session:
        first = session.exec(select(Conversation.updated_at)).one()
    with counting(seeded) as seen:
        core(_event("demo-requester", "/tickets", clock.now + timedelta(minutes=5)))
    assert not [s for s in seen if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]
    with Session(seeded) as session:
        assert session.exec(select(Conversation.updated_at)).one() == first


def test_read_transaction_refuses_to_write(seeded: Engine) -> None:
    from bot.db.engine import WriteNeeded

    try:
        with read_transaction(seeded) as session:
            session.exec(select(Contract)).first()
            session.add(Conversation(channel="console", chat_id="x", user_id=1, token="t"))
            session.flush()
    except WriteNeeded:
        pass
    else:
        raise AssertionError("a write went through a read transaction")
    with Session(seeded) as session:
        assert session.exec(select(func.count()).select_from(Conversation)).one() == 0


def test_bulk_demo_tickets_are_whole_open_tickets(seeded: Engine, clock: Clock) -> None:
    with transaction(seeded) as session:
        summary = demo_volume.seed_open_tickets(session=session, count=300, now=clock.now)
    assert summary.tickets == 300
    assert summary.pauses == 30
    with Session(seeded) as session:
        tickets = session.exec(select(Ticket)).all()
        assert len(tickets) == 300
        assert len({t.reference for t in tickets}) == 300
        assert all(t.status in TicketStatus.open_statuses() for t in tickets)
        assert {t.status for t in tickets} == set(TicketStatus.open_statuses())
        assert any(t.response_breached or t.resolution_breached for t in tickets)
        assert any(not (t.response_breached or t.resolution_breached) for t in tickets)
        assert all(t.queue_due is not None for t in tickets)
        pending = session.exec(
            select(MilestoneRow).where(MilestoneRow.status == MilestoneStatus.PENDING)
        ).all()
        assert pending
        assert all(m.due_at > clock.now for m in pending)  # no replay of past alerts
        priorities = {t.priority for t in tickets}
        assert len(priorities) > 2
    # The reference counters moved on: the next ticket of each prefix does not collide.
    with transaction(seeded) as session:
        again = demo_volume.seed_open_tickets(session=session, count=20, now=clock.now)
    assert again.tickets == 20
    with Session(seeded) as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == 320
