"""The Telegram channel's own rows: raw updates (the inbox), ping message ids, open questions,
reachability.

The only module of the Telegram channel that touches the database. Synchronous and short:
each function is one transaction, run in a worker thread, and never spans a call to
Telegram. The channel holds a `TelegramStore`; the outbox sender calls the functions.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update
from sqlmodel import col

from bot.db import inbound, open_questions, ticket_messages
from bot.db.dialect import insert_ignoring
from bot.db.inbound import Inbound
from bot.db.models import ChannelIdentity, MessageRef, Ticket
from bot.db.payloads import bounded_payload
from bot.db.payloads import is_truncated as is_truncated  # the channel's check
from handlers.model import Along

log = logging.getLogger(__name__)

DEFAULT_PAYLOAD_MAX_CHARS = 65_536

CHANNEL = "telegram"
PING = "ping"
MESSAGE = ticket_messages.MESSAGE  # any other bot message about a ticket (group or private)


class TelegramStore:
    """The channel's bookkeeping of raw updates and accounts, each call one transaction."""

    def __init__(self, engine: Engine, *, payload_max_chars: int = DEFAULT_PAYLOAD_MAX_CHARS):
        self.engine = engine
        self.payload_max_chars = payload_max_chars

    def inbound(
        self, *, update_id: int, payload: str, now: datetime, chat_key: str | None = None
    ) -> Inbound:
        """The inbox row of a raw update (bounded in size), under its chat (`chat_key`,
        default: the update itself)."""
        return Inbound(
            channel=CHANNEL,
            key=str(update_id),
            payload=bounded_payload(
                payload, max_chars=self.payload_max_chars, what="Telegram update"
            ),
            now=now,
            chat_key=chat_key if chat_key is not None else f"update:{update_id}",
            seq=update_id,  # Telegram numbers a bot's updates in order
        )

    def store_updates(self, updates: Sequence[Inbound]) -> list[bool | Exception]:
        """Record raw updates in the inbox in one transaction; for each, False when its
        update_id was already stored (or what storing it alone raised)."""
        stored = inbound.store_together(engine=self.engine, events=updates)
        return [found if isinstance(found, Exception) else found is not None for found in stored]

    def store_update(self, update: Inbound) -> bool:
        """Record one raw update (made by `inbound`); False when it was already stored."""
        (fresh,) = self.store_updates([update])
        if isinstance(fresh, Exception):
            raise fresh
        return fresh

    def take_open_question(self, *, chat_id: int, user_id: int, keep: int | None) -> int | None:
        """The message of the last question with buttons asked to this user in this chat
        (not `keep`), forgotten now."""
        with self.engine.begin() as connection:
            return OpenQuestionTake(chat_id=chat_id, user_id=user_id, keep=keep).on(connection)

    def open_question_take(
        self, *, chat_id: int, user_id: int, keep: int | None
    ) -> OpenQuestionTake:
        """`take_open_question` as a write for the event's transaction (`found` after it)."""
        return OpenQuestionTake(chat_id=chat_id, user_id=user_id, keep=keep)

    def open_question_keeper(
        self, *, chat_id: int, user_id: int, message_id: int, now: datetime
    ) -> Along:
        """The message carrying this user's live buttons in this chat from now on, as a write
        for the transaction marking the reply sent."""
        return functools.partial(
            keep_open_question, chat_id=chat_id, user_id=user_id, message_id=message_id, now=now
        )

    def answer_keeper(self, *, reference: str, chat_id: str, message_ids: list[int]) -> Along:
        """`keep_answer` as a write for the transaction marking the reply sent."""
        return functools.partial(
            keep_answer, reference=reference, chat_id=chat_id, message_ids=message_ids
        )

    def run(self, write: Along) -> None:
        """Run one of these writes in a transaction of its own."""
        with self.engine.begin() as connection:
            write(connection)

    def set_reachable(self, *, external_id: str, reachable: bool) -> int:
        """Mark a Telegram account (un)reachable; rows changed."""
        return set_reachable(engine=self.engine, external_id=external_id, reachable=reachable)

    def ticket_of_message(self, *, chat_id: str, message_id: int) -> str | None:
        """The reference of the ticket a bot message in a chat is about."""
        return ticket_of_message(engine=self.engine, chat_id=chat_id, message_id=message_id)


