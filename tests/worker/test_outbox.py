"""Senders drain the outbox: pacing, retries with backoff, dead letters, crash recovery."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.console import ConsoleSession
from bot.db.engine import transaction
from bot.db.models import ChannelIdentity, Notification, NotificationStatus, User
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.console import ConsoleLogSender, read_log
from bot.worker.outbox import IN_FLIGHT, OutboxDrainer, promote_held
from bot.worker.runner import Worker, default_senders
from bot.worker.senders import OutboxMessage, RateLimit, SendResult
from tests.worker.conftest import notifications, open_ticket


class ScriptedSender:
    """Answers from a script (then `default`), and records every call."""

    channel = "console"
    limits = RateLimit(per_second=1000, per_chat_per_second=1000, burst=100)

    def __init__(self, *script: SendResult | Exception, default: SendResult | None = None) -> None:
        self.script = list(script)
        self.default = default or SendResult.delivered(external_id="m1")
        self.calls: list[OutboxMessage] = []

    async def send(self, notification: OutboxMessage) -> SendResult:
        self.calls.append(notification)
        answer = self.script.pop(0) if self.script else self.default
        if isinstance(answer, Exception):
            raise answer
        return answer


class ConfirmingScriptedSender(ScriptedSender):
    """Also says whether a message already arrived."""

    def __init__(self, arrived: bool | None, *script: SendResult) -> None:
        super().__init__(*script)
        self.arrived = arrived
        self.asked: list[int] = []

    async def confirm(self, notification: OutboxMessage) -> bool | None:
        self.asked.append(notification.id)
        return self.arrived


def queue(
    engine: Engine, now: datetime, *, chat: str = "demo-requester", count: int = 1, **fields: object
) -> list[int]:
    """Put messages in the outbox for a console chat; returns their ids."""
    ids = []
    with transaction(engine) as session:
        for index in range(count):
            row = Notification(
                idempotency_key=f"test:{chat}:{now.isoformat()}:{index}:{fields}",
                audience=str(fields.pop("audience", "customer")),
                event="agent_comment",
                channel="console",
                chat_id=chat,
                text=f"message {index}",
                next_attempt_at=now,
                created_at=now,
                **fields,  # type: ignore[arg-type]
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            ids.append(row.id)
    return ids


def row(engine: Engine, notification_id: int) -> Notification:
    with transaction(engine) as session:
        found = session.get(Notification, notification_id)
        assert found is not None
        return found


def drainer(
    engine: Engine, settings: Settings, clock: ManualClock, sender: ScriptedSender
) -> OutboxDrainer:
    return OutboxDrainer(engine=engine, settings=settings, clock=clock, sender=sender)


async def test_a_delivered_message_is_marked_sent_once(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    sender = ScriptedSender()
    outbox = drainer(seeded, settings, clock, sender)
    assert await outbox.drain() == 1
    sent = row(seeded, ident)
    assert sent.status is NotificationStatus.SENT
    assert (sent.attempts, sent.external_id, sent.sent_at) == (1, "m1", start)
    assert sent.last_error is None
    assert await outbox.drain() == 0
    assert len(sender.calls) == 1


async def test_transient_failures_back_off_exponentially_with_jitter(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    sender = ScriptedSender(
        SendResult.retry_after(None, "timeout"), RuntimeError("connection reset")
    )
    outbox = drainer(seeded, settings, clock, sender)
    await outbox.drain()
    first = row(seeded, ident)
    assert (first.status, first.attempts, first.last_error) == (
        NotificationStatus.PENDING,
        1,
        "timeout",
    )
    delay = first.next_attempt_at - start
    assert timedelta(seconds=2.5) <= delay <= timedelta(seconds=5)  # base 5 s, equal jitter
    assert await outbox.drain() == 0  # not yet
    clock.set(first.next_attempt_at)
    await outbox.drain()
    second = row(seeded, ident)
    assert second.attempts == 2
    assert "connection reset" in (second.last_error or "")
    delay = second.next_attempt_at - clock.now()
    assert timedelta(seconds=5) <= delay <= timedelta(seconds=10)
    clock.set(second.next_attempt_at)
    await outbox.drain()
    assert row(seeded, ident).status is NotificationStatus.SENT
    assert len(sender.calls) == 3


async def test_the_platforms_retry_after_is_respected(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    outbox = drainer(seeded, settings, clock, ScriptedSender(SendResult.retry_after(30, "429")))
    await outbox.drain()
    delay = row(seeded, ident).next_attempt_at - start
    assert timedelta(seconds=30) <= delay <= timedelta(seconds=31)


async def test_after_n_failures_the_message_is_dead_and_admins_are_told(
    seeded: Engine, settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"notify_max_attempts": 3})
    (ident,) = queue(seeded, clock.now())
    sender = ScriptedSender(default=SendResult.retry_after(None, "HTTP 502"))
    outbox = drainer(seeded, settings, clock, sender)
    with caplog.at_level(logging.ERROR, logger="bot.worker.outbox"):
        for _ in range(6):
            await outbox.drain()
            clock.advance(hours=1)
    dead = row(seeded, ident)
    assert (dead.status, dead.attempts, dead.last_error) == (
        NotificationStatus.DEAD,
        3,
        "HTTP 502",
    )
    assert any("dead letter" in r.getMessage() for r in caplog.records)
    alerts = notifications(seeded, event="dead_letter")
    # The alert to the admin failed too (same sender) but is never alerted about itself.
    assert [(a.audience, a.chat_id) for a in alerts] == [("admin", "demo-admin")]
    assert str(ident) in alerts[0].text


async def test_a_permanent_failure_is_dead_at_once(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    sender = ScriptedSender(SendResult.permanent_failure("message too long"))
    await drainer(seeded, settings, clock, sender).drain()
    dead = row(seeded, ident)
    assert (dead.status, dead.attempts) == (NotificationStatus.DEAD, 1)
    assert len(notifications(seeded, event="dead_letter")) == 1


async def test_an_unreachable_identity_is_no_longer_used(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    sender = ScriptedSender(SendResult.unreachable("bot blocked by the user"))
    await drainer(seeded, settings, clock, sender).drain()
    assert row(seeded, ident).status is NotificationStatus.DEAD
    with transaction(seeded) as session:
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.external_id == "demo-requester")
        ).one()
        assert identity.reachable is False
    assert not notifications(seeded, event="dead_letter")  # a user's choice, not a fault
    ticket = open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=start,
    )
    opened = [n for n in notifications(seeded, event="opened") if n.ticket_id == ticket.id]
    assert [n.audience for n in opened] == ["agent"]  # nothing queued for the requester


async def test_an_in_doubt_message_that_arrived_is_not_sent_again(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    crashed = drainer(seeded, settings, clock, ScriptedSender())
    assert [m.id for m in crashed.claim()] == [ident]  # ... and the worker dies here
    claimed = row(seeded, ident)
    assert (claimed.last_error, claimed.attempts) == (IN_FLIGHT, 1)
    sender = ConfirmingScriptedSender(True)
    restarted = drainer(seeded, settings, clock, sender)
    assert await restarted.drain() == 0  # reserved by the dead worker until its lease ends
    clock.advance(seconds=settings.notify_lease_seconds)
    await restarted.drain()
    assert sender.asked == [ident]
    assert sender.calls == []
    assert row(seeded, ident).status is NotificationStatus.SENT


async def test_an_in_doubt_message_that_cannot_be_confirmed_is_sent_again(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    (ident,) = queue(seeded, start)
    drainer(seeded, settings, clock, ScriptedSender()).claim()
    clock.advance(seconds=settings.notify_lease_seconds)
    sender = ScriptedSender()
    await drainer(seeded, settings, clock, sender).drain()
    assert [m.id for m in sender.calls] == [ident]
    assert sender.calls[0].in_doubt
    assert row(seeded, ident).attempts == 2


async def test_a_database_error_while_recording_does_not_strand_the_batch(
    seeded: Engine,
    settings: Settings,
    clock: ManualClock,
    start: datetime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A failed outcome write (SQLite busy) used to leave the chat's other messages claimed
    by this process forever: it skipped them until it restarted."""
    ids = queue(seeded, start, count=3)
    sender = ScriptedSender()
    outbox = drainer(seeded, settings, clock, sender)
    record = outbox.record
    failures = [RuntimeError("database is locked")]

    def flaky(message: OutboxMessage, result: SendResult) -> None:
        if failures:
            raise failures.pop()
        record(message, result)

    monkeypatch.setattr(outbox, "record", flaky)
    with pytest.raises(RuntimeError, match="locked"):
        await outbox.deliver(outbox.claim())
    assert outbox.inflight == set()
    assert [m.id for m in sender.calls] == ids[:1]  # the chat stopped at its first failure
    clock.advance(seconds=settings.notify_lease_seconds)  # the claims' lease ends
    assert await outbox.drain() == 3  # the same process takes them again, in doubt
    assert [row(seeded, i).status for i in ids] == [NotificationStatus.SENT] * 3


