"""The dispatcher fires due milestones into the outbox once, with the pack's escalation.

Every test runs on SQLite and on PostgreSQL (a throwaway server started by the fixtures).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import MilestoneRow, MilestoneStatus, Ticket, TicketEvent, TicketStatus
from bot.i18n import translator
from bot.services import tickets
from bot.settings import Settings
from bot.worker import wake
from bot.worker.clock import ManualClock
from bot.worker.dispatcher import Dispatcher
from bot.worker.runner import Worker
from handlers.desk import staff_card
from handlers.model import Text
from tests.worker.conftest import milestones, notifications, open_ticket, staff

HARDWARE = "dedicated-server-down-hardware"  # Telenet, free
RESTART = "dedicated-server-manual-restart"  # Telenet, fixed price in credits


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, db_url: str) -> Iterator[Engine]:
    """The per-test database: the SQLite file, or a fresh PostgreSQL database."""
    url = (
        db_url if request.param == "sqlite" else request.getfixturevalue("postgres").new_database()
    )
    engine = make_engine(url)
    yield engine
    engine.dispose()


def dispatcher(engine: Engine, settings: Settings, clock: ManualClock) -> Dispatcher:
    return Dispatcher(engine=engine, settings=settings, clock=clock)


def test_each_milestone_fires_once_at_its_instant(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    rows = milestones(seeded, ticket.id)
    assert [(m.target, m.kind) for m in rows][:5] == [
        ("response", "warning"),
        ("response", "warning"),
        ("response", "warning"),
        ("response", "due"),
        ("response", "breach"),
    ]
    worker = dispatcher(seeded, settings, clock)
    assert worker.dispatch_due() == 0
    assert worker.next_due() == rows[0].due_at

    clock.set(rows[0].due_at - timedelta(microseconds=1))
    assert worker.dispatch_due() == 0
    clock.set(rows[0].due_at)
    assert worker.dispatch_due() == 1
    at_risk = notifications(seeded, event="at_risk")
    assert [n.audience for n in at_risk] == ["agent"]
    assert "50" in at_risk[0].text
    assert ticket.reference in at_risk[0].text
    assert at_risk[0].idempotency_key.startswith(f"t{ticket.id}:response:at_risk:50:")

    for row in rows[1:3]:  # the other warnings, each at its instant
        clock.set(row.due_at)
        assert worker.dispatch_due() == 1
    clock.set(rows[4].due_at)  # the response breach instant
    assert worker.dispatch_due() == 2  # the due ping and the breach
    assert worker.dispatch_due() == 0
    events = [n.event for n in notifications(seeded) if n.event != "opened"]
    assert events.count("at_risk") == 3
    assert events.count("due") == 1
    assert events.count("breached") == 3  # customer, agent, manager
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        assert stored.response_breached
        assert not stored.resolution_breached
        done = session.exec(select(MilestoneRow).where(MilestoneRow.ticket_id == ticket.id))
        statuses = [m.status for m in done.all()]
    assert statuses.count(MilestoneStatus.DONE) == 5
    assert statuses.count(MilestoneStatus.PENDING) == 5


def test_after_downtime_only_the_due_ping_and_the_breach_are_told(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    """Workers down past a target's due instant: its warnings are not sent late."""
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    rows = milestones(seeded, ticket.id)
    worker = dispatcher(seeded, settings, clock)
    clock.set(rows[4].due_at + timedelta(hours=1))  # back an hour after the response breach
    assert worker.dispatch_due() == 5
    assert worker.dispatch_due() == 0
    events = [n.event for n in notifications(seeded) if n.event != "opened"]
    assert events.count("at_risk") == 0
    assert events.count("due") == 1
    assert events.count("breached") == 3  # customer, agent, manager: once each
    with transaction(seeded) as session:
        done = session.exec(select(MilestoneRow).where(MilestoneRow.ticket_id == ticket.id))
        response = [m for m in done.all() if m.target == "response"]
    assert [m.status for m in response if m.kind == "warning"] == [MilestoneStatus.CANCELLED] * 3
    assert [m.status for m in response if m.kind != "warning"] == [MilestoneStatus.DONE] * 2
    clock.set(clock.now() + timedelta(days=1))
    worker.dispatch_due()
    breaches = [
        n for n in notifications(seeded, event="breached") if "response" in n.idempotency_key
    ]
    assert len(breaches) == 3