@dataclass
class OpenQuestionTake:
    """Forgets a user's open question in a chat on a transaction's connection (a write the
    core runs in the event's transaction); `found` is its message, unless it is `keep`."""

    chat_id: int
    user_id: int
    keep: int | None
    found: int | None = None

    def __call__(self, connection: Connection) -> None:
        self.found = self.on(connection)

    def on(self, connection: Connection) -> int | None:
        """Take the question in `connection`'s transaction; its message id (not `keep`)."""
        found = open_questions.take_on(
            connection, channel=CHANNEL, chat_id=str(self.chat_id), user_key=str(self.user_id)
        )
        if found is None or (self.keep is not None and found[0] == str(self.keep)):
            return None
        return int(found[0])


def keep_open_question(
    connection: Connection, *, chat_id: int, user_id: int, message_id: int, now: datetime
) -> None:
    """Store (or replace) the message carrying a user's live buttons in a chat."""
    open_questions.remember_on(
        connection,
        channel=CHANNEL,
        chat_id=str(chat_id),
        user_key=str(user_id),
        message_id=str(message_id),
        body="",
        now=now,
    )


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
                insert_ignoring(
                    engine.dialect.name,
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


def ping_of(*, engine: Engine, ticket_id: int, chat_id: str) -> str | None:
    """The message id of a ticket's newest agent ping in a chat."""
    query = select(col(MessageRef.message_id)).where(
        col(MessageRef.ticket_id) == ticket_id,
        col(MessageRef.channel) == CHANNEL,
        col(MessageRef.chat_id) == chat_id,
        col(MessageRef.purpose) == PING,
    )
    with engine.begin() as connection:
        found = connection.execute(query).scalar_one_or_none()
    return None if found is None else str(found)


def remember_message(*, engine: Engine, ticket_id: int, chat_id: str, message_id: int) -> None:
    """Remember a bot message about a ticket in a chat (replies to it reach the ticket)."""
    with engine.begin() as connection:
        connection.execute(
            insert_ignoring(
                engine.dialect.name,
                MessageRef,
                ticket_id=ticket_id,
                channel=CHANNEL,
                chat_id=chat_id,
                purpose=f"{MESSAGE}{message_id}"[:20],
                message_id=str(message_id),
            )
        )


def keep_answer(
    connection: Connection, *, reference: str, chat_id: str, message_ids: list[int]
) -> None:
    """Remember the bot's answers about a ticket (a card, an action's summary) in a chat:
    a reply to one of them reaches the ticket."""
    ticket_messages.remember_on(
        connection,
        channel=CHANNEL,
        reference=reference,
        chat_id=chat_id,
        message_ids=[str(message_id) for message_id in message_ids],
    )


def ticket_of_message(*, engine: Engine, chat_id: str, message_id: int) -> str | None:
    """The reference of the ticket a bot message in a group is about (its ping or another)."""
    query = (
        select(col(Ticket.reference))
        .join(MessageRef, col(MessageRef.ticket_id) == col(Ticket.id))
        .where(
            col(MessageRef.channel) == CHANNEL,
            col(MessageRef.chat_id) == chat_id,
            col(MessageRef.message_id) == str(message_id),
        )
    )
    with engine.begin() as connection:
        found = connection.execute(query).first()
    return None if found is None else str(found[0])


class PingRefs:
    """The outbox sender's bookkeeping: where each ticket's newest agent ping lives."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self, *, ticket_id: int, chat_id: str) -> str | None:
        """The message id of the ticket's newest ping in the chat, if any."""
        return ping_of(engine=self.engine, ticket_id=ticket_id, chat_id=chat_id)

    def remember_message(self, *, ticket_id: int, chat_id: str, message_id: int) -> None:
        """Remember a bot message about the ticket in a chat."""
        remember_message(
            engine=self.engine, ticket_id=ticket_id, chat_id=chat_id, message_id=message_id
        )

    def remember_ping(
        self, *, ticket_id: int, chat_id: str, message_id: int, now: datetime
    ) -> str | None:
        """Store the newest ping of a ticket; returns the previous one's message id."""
        return remember_ping(
            engine=self.engine, ticket_id=ticket_id, chat_id=chat_id, message_id=message_id, now=now
        )
