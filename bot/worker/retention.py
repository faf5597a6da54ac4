"""Retention: the worker deletes old raw inbound payloads and delivered outbox messages.

Pruned, once older than `retention_days`: inbound updates already handled (their only use is
deduplicating a platform's redelivery, which comes within minutes or a day) and outbox
messages whose life is over (sent, dead or dropped). Never pruned: pending or held messages,
unhandled updates (a restart may still replay them), and everything audits read (tickets,
ticket events, comments, ledger entries, time bank). Deletion goes in batches of
`retention_batch_size` rows per transaction, so the tables are never locked for long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, delete, func, select
from sqlmodel import col

from bot.db.models import InboundUpdate, Notification, NotificationStatus
from bot.settings import Settings
from bot.worker.clock import Clock

log = logging.getLogger(__name__)

#: Outbox states after which a message is never sent again.
FINISHED = (NotificationStatus.SENT, NotificationStatus.DEAD, NotificationStatus.DROPPED)
#: How often the worker prunes (on its own clock).
PRUNE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class Pruned:
    """Rows deleted by one pruning pass."""

    inbound: int = 0
    notifications: int = 0

    @property
    def total(self) -> int:
        """All rows deleted."""
        return self.inbound + self.notifications


def _delete_in_batches(
    *,
    engine: Engine,
    model: type[InboundUpdate] | type[Notification],
    where: Sequence[ColumnElement[bool]],
    batch_size: int,
) -> int:
    """Delete the rows matching `where`, `batch_size` per transaction; rows deleted."""
    ids_query = select(col(model.id)).where(*where).order_by(col(model.id)).limit(batch_size)
    total = 0
    while True:
        with engine.begin() as connection:
            ids = list(connection.execute(ids_query).scalars())
            if not ids:
                return total
            connection.execute(delete(model).where(col(model.id).in_(ids)))
        total += len(ids)


def prune_inbound(*, engine: Engine, before: datetime, batch_size: int) -> int:
    """Delete handled inbound updates received before `before`; rows deleted."""
    where = (
        col(InboundUpdate.processed_at).is_not(None),
        col(InboundUpdate.received_at) < before,
    )
    return _delete_in_batches(
        engine=engine, model=InboundUpdate, where=where, batch_size=batch_size
    )


def prune_notifications(*, engine: Engine, before: datetime, batch_size: int) -> int:
    """Delete sent, dead and dropped outbox messages last touched before `before`."""
    where = (
        col(Notification.status).in_(FINISHED),
        col(Notification.created_at) < before,
        func.coalesce(col(Notification.sent_at), col(Notification.next_attempt_at)) < before,
    )
    return _delete_in_batches(engine=engine, model=Notification, where=where, batch_size=batch_size)


def prune(*, engine: Engine, settings: Settings, now: datetime) -> Pruned:
    """One pruning pass with the settings' retention and batch size."""
    before = now - timedelta(days=settings.retention_days)
    batch = settings.retention_batch_size
    return Pruned(
        inbound=prune_inbound(engine=engine, before=before, batch_size=batch),
        notifications=prune_notifications(engine=engine, before=before, batch_size=batch),
    )


class Retention:
    """Prunes old rows every `PRUNE_EVERY` of the worker's clock."""

    def __init__(self, *, engine: Engine, settings: Settings, clock: Clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    def prune_now(self) -> Pruned:
        """One pass at the clock's current instant."""
        pruned = prune(engine=self.engine, settings=self.settings, now=self.clock.now())
        if pruned.total:
            log.info(
                "retention: %d inbound update(s) and %d notification(s) pruned",
                pruned.inbound,
                pruned.notifications,
            )
        return pruned

    async def run(self, *, stop: asyncio.Event) -> None:
        """Prune now and then every `PRUNE_EVERY` until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.prune_now)
            except Exception:
                log.exception("retention pass failed; retrying later")
            await self.clock.sleep_until(self.clock.now() + PRUNE_EVERY, wake=stop)
