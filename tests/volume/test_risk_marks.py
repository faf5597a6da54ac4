"""Targets recorded at risk: the worker marks the open targets past their risk instant, the
clocks store the mark when they are rebuilt after it, and no count changes for it; what the
counts then read ticket by ticket is only what is not yet recorded."""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text, update
from sqlmodel import col, select

from bot.db.engine import transaction
from bot.db.models import TargetOutcome, Ticket, TicketStatus
from bot.services import outcomes, tallies, tickets
from bot.services.figures import Scope
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.dispatcher import Dispatcher
from tests.volume.test_tallies import NOW, _expected, _grouped, _raw_tickets, recount, tallied
from tests.worker.conftest import MONDAY_0900, open_ticket, staff

AT_RISK, OPEN = TargetOutcome.AT_RISK.value, TargetOutcome.OPEN.value
STATUSES = set(TicketStatus.open_statuses())


def _mark_all(engine: Engine, now: datetime) -> int:
    total = 0
    while True:
        with transaction(engine) as session:
            marked = outcomes.mark_risks(session=session, now=now, limit=50)
        total += marked
        if marked < 50:
            return total


def _counts(engine: Engine, now: datetime) -> Counter[tuple[Any, ...]]:
    cuts = [now - timedelta(days=7), now - timedelta(days=1)]
    with transaction(engine) as session:
        found = tallies.counts(
            session=session, scope=Scope(), cuts=cuts, now=now, statuses=STATUSES
        )
    return _grouped(found)


def _read_one_by_one(engine: Engine, now: datetime) -> int:
    """The tickets `counts` reads one by one at `now` (its third part)."""
    cuts = [now - timedelta(days=7), now - timedelta(days=1)]
    sqlite = engine.dialect.name == "sqlite"
    statement = tallies._late_statement(Scope(), len(cuts), None, False, sqlite)
    values: dict[str, Any] = {"now": now, **{f"cut_{i}": cut for i, cut in enumerate(cuts)}}
    with transaction(engine) as session:
        return sum(int(row.n) for row in session.execute(statement, values))


def _pairs(engine: Engine) -> list[tuple[Any, ...]]:
    """Every target's stored (outcome, risk instant, due instant)."""
    with transaction(engine) as session:
        return [
            (
                getattr(t, f"{target}_outcome"),
                getattr(t, f"{target}_risk_at"),
                getattr(t, f"{target}_due"),
            )
            for t in session.exec(select(Ticket)).all()
            for target in tallies.TARGETS
        ]


def _marking_changes_no_count(engine: Engine) -> None:
    _raw_tickets(engine, 400, random.Random(7), first_id=400_000)
    marked = spared = 0
    for hours in (-30, -5, 0, 7, 40):  # time moves on, the worker marks as it goes
        now = NOW + timedelta(hours=hours)
        cuts = [now - timedelta(days=7), now - timedelta(days=1)]
        want = _expected(engine, cuts=cuts, now=now, statuses=STATUSES, inside=False)
        assert _counts(engine, now) == want, hours
        read_before = _read_one_by_one(engine, now)
        marked_now = _mark_all(engine, now)
        marked += marked_now
        assert _counts(engine, now) == want, hours
        with transaction(engine) as session:
            assert not outcomes.risks_due(session=session, now=now)
        pairs = _pairs(engine)
        assert all(risk is None for outcome, risk, _ in pairs if outcome == AT_RISK)
        # What is read one by one is now only the targets past their due instant not yet
        # recorded as breached, not the tickets at risk.
        late = {
            i // 2
            for i, (outcome, _, due) in enumerate(pairs)
            if outcome in outcomes.STILL_OPEN and due is not None and due <= now
        }
        read_after = _read_one_by_one(engine, now)
        assert read_after == len(late), hours
        assert read_after <= read_before, hours
        spared += read_before - read_after
    assert marked > 50
    assert spared > 0
    assert tallied(engine) == recount(engine)


def test_marking_risks_changes_no_count(seeded: Engine) -> None:
    _marking_changes_no_count(seeded)


def test_marking_risks_changes_no_count_on_postgresql(pg: Engine) -> None:
    _marking_changes_no_count(pg)


def _express(engine: Engine) -> Ticket:
    return open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=MONDAY_0900,
    )


