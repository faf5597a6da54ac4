"""Outbox senders: drain one channel's messages with pacing, retries and a dead letter.

Claim. A short transaction takes up to a batch of the channel's pending rows whose
``next_attempt_at`` has come (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), counts the
attempt, marks each row ``in flight`` and reserves it for ``notify_lease_seconds`` by
moving ``next_attempt_at``; then it commits. The platform call happens outside any
transaction, and a second short transaction records the outcome: ``sent`` (with the
platform's message id), a retry at ``now + backoff``, or ``dead``.

A row still marked ``in flight`` when its lease ends was being sent by a worker that died:
its outcome is unknown. Before sending it again the worker asks the sender
(`ConfirmingSender.confirm`) whether it arrived; a sender that cannot tell gets it again
(at least once). Because the attempt is counted at the claim, a message that kills its
worker every time still ends in the dead letter.

Retries: the platform's ``retry_after`` when it gives one, else exponential backoff with
jitter (`pacing.backoff`), up to ``notify_max_attempts`` attempts; then the row is ``dead``,
an ERROR is logged and every admin gets a console message (`notifications list` counts
them). Held customer messages (outside business hours, by preference) become pending at
their ``next_attempt_at`` (`promote_held`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, update
from sqlmodel import Session, col, select

from bot.channels.sending import (
    ConfirmingSender,
    Delivery,
    OutboxMessage,
    RateLimit,
    Sender,
    SendResult,
    limits_of,
)
from bot.db.engine import transaction
from bot.db.models import (
    ChannelIdentity,
    Notification,
    NotificationFile,
    NotificationStatus,
    Role,
    User,
)
from bot.i18n import Translator
from bot.services import notify
from bot.settings import Settings
from bot.worker.clock import Clock
from bot.worker.pacing import RateLimiter, backoff
from handlers.model import OutgoingFile

log = logging.getLogger(__name__)

IN_FLIGHT = "in flight"
LOCKED_RETRY_SECONDS = 0.05
#: Longest pacing wait spent in place; a longer one puts the message back in the queue.
MAX_INLINE_WAIT = timedelta(seconds=2)


def to_message(row: Notification, *, in_doubt: bool = False) -> OutboxMessage:
    """A detached copy of an outbox row for a sender."""
    assert row.id is not None
    return OutboxMessage(
        id=row.id,
        idempotency_key=row.idempotency_key,
        channel=row.channel,
        chat_id=row.chat_id,
        lang=row.lang,
        text=row.text,
        event=row.event,
        audience=row.audience,
        actions=tuple(dict(a) for a in row.actions),
        mentions=tuple(row.mentions),
        attachments=tuple(dict(a) for a in row.attachments or ()),
        ticket_id=row.ticket_id,
        user_id=row.user_id,
        attempt=row.attempts,
        in_doubt=in_doubt,
    )


def attach_files(*, session: Session, messages: list[OutboxMessage]) -> list[OutboxMessage]:
    """The messages with the files stored for them (one query for the whole batch)."""
    if not messages:
        return messages
    query = (
        select(NotificationFile)
        .where(col(NotificationFile.notification_id).in_([m.id for m in messages]))
        .order_by(col(NotificationFile.id))
    )
    files: dict[int, list[OutgoingFile]] = {}
    for stored in session.exec(query):
        files.setdefault(stored.notification_id, []).append(
            OutgoingFile(name=stored.name, mime=stored.mime, data=stored.data)
        )
    return [
        dataclasses.replace(m, files=tuple(files[m.id])) if m.id in files else m for m in messages
    ]


def promote_held(*, engine: Engine, now: datetime) -> int:
    """Held messages whose time has come become pending; returns how many."""
    with transaction(engine) as session:
        result = session.execute(
            update(Notification)
            .where(
                col(Notification.status) == NotificationStatus.HELD,
                col(Notification.next_attempt_at) <= now,
            )
            .values(status=NotificationStatus.PENDING)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


def next_held(*, engine: Engine) -> datetime | None:
    """When the next held message is released."""
    with Session(engine) as session:
        query = select(func.min(Notification.next_attempt_at)).where(
            col(Notification.status) == NotificationStatus.HELD
        )
        value: datetime | None = session.exec(query).one()
        return value


def alert_admins(*, session: Session, row: Notification, now: datetime, settings: Settings) -> int:
    """Tell every admin (on their console identities) that a message went to the dead letter."""
    if row.audience == "admin":
        return 0  # never alert about an alert
    admins = session.exec(select(User).where(User.role == Role.ADMIN).order_by(col(User.id)))
    written = 0
    for admin in admins.all():

        def text(t: Translator) -> str:
            return t.gettext(
                "Undeliverable message %(id)s (%(event)s to %(channel)s %(chat)s) after "
                "%(attempts)s attempts: %(error)s"
            ) % {
                "id": row.id,
                "event": row.event,
                "channel": row.channel,
                "chat": row.chat_id,
                "attempts": row.attempts,
                "error": row.last_error or "",
            }

        written += notify.emit_to_user(
            session=session,
            user=admin,
            audience="admin",
            event="dead_letter",
            now=now,
            key=f"dead:{row.id}",
            text=text,
            ticket_id=row.ticket_id,
            channels=("console",),
            settings=settings,
        )
    return written


class OutboxDrainer:
    """Sends one channel's outbox through its `Sender`."""

    def __init__(
        self,
        *,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        sender: Sender,
        batch_size: int = 50,
        concurrency: int = 8,
        rng: random.Random | None = None,
        limits: RateLimit | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.sender = sender
        self.channel = sender.channel
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.rng = rng or random.Random()
        self.limiter = RateLimiter(limits_of(sender, limits))
        self.lease = timedelta(seconds=settings.notify_lease_seconds)
        self.postgres = engine.dialect.name == "postgresql"
        self.inflight: set[int] = set()
        self.stats: Counter[str] = Counter()
        self.deadline: datetime | None = None

    # ------------------------------------------------------------------ transactions

    def claim(self) -> list[OutboxMessage]:
        """Reserve the next due messages of the channel (one short transaction)."""
        now = self.clock.now()
        claimed: list[OutboxMessage] = []
        with transaction(self.engine) as session:
            query = select(Notification).where(
                col(Notification.status) == NotificationStatus.PENDING,
                col(Notification.channel) == self.channel,
                col(Notification.next_attempt_at) <= now,
            )
            if self.inflight:
                query = query.where(col(Notification.id).not_in(self.inflight))
            offboarded = select(User.id).where(col(User.active).is_(False))
            query = query.where(
                or_(
                    col(Notification.user_id).is_(None),
                    col(Notification.user_id).not_in(offboarded),
                )
            )
            query = query.order_by(col(Notification.next_attempt_at), col(Notification.id))
            query = query.limit(self.batch_size)
            if self.postgres:
                query = query.with_for_update(skip_locked=True)
            for row in session.exec(query).all():
                in_doubt = row.last_error == IN_FLIGHT
                if in_doubt and row.attempts >= self.settings.notify_max_attempts:
                    # Every attempt so far died with its worker: stop trying.
                    self._dead(session, row, "in flight when its worker stopped", now)
                    continue
                row.attempts += 1
                row.last_error = IN_FLIGHT
                row.next_attempt_at = now + self.lease
                session.add(row)
                claimed.append(to_message(row, in_doubt=in_doubt))
            claimed = attach_files(session=session, messages=claimed)
        self.inflight.update(m.id for m in claimed)
        return claimed

    def next_pending(self) -> datetime | None:
        """When the channel's next pending message is due."""
        with Session(self.engine) as session:
            query = select(func.min(Notification.next_attempt_at)).where(
                col(Notification.status) == NotificationStatus.PENDING,
                col(Notification.channel) == self.channel,
            )
            value: datetime | None = session.exec(query).one()
            return value

    def record(self, message: OutboxMessage, result: SendResult) -> None:
        """Store the outcome of one attempt (one short transaction)."""
        now = self.clock.now()
        try:
            with transaction(self.engine) as session:
                row = session.get(Notification, message.id)
                if row is not None:
                    self._apply(session, row, message, result, now)
        finally:
            self.inflight.discard(message.id)

    def _apply(
        self,
        session: Session,
        row: Notification,
        message: OutboxMessage,
        result: SendResult,
        now: datetime,
    ) -> None:
        if result.outcome is Delivery.DELIVERED:
            if row.status is NotificationStatus.SENT:
                log.warning("message %s was already recorded as sent", row.id)
                return
            row.status = NotificationStatus.SENT
            row.sent_at = now
            row.external_id = result.external_id
            row.last_error = None
            self.stats["sent"] += 1
            session.add(row)
            return
        if row.status is not NotificationStatus.PENDING or row.attempts != message.attempt:
            log.warning("message %s was taken over by another worker", row.id)
            return
        error = result.error or result.outcome.value
        if result.outcome is Delivery.PERMANENT_FAILURE:
            self._dead(session, row, error, now)
        elif result.outcome is Delivery.UNREACHABLE:
            identities = session.exec(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == row.channel,
                    ChannelIdentity.external_id == row.chat_id,
                )
            ).all()
            for identity in identities:
                identity.reachable = False
                session.add(identity)
            self._dead(session, row, f"unreachable: {error}", now, alert=not identities)
        elif row.attempts >= self.settings.notify_max_attempts:
            self._dead(session, row, error, now)
        else:
            row.last_error = error
            row.next_attempt_at = now + backoff(
                attempt=row.attempts,
                base=self.settings.notify_backoff_seconds,
                cap=self.settings.notify_backoff_max_seconds,
                retry_after=result.retry_after_seconds,
                rng=self.rng,
            )
            self.stats["retried"] += 1
            session.add(row)

    def _dead(
        self, session: Session, row: Notification, error: str, now: datetime, *, alert: bool = True
    ) -> None:
        row.status = NotificationStatus.DEAD
        row.last_error = error
        session.add(row)
        self.stats["dead"] += 1
        log.error(
            "dead letter: message %s (%s, %s %s) after %s attempts: %s",
            row.id,
            row.event,
            row.channel,
            row.chat_id,
            row.attempts,
            error,
        )
        if alert:
            alert_admins(session=session, row=row, now=now, settings=self.settings)

    def release(self, message: OutboxMessage, at: datetime) -> None:
        """Put a claimed message back in the queue, unattempted, until `at`."""
        try:
            with transaction(self.engine) as session:
                row = session.get(Notification, message.id)
                if (
                    row is not None
                    and row.status is NotificationStatus.PENDING
                    and row.attempts == message.attempt
                ):
                    row.attempts -= 1
                    row.last_error = IN_FLIGHT if message.in_doubt else None
                    row.next_attempt_at = at
                    session.add(row)
        finally:
            self.inflight.discard(message.id)

    # ------------------------------------------------------------------ sending

    async def deliver(self, messages: list[OutboxMessage]) -> None:
        """Send claimed messages: chats in parallel, each chat in order, all paced.

        If recording an outcome fails (a database error), the messages not yet recorded
        leave this process's in-flight set: their lease ends and they are claimed again, in
        doubt, instead of being skipped by this process until it restarts.
        """
        try:
            await self._deliver(messages)
        finally:
            for message in messages:
                self.inflight.discard(message.id)

    async def _deliver(self, messages: list[OutboxMessage]) -> None:
        by_chat: dict[str, list[OutboxMessage]] = {}
        for message in messages:
            by_chat.setdefault(message.chat_id, []).append(message)
        gate = asyncio.Semaphore(self.concurrency)

        async def one_chat(queue: list[OutboxMessage]) -> None:
            async with gate:
                for index, message in enumerate(queue):
                    later = await self._deliver_one(message)
                    if later is not None:  # keep the chat's order: the rest waits too
                        for rest in queue[index + 1 :]:
                            await asyncio.to_thread(self.release, rest, later)
                        return

        # Every chat runs to its end even when another fails, so no send is left orphaned.
        outcomes = await asyncio.gather(
            *(one_chat(queue) for queue in by_chat.values()), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _deliver_one(self, message: OutboxMessage) -> datetime | None:
        """Send one message; returns when to retry it when pacing put it back."""
        if message.in_doubt and isinstance(self.sender, ConfirmingSender):
            try:
                arrived = await self.sender.confirm(message)
            except Exception:
                log.exception("could not confirm message %s", message.id)
                arrived = None
            self.stats["in_doubt"] += 1
            if arrived:
                self.stats["confirmed"] += 1
                log.info("message %s had arrived before the restart", message.id)
                await asyncio.to_thread(self.record, message, SendResult.delivered())
                return None
        now = self.clock.now()
        wait = self.limiter.delay(message.chat_id, now)
        if wait > MAX_INLINE_WAIT:
            await asyncio.to_thread(self.release, message, now + wait)
            self.stats["deferred"] += 1
            return now + wait
        if wait > timedelta(0):
            await self.clock.sleep_until(now + wait)
        self.limiter.take(message.chat_id, self.clock.now())
        try:
            result = await self.sender.send(message)
        except Exception as exc:
            log.warning("sending message %s failed: %r", message.id, exc)
            result = SendResult.retry_after(None, f"{type(exc).__name__}: {exc}")
        if not isinstance(result, SendResult):
            log.error("the %s sender answered %r instead of a SendResult", self.channel, result)
            result = SendResult.retry_after(None, "invalid answer from the sender")
        await asyncio.to_thread(self.record, message, result)
        return None

    # ------------------------------------------------------------------ the loop

    async def drain(self) -> int:
        """Claim and send until nothing is due now; returns the messages attempted."""
        total = 0
        while batch := await asyncio.to_thread(self.claim):
            await self.deliver(batch)
            total += len(batch)
        return total

    async def run(self, *, stop: asyncio.Event, wake: asyncio.Event) -> None:
        """Send the channel's messages as they become due until `stop` is set."""
        bound = self.settings.worker_max_sleep_seconds
        while not stop.is_set():
            wake.clear()
            self.deadline = None
            try:
                batch = await asyncio.to_thread(self.claim)
                if batch:
                    await self.deliver(batch)
                    continue
                next_at = await asyncio.to_thread(self.next_pending)
            except Exception:
                log.exception("outbox %s failed; retrying", self.channel)
                await self.clock.sleep_until(None, wake=stop, at_most=min(bound, 1.0))
                continue
            if next_at is not None and next_at <= self.clock.now():
                await self.clock.sleep_until(None, wake=stop, at_most=LOCKED_RETRY_SECONDS)
                continue
            self.deadline = next_at
            await self.clock.sleep_until(next_at, wake=wake, at_most=bound)
        self.deadline = None

    def wants_wake(self, earliest: datetime) -> bool:
        """Whether a message due at `earliest` comes before the planned wake-up."""
        deadline = self.deadline
        return deadline is None or earliest < deadline