async def test_a_message_that_kills_every_worker_ends_in_the_dead_letter(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    settings = settings.model_copy(update={"notify_max_attempts": 3})
    (ident,) = queue(seeded, start)
    for _ in range(3):
        assert drainer(seeded, settings, clock, ScriptedSender()).claim()
        clock.advance(seconds=settings.notify_lease_seconds)
    assert drainer(seeded, settings, clock, ScriptedSender()).claim() == []
    assert row(seeded, ident).status is NotificationStatus.DEAD


async def test_pacing_puts_a_chats_later_messages_back_in_order(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime
) -> None:
    ids = queue(seeded, start, count=3)
    other = queue(seeded, start, chat="demo-agent")
    sender = ScriptedSender()
    sender.limits = RateLimit(1000, per_chat_per_second=0.1, burst=100, chat_burst=1)
    outbox = drainer(seeded, settings, clock, sender)
    await outbox.drain()
    assert sorted(m.id for m in sender.calls) == sorted([ids[0], *other])
    later = [row(seeded, i) for i in ids[1:]]
    assert all(r.status is NotificationStatus.PENDING and r.attempts == 0 for r in later)
    assert all(r.next_attempt_at == start + timedelta(seconds=10) for r in later)
    clock.advance(seconds=10)
    await outbox.drain()
    assert [m.id for m in sender.calls][-1] == ids[1]
    clock.advance(seconds=10)
    await outbox.drain()
    assert [m.id for m in sender.calls][-1] == ids[2]


async def test_held_customer_messages_wait_for_the_opening(
    seeded: Engine, settings: Settings, clock: ManualClock
) -> None:
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=clock.now().tzinfo)
    with transaction(seeded) as session:
        requester = session.exec(select(User).where(User.handle == "demo-requester")).one()
        requester.notify_outside_hours = False
        session.add(requester)
    ticket = open_ticket(
        seeded,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-manual-restart",
        priority="express",
        now=saturday,
    )
    held = [n for n in notifications(seeded, event="opened") if n.audience == "customer"]
    assert [n.status for n in held] == [NotificationStatus.HELD]
    monday_0800_brussels = datetime(2026, 11, 30, 7, 0, tzinfo=saturday.tzinfo)
    assert held[0].next_attempt_at == monday_0800_brussels
    assert promote_held(engine=seeded, now=monday_0800_brussels - timedelta(seconds=1)) == 0
    assert promote_held(engine=seeded, now=monday_0800_brussels) == 1
    assert row(seeded, held[0].id or 0).status is NotificationStatus.PENDING
    assert ticket.id is not None