def test_breach_tells_customer_agents_managers_with_the_waiver(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    clock.advance(days=1)
    dispatcher(seeded, settings, clock).dispatch_due()
    breached = notifications(seeded, event="breached")
    by_audience = {n.audience: n for n in breached if "response" in n.idempotency_key}
    assert set(by_audience) == {"customer", "agent", "manager"}
    customer = by_audience["customer"]
    assert customer.chat_id == "demo-requester"
    assert "5.1 (a)" in customer.text  # the waiver clause


def test_free_intervention_breach_mentions_no_waiver(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention=HARDWARE,
        priority="express",
        now=start,
    )
    clock.advance(days=1)
    dispatcher(seeded, settings, clock).dispatch_due()
    customer = [n for n in notifications(seeded, event="breached") if n.audience == "customer"]
    assert customer
    assert all("5.1 (a)" not in n.text for n in customer)


def test_proximus_p1_pings_stay_internal_and_the_breach_offers_the_service_credit(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="proximus-internet", intervention="no-internet", priority="p1", now=start
    )
    assert ticket.id is not None
    worker = dispatcher(seeded, settings, clock)
    for row in milestones(seeded, ticket.id):  # each at its instant: no downtime here
        clock.set(max(row.due_at, clock.now()))
        worker.dispatch_due()
    staff_pings = [
        n for n in notifications(seeded) if n.audience == "agent" and n.event != "opened"
    ]
    assert [n.event for n in staff_pings] == ["at_risk", "at_risk", "at_risk", "due", "breached"]
    # Issue 15 item 8 changed this test: the seed defines no time trigger, so milestones no
    # longer climb the escalation levels (it expected "Niveau 0".."Niveau 4"); nothing was
    # requested with /escalate here, so no ping names a level.
    assert not any(re.search(r"Niveau [0-5]", ping.text) for ping in staff_pings)
    at_risk = notifications(seeded, event="at_risk")
    assert {n.audience for n in at_risk} <= {"agent", "agents"}  # internal pings
    customer = next(n for n in notifications(seeded, event="breached") if n.audience == "customer")
    assert "0800 33 200" in customer.text  # escalation starts with a call (French desk)
    assert "€ 150" in customer.text  # one month's fee, from the contract option
    assert "2027" in customer.text  # claim until the end of February 2027


def test_proximus_p3_routes_by_the_ladder_settings_only(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    open_ticket(
        seeded, pack_id="proximus-internet", intervention="no-internet", priority="p3", now=start
    )
    clock.advance(days=30)
    dispatcher(seeded, settings, clock).dispatch_due()
    pings = [n for n in notifications(seeded) if n.event in ("at_risk", "due", "breached")]
    assert pings
    assert all("Niveau" not in n.text for n in pings)
    customer = [n for n in pings if n.audience == "customer"]
    assert customer
    assert all("0800" not in n.text for n in customer)


def test_acknowledging_cancels_the_response_milestones(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    agent = staff(seeded)
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        tickets.acknowledge(session=session, actor=agent, ticket=stored, now=start)
    clock.advance(hours=13)  # past the response due instant and half the resolution time
    dispatcher(seeded, settings, clock).dispatch_due()
    keys = [n.idempotency_key for n in notifications(seeded) if n.event == "at_risk"]
    assert keys
    assert all(":resolution:" in key for key in keys)
    assert not notifications(seeded, event="breached")


def test_a_breach_fired_again_after_regeneration_sends_nothing_new(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    clock.advance(days=3)
    worker = dispatcher(seeded, settings, clock)
    worker.dispatch_due()
    before = len(notifications(seeded, event="breached"))
    assert before == 6  # response and resolution, three audiences each
    agent = staff(seeded)
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        generation = stored.sla_generation
        tickets.pause(
            session=session, actor=agent, ticket=stored, reason="customer", now=clock.now()
        )
        assert stored.sla_generation == generation + 1
    pending = [m for m in milestones(seeded, ticket.id) if m.status is MilestoneStatus.PENDING]
    assert {m.kind for m in pending} == {"breach"}  # missed targets stay breached
    fired = worker.dispatch_batch().fired
    assert {f.outcome for f in fired} == {"fired"}
    assert all(f.messages == 0 for f in fired)
    assert len(notifications(seeded, event="breached")) == before


def test_rows_of_an_old_generation_or_a_closed_ticket_are_cancelled(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        session.add(
            MilestoneRow(
                ticket_id=ticket.id,
                target="response",
                kind="due",
                generation=stored.sla_generation - 1,
                due_at=start,
            )
        )
    fired = dispatcher(seeded, settings, clock).dispatch_batch().fired
    assert [(f.kind, f.outcome) for f in fired] == [("due", "stale")]
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        stored.status = TicketStatus.CLOSED  # as if closed by a path that left rows behind
        session.add(stored)
    clock.advance(days=3)
    fired = dispatcher(seeded, settings, clock).dispatch_batch().fired
    assert fired
    assert {f.outcome for f in fired} == {"closed"}
    assert not notifications(seeded, event="at_risk")


def test_a_moved_due_instant_is_not_announced(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    with transaction(seeded) as session:
        due = session.exec(
            select(MilestoneRow).where(
                MilestoneRow.ticket_id == ticket.id, MilestoneRow.kind == "due"
            )
        ).first()
        assert due is not None
        due.due_at = start  # no longer the ticket's due instant
        session.add(due)
    fired = dispatcher(seeded, settings, clock).dispatch_batch().fired
    assert [f.outcome for f in fired] == ["moved"]


def test_batches_are_bounded(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    for _ in range(3):
        open_ticket(
            seeded,
            pack_id="telenet-hosting-cloud",
            intervention=RESTART,
            priority="express",
            now=start,
        )
    clock.advance(days=3)
    worker = Dispatcher(engine=seeded, settings=settings, clock=clock, batch_size=4)
    assert worker.dispatch_batch().claimed == 4
    assert worker.dispatch_due() == 26


async def test_the_loop_sleeps_until_the_next_due_instant_and_is_woken_by_new_rows(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    worker = Worker(engine=seeded, settings=settings, clock=clock, senders=[])
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.2)  # let it start and fall asleep
        ticket = await asyncio.to_thread(
            open_ticket,
            seeded,
            pack_id="telenet-hosting-cloud",
            intervention=RESTART,
            priority="express",
            now=start,
        )
        assert ticket.id is not None
        first = milestones(seeded, ticket.id)[0].due_at
        # The COMMIT woke the dispatcher, which now sleeps until the first warning.
        await until(lambda: worker.dispatcher.deadline == first)
        assert not notifications(seeded, event="at_risk")
        clock.set(first)
        await until(lambda: len(notifications(seeded, event="at_risk")) == 1)
        # A row written with the wake-up hook, earlier than the plan, re-plans at once.
        soon = first + timedelta(minutes=1)
        with transaction(seeded) as session:
            session.add(
                MilestoneRow(
                    ticket_id=ticket.id, target="response", kind="due", generation=0, due_at=soon
                )
            )
            wake.milestones_written(session, soon)
        await until(lambda: worker.dispatcher.deadline == soon)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 120)


async def test_rows_from_another_process_are_seen_within_the_sleep_bound(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    bounded = settings.model_copy(update={"worker_max_sleep_seconds": 0.2})
    worker = Worker(engine=seeded, settings=bounded, clock=clock, senders=[])
    task = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.1)
        ticket = open_ticket(
            seeded,
            pack_id="telenet-hosting-cloud",
            intervention=RESTART,
            priority="express",
            now=start,
        )
        assert ticket.id is not None
        soon = start + timedelta(seconds=1)
        with transaction(seeded) as session:  # no wake-up mark: as if written elsewhere
            session.add(
                MilestoneRow(
                    ticket_id=ticket.id, target="response", kind="due", generation=0, due_at=soon
                )
            )
        await until(lambda: worker.dispatcher.deadline == soon)
    finally:
        worker.stop()
        await asyncio.wait_for(task, 120)


async def until(condition: Callable[[], bool], within: float = 120.0) -> None:
    """Wait (really) until `condition()` holds; `within` only stops a hung test."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while loop.time() < end:
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.01)
    pytest.fail("condition not reached in time")


def test_three_p1_breaches_in_a_month_offer_the_room_left_under_the_cap(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    # Issue 15 item 2: each of three November P1 breaches used to announce "€ 150". Proximus
    # grants at most one monthly fee per month: the first offers € 150, the next ones say the
    # cap is reached (French for the demo requester).
    for _ in range(3):
        open_ticket(
            seeded,
            pack_id="proximus-internet",
            intervention="no-internet",
            priority="p1",
            now=start,
        )
    clock.advance(days=2)
    dispatcher(seeded, settings, clock).dispatch_due()
    customer = sorted(
        (n for n in notifications(seeded, event="breached") if n.audience == "customer"),
        key=lambda n: n.ticket_id or 0,
    )
    assert len(customer) == 3
    assert "€ 150" in customer[0].text
    for later in customer[1:]:
        assert "€ 150" not in later.text
        assert "plafond d'une redevance mensuelle" in later.text


def breach_events(engine: Engine, ticket_id: int) -> list[TicketEvent]:
    with transaction(engine) as session:
        query = select(TicketEvent).where(
            TicketEvent.ticket_id == ticket_id, TicketEvent.type == "breached"
        )
        return list(session.exec(query).all())


def test_each_breach_is_on_the_timeline_once_with_its_target(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    clock.advance(days=3)
    worker = dispatcher(seeded, settings, clock)
    worker.dispatch_due()
    events = breach_events(seeded, ticket.id)
    assert sorted(e.changes["target"] for e in events) == ["resolution", "response"]
    agent = staff(seeded)
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        due = {"response": stored.response_due, "resolution": stored.resolution_due}
        assert all(e.at == due[e.changes["target"]] for e in events)  # when it was missed
        # A regeneration fires the breach rows again: the timeline does not repeat them.
        tickets.pause(
            session=session, actor=agent, ticket=stored, reason="customer", now=clock.now()
        )
    worker.dispatch_due()
    assert len(breach_events(seeded, ticket.id)) == 2
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        card = staff_card(session=session, t=translator("en"), ticket=stored, now=clock.now())
        timeline = text_of(card[-1])
        assert "response target breached" in timeline
        assert "resolution target breached" in timeline
        shown = tickets.events_of(session=session, ticket=stored)  # what the customer sees
        assert "breached" not in {e.type for e in shown}


def test_a_late_acknowledgement_puts_the_breach_on_the_timeline_once(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ticket = open_ticket(
        seeded, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    assert ticket.id is not None
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        assert stored.response_due is not None
        late = stored.response_due + timedelta(minutes=5)
    clock.set(late)
    agent = staff(seeded)
    with transaction(seeded) as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        tickets.acknowledge(session=session, actor=agent, ticket=stored, now=late)
    [event] = breach_events(seeded, ticket.id)
    assert event.changes == {"target": "response"}
    dispatcher(seeded, settings, clock).dispatch_due()
    assert len(breach_events(seeded, ticket.id)) == 1


def text_of(reply: object) -> str:
    assert isinstance(reply, Text)
    return reply.text