def test_clocks_stored_after_the_risk_instant_record_the_target_at_risk(seeded: Engine) -> None:
    ticket = _express(seeded)
    risk = ticket.resolution_risk_at  # the target Telenet's stop-clock holds
    assert ticket.resolution_outcome == OPEN
    assert risk is not None
    agent = staff(seeded)
    later = risk + timedelta(minutes=1)
    with transaction(seeded) as session:
        found = session.get(Ticket, ticket.id)
        assert found is not None
        paused = tickets.pause(session=session, actor=agent, ticket=found, reason="x", now=later)
        # Stopped: not at risk while the clock does not run.
        assert (paused.resolution_outcome, paused.resolution_risk_at) == (OPEN, None)
    with transaction(seeded) as session:
        found = session.get(Ticket, ticket.id)
        assert found is not None
        resumed = tickets.resume(session=session, actor=agent, ticket=found, now=later)
        assert (resumed.resolution_outcome, resumed.resolution_risk_at) == (AT_RISK, None)
    assert tallied(seeded) == recount(seeded)


def test_the_worker_marks_the_targets_whose_risk_instant_passed(
    seeded: Engine, settings: Settings
) -> None:
    ticket = _express(seeded)
    assert ticket.response_risk_at is not None
    clock = ManualClock(ticket.response_risk_at + timedelta(seconds=1))
    dispatcher = Dispatcher(engine=seeded, settings=settings, clock=clock)

    def stored() -> tuple[Any, Any]:
        with transaction(seeded) as session:
            found = session.get(Ticket, ticket.id)
            assert found is not None
            return found.response_outcome, found.response_risk_at

    async def scenario() -> tuple[Any, Any]:
        stop, wake = asyncio.Event(), asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop=stop, wake=wake))
        try:
            for _ in range(600):  # the loop's first pass; bounded, whatever the machine
                found = await asyncio.to_thread(stored)
                if found[0] != OPEN:
                    return found
                await asyncio.sleep(0.05)
            return found
        finally:
            stop.set()
            wake.set()
            await asyncio.wait_for(running, 60)

    assert asyncio.run(scenario()) == (AT_RISK, None)
    assert dispatcher.mark_risks() == 0


def test_marking_skips_a_ticket_a_transaction_holds_without_waiting(pg: Engine) -> None:
    ids = _raw_tickets(pg, 30, random.Random(3), first_id=500_000)
    with pg.begin() as connection:
        connection.execute(
            update(Ticket)
            .where(col(Ticket.id).in_(ids))
            .values(
                status=TicketStatus.OPEN,
                response_outcome=OPEN,
                response_risk_at=NOW - timedelta(hours=1),
                response_due=NOW + timedelta(hours=1),
                resolution_outcome=TargetOutcome.MET.value,
            )
        )
    held = ids[0]
    with pg.connect() as holder, holder.begin():
        holder.execute(select(Ticket.id).where(col(Ticket.id) == held).with_for_update())
        with transaction(pg) as session:
            # A wait would end in an error here, not in a hang of the test.
            session.execute(text("SET LOCAL lock_timeout = '60s'"))
            assert outcomes.mark_risks(session=session, now=NOW) == len(ids) - 1
    with transaction(pg) as session:
        found = session.get(Ticket, held)
        assert found is not None
        assert (found.response_outcome, found.response_risk_at) == (OPEN, NOW - timedelta(hours=1))
    assert _mark_all(pg, NOW) == 1
    assert tallied(pg) == recount(pg)


def test_concurrent_clock_writes_and_marks_keep_every_target_whole(pg: Engine) -> None:
    """Agents pause and resume tickets (their clocks stored before the risk instant) while
    the worker marks (after it): every transaction commits, no target is left recorded at
    risk with a risk instant, and a last pass leaves each running target at risk."""
    opened = [_express(pg) for _ in range(12)]
    risk = max(t.response_risk_at for t in opened if t.response_risk_at is not None)
    before, after = MONDAY_0900 + timedelta(minutes=1), risk + timedelta(minutes=1)
    agent = staff(pg)
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def agent_work(mine: list[Ticket]) -> None:
        try:
            barrier.wait()
            for round_ in range(6):
                for ticket in mine:
                    with transaction(pg) as session:
                        found = session.get(Ticket, ticket.id)
                        assert found is not None
                        if round_ % 2 == 0:
                            tickets.pause(
                                session=session, actor=agent, ticket=found, reason="x", now=before
                            )
                        else:
                            tickets.resume(session=session, actor=agent, ticket=found, now=before)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(40):
                _mark_all(pg, after)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=agent_work, args=(opened[0::2],)),
        threading.Thread(target=agent_work, args=(opened[1::2],)),
        threading.Thread(target=worker),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    pairs = _pairs(pg)
    assert all(risk is None for outcome, risk, _ in pairs if outcome == AT_RISK)
    _mark_all(pg, after)
    with transaction(pg) as session:
        rows = session.exec(select(Ticket).where(col(Ticket.id).in_([t.id for t in opened])))
        for found in rows.all():  # six rounds: every ticket resumed, its clock running
            assert found.status is not TicketStatus.PAUSED
            assert (found.response_outcome, found.response_risk_at) == (AT_RISK, None)
        tallies.fold(session=session)
    assert tallied(pg) == recount(pg)
