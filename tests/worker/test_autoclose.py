"""The worker's auto-close pass: a resolved ticket without the customer's answer closes at the
end of its fifth business day, once, and the customer is asked for a rating."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from bot.db.engine import transaction
from bot.db.models import Ticket, TicketStatus
from bot.services import tickets
from bot.settings import Settings, using_settings
from bot.worker.autoclose import AutoClose
from bot.worker.clock import ManualClock
from bot.worker.runner import Worker
from tests.worker.conftest import notifications, open_ticket, staff


def test_the_worker_closes_unanswered_resolutions_once(
    seeded: Engine, start: datetime, settings: Settings
) -> None:
    ticket = open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-down-not-hardware",
        priority="express",
        now=start,
    )
    agent = staff(seeded)
    with transaction(seeded) as session, using_settings(settings):
        found = session.get(Ticket, ticket.id)
        assert found is not None
        tickets.resolve(session=session, actor=agent, ticket=found, now=start, minutes=30)
    # Resolved Monday 23 November: Tue … Mon 30 are the five business days.
    clock = ManualClock(start + timedelta(days=7))  # Monday 30, 09:00: not yet
    passes = AutoClose(engine=seeded, settings=settings, clock=clock)
    assert passes.close_now() == 0
    clock.set(start + timedelta(days=7, hours=12))  # Monday 30, 21:00: after its close
    assert passes.close_now() == 1
    assert passes.close_now() == 0
    with transaction(seeded) as session:
        closed = session.get(Ticket, ticket.id)
        assert closed is not None
        assert closed.status is TicketStatus.CLOSED
    [row] = [n for n in notifications(seeded, event="closed") if n.audience == "customer"]
    assert [a["payload"] for a in row.actions] == [
        f"t:rate{n}:{ticket.reference}" for n in range(1, 6)
    ]


async def test_run_once_reports_the_auto_close_pass(
    seeded: Engine, start: datetime, settings: Settings
) -> None:
    worker = Worker(engine=seeded, settings=settings, clock=ManualClock(start), senders=[])
    figures = await worker.run_once()
    assert figures["auto_closed"] == 0
