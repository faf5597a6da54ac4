"""Two workers on one PostgreSQL database share the work without a double send."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from bot.db.engine import make_engine, transaction
from bot.db.models import MilestoneRow, MilestoneStatus, Notification, NotificationStatus, Ticket
from bot.services import demo
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.dispatcher import Dispatcher
from bot.worker.outbox import OutboxDrainer
from bot.worker.senders import OutboxMessage, RateLimit, SendResult
from tests.worker.conftest import PostgresServer, open_ticket

pytestmark = pytest.mark.postgres

RESTART = "dedicated-server-manual-restart"


@pytest.fixture
def pg(postgres: PostgresServer, start: datetime) -> Iterator[Engine]:
    """A fresh PostgreSQL database with the demo data."""
    engine = make_engine(postgres.new_database())
    with transaction(engine) as session:
        demo.seed(session=session, now=start)
    yield engine
    engine.dispose()


class Recorder:
    """A console sender that records what it delivered (shared by both workers)."""

    channel = "console"
    limits = RateLimit(per_second=100_000, per_chat_per_second=100_000, burst=100_000)

    def __init__(self, log: list[tuple[str, str]], name: str) -> None:
        self.log = log
        self.name = name

    async def send(self, notification: OutboxMessage) -> SendResult:
        self.log.append((self.name, notification.idempotency_key))
        await asyncio.sleep(0)
        return SendResult.delivered()


def test_two_workers_take_disjoint_batches(
    pg: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    for index in range(30):
        pack, intervention, priority = (
            ("proximus-internet", "no-internet", "p1")
            if index % 3 == 0
            else ("telenet-hosting-cloud", "dedicated-server-down-hardware", "express")
        )
        open_ticket(pg, pack_id=pack, intervention=intervention, priority=priority, now=start)
    with transaction(pg) as session:
        total = len(session.exec(select(MilestoneRow)).all())
    clock.advance(days=5)
    delivered: list[tuple[str, str]] = []
    fired: dict[str, list[int]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            dispatcher = Dispatcher(engine=pg, settings=settings, clock=clock, batch_size=7)
            outbox = OutboxDrainer(
                engine=pg,
                settings=settings,
                clock=clock,
                sender=Recorder(delivered, name),
                batch_size=9,
            )
            barrier.wait()
            while True:
                batch = dispatcher.dispatch_batch()
                fired[name].extend(f.milestone_id for f in batch.fired)
                sent = asyncio.run(outbox.drain())
                if batch.claimed == 0 and sent == 0 and dispatcher.next_due() is None:
                    break
            asyncio.run(outbox.drain())
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert fired["a"], "worker a claimed nothing"
    assert fired["b"], "worker b claimed nothing"
    assert not set(fired["a"]) & set(fired["b"])
    assert len(fired["a"]) + len(fired["b"]) == total
    keys = Counter(key for _name, key in delivered)
    assert {name for name, _key in delivered} == {"a", "b"}
    assert max(keys.values()) == 1
    with transaction(pg) as session:
        rows = session.exec(select(Notification)).all()
        assert {row.status for row in rows} == {NotificationStatus.SENT}
        assert set(keys) == {row.idempotency_key for row in rows}
        left = session.exec(
            select(MilestoneRow).where(MilestoneRow.status == MilestoneStatus.PENDING)
        ).all()
    assert left == []


def test_a_ticket_locked_by_a_user_transaction_is_skipped_not_waited_for(
    pg: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    busy = open_ticket(
        pg, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    free = open_ticket(
        pg, pack_id="telenet-hosting-cloud", intervention=RESTART, priority="express", now=start
    )
    clock.advance(days=5)
    dispatcher = Dispatcher(engine=pg, settings=settings, clock=clock)
    with pg.connect() as holder:
        holder.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": busy.id})
        fired = dispatcher.dispatch_due()
        assert fired == 10
        with transaction(pg) as session:
            tickets = {
                m.ticket_id
                for m in session.exec(
                    select(MilestoneRow).where(MilestoneRow.status == MilestoneStatus.DONE)
                )
            }
        assert tickets == {free.id}
        holder.rollback()
    assert dispatcher.dispatch_due() == 10
    with transaction(pg) as session:
        stored = session.get(Ticket, busy.id)
        assert stored is not None
        assert stored.response_breached


def test_every_notification_status_fits_the_migrated_enum(pg: Engine, start: datetime) -> None:
    """The migrated PostgreSQL enum type knows every status the model has (DROPPED was missing,
    so offboarding and the retention pass failed there)."""
    with transaction(pg) as session:
        for status in NotificationStatus:
            session.add(
                Notification(
                    idempotency_key=f"enum:{status.value}",
                    audience="customer",
                    event="agent_comment",
                    channel="console",
                    chat_id="demo-requester",
                    text="x",
                    status=status,
                    next_attempt_at=start,
                    created_at=start,
                )
            )
    with transaction(pg) as session:
        stored = {n.status for n in session.exec(select(Notification)).all()}
    assert stored == set(NotificationStatus)