async def test_console_messages_wait_for_the_console_session_by_default(
    seeded: Engine, start: datetime
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.console_delivery == "inbox"
    assert default_senders(settings) == []
    queue(seeded, start, count=2)
    clock = ManualClock(start)
    figures = await Worker(engine=seeded, settings=settings, clock=clock).run_once()
    # The worker now also reports its retention pass ("pruned"): nothing is old enough here.
    # Issue 15 added the maintenance/availability pass ("maintenance"): nothing due here.
    assert figures == {"released": 0, "milestones": 0, "maintenance": 0, "pruned": 0}
    console = ConsoleSession(
        engine=seeded, settings=settings, handle="demo-requester", clock=clock.now
    )
    assert console.inbox() == ["📣 message 0", "📣 message 1"]
    assert console.inbox() == []


async def test_the_console_log_sender_writes_each_message_once(
    seeded: Engine, settings: Settings, clock: ManualClock, start: datetime, console_log: Path
) -> None:
    ids = queue(seeded, start, count=2)
    (sender,) = default_senders(settings)
    assert isinstance(sender, ConsoleLogSender)
    outbox = OutboxDrainer(engine=seeded, settings=settings, clock=clock, sender=sender)
    await outbox.drain()
    lines = read_log(console_log)
    assert [line["id"] for line in lines] == ids
    assert [line["text"] for line in lines] == ["message 0", "message 1"]
    message = OutboxMessage(
        id=ids[0],
        idempotency_key=str(lines[0]["key"]),
        channel="console",
        chat_id="demo-requester",
        lang="fr",
        text="",
        event="agent_comment",
        audience="customer",
    )
    assert await sender.confirm(message) is True
    other = OutboxMessage(**{**message.__dict__, "idempotency_key": "nope"})
    assert await sender.confirm(other) is False
