"""The Telegram channel's own rows: raw updates (dedupe), ping message ids, reachability.

Synchronous and short: each function is one transaction, run in a worker thread, and never
spans a call to Telegram.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, Executable, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, col

from bot.db.models import ChannelIdentity, InboundUpdate, MessageRef

CHANNEL = "telegram"
PING = "ping"


def _insert_ignoring(engine: Engine, model: type[SQLModel], **values: object) -> Executable:
    """INSERT … ON CONFLICT DO NOTHING, in the engine's dialect."""
    if engine.dialect.name == "postgresql":
        return pg_insert(model).values(**values).on_conflict_do_nothing()
    return sqlite_insert(model).values(**values).on_conflict_do_nothing()


def store_update(*, engine: Engine, update_id: int, payload: str, now: datetime) -> bool:
    """Record a raw update; False when this update_id was already stored (a redelivery)."""
    statement = _insert_ignoring(
        engine,
        InboundUpdate,
        channel=CHANNEL,
        external_key=str(update_id),
        payload=payload,
        received_at=now,
    )
    with engine.begin() as connection:
        return bool(connection.execute(statement).rowcount)


def mark_processed(*, engine: Engine, update_id: int, now: datetime) -> None:
    """Note that an update was handled."""
    statement = (
        update(InboundUpdate)
        .where(
            col(InboundUpdate.channel) == CHANNEL,
            col(InboundUpdate.external_key) == str(update_id),
        )
        .values(processed_at=now)
    )
    with engine.begin() as connection:
        connection.execute(statement)


def claim_unprocessed(
    *, engine: Engine, received_after: datetime, received_before: datetime, now: datetime
) -> list[str]:
    """Raw updates stored but never handled (the process stopped first), marked as taken."""
    where = (
        col(InboundUpdate.channel) == CHANNEL,
        col(InboundUpdate.processed_at).is_(None),
        col(InboundUpdate.received_at) > received_after,
        col(InboundUpdate.received_at) <= received_before,
    )
    with engine.begin() as connection:
        rows = connection.execute(
            select(col(InboundUpdate.id), col(InboundUpdate.payload))
            .where(*where)
            .order_by(col(InboundUpdate.id))
        ).all()
        if rows:
            connection.execute(
                update(InboundUpdate)
                .where(col(InboundUpdate.id).in_([row.id for row in rows]))
                .values(processed_at=now)
            )
    return [str(row.payload) for row in rows]


def remember_ping(
    *, engine: Engine, ticket_id: int, chat_id: str, message_id: int, now: datetime
) -> str | None:
    """Store where a ticket's newest agent ping lives; returns the previous one's message id."""
    where = (
        col(MessageRef.ticket_id) == ticket_id,
        col(MessageRef.channel) == CHANNEL,
        col(MessageRef.chat_id) == chat_id,
        col(MessageRef.purpose) == PING,
    )
    with engine.begin() as connection:
        previous = connection.execute(
            select(col(MessageRef.message_id)).where(*where)
        ).scalar_one_or_none()
        if previous is None:
            connection.execute(
                _insert_ignoring(
                    engine,
                    MessageRef,
                    ticket_id=ticket_id,
                    channel=CHANNEL,
                    chat_id=chat_id,
                    purpose=PING,
                    message_id=str(message_id),
                    created_at=now,
                )
            )
            return None
        connection.execute(
            update(MessageRef).where(*where).values(message_id=str(message_id), created_at=now)
        )
        return None if previous == str(message_id) else str(previous)


def set_reachable(*, engine: Engine, external_id: str, reachable: bool) -> int:
    """Mark a Telegram account (un)reachable (blocked or unblocked the bot); rows changed."""
    statement = (
        update(ChannelIdentity)
        .where(
            col(ChannelIdentity.channel) == CHANNEL,
            col(ChannelIdentity.external_id) == external_id,
            col(ChannelIdentity.reachable) != reachable,
        )
        .values(reachable=reachable)
    )
    with engine.begin() as connection:
        return int(connection.execute(statement).rowcount)


class PingRefs:
    """The outbox sender's bookkeeping: where each ticket's newest agent ping lives."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def remember_ping(
        self, *, ticket_id: int, chat_id: str, message_id: int, now: datetime
    ) -> str | None:
        """Store the newest ping of a ticket; returns the previous one's message id."""
        return remember_ping(
            engine=self.engine, ticket_id=ticket_id, chat_id=chat_id, message_id=message_id, now=now
        )
