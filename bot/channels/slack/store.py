"""The Slack adapter's own rows: the inbox of events, open questions, message refs,
reachability of identities.

The only module of the Slack channel that touches the database. `SlackStore` is what the
adapter holds (each call one short transaction, run in a worker thread by the async callers,
never across a Slack API call); the session functions below serve the outbox sender inside
its own transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, update
from sqlmodel import Session, col, select

from bot.db import inbound, open_questions, ticket_messages
from bot.db.dialect import insert_ignoring
from bot.db.engine import transaction
from bot.db.inbound import Inbound
from bot.db.models import ChannelIdentity, MessageRef, Ticket
from bot.db.payloads import bounded_payload
from handlers.model import Along

DEFAULT_PAYLOAD_MAX_CHARS = 65_536

CHANNEL = "slack"
THREAD = "thread"  # purpose of the message_refs row holding a ticket's thread root
MESSAGE = ticket_messages.MESSAGE  # purpose prefix of a message about a ticket in a DM


class SlackStore:
    """The adapter's bookkeeping of raw events, each call in its own short transaction."""

    def __init__(self, engine: Engine, *, payload_max_chars: int = DEFAULT_PAYLOAD_MAX_CHARS):
        self.engine = engine
        self.payload_max_chars = payload_max_chars

    def inbound(
        self,
        *,
        key: str,
        payload: str,
        chat_key: str,
        seq: int,
        now: datetime,
        claim: tuple[str, datetime] | None = None,
    ) -> Inbound:
        """The inbox row of an inbound event (bounded in size), under its chat and order; with
        `claim` (token, lease end) stored already claimed, for handling inline."""
        return Inbound(
            channel=CHANNEL,
            key=key,
            payload=bounded_payload(payload, max_chars=self.payload_max_chars, what="Slack event"),
            now=now,
            chat_key=chat_key,
            seq=seq,
            claim=claim,
        )

    def store_events(self, events: Sequence[Inbound]) -> list[int | None | Exception]:
        """Record inbound events in the inbox in one transaction; each one's row id, None
        when already recorded (a retry), or what storing it alone raised."""
        return inbound.store_together(engine=self.engine, events=events)

    def store_event(self, event: Inbound) -> int | None:
        """Record one inbound event (made by `inbound`); its row id, or None when already
        recorded (a retry)."""
        (stored,) = self.store_events([event])
        if isinstance(stored, Exception):
            raise stored
        return stored

    def peek_question(self, *, user_id: str) -> str | None:
        """The stored question message with live buttons in a user's DM."""
        found = open_questions.peek(
            engine=self.engine, channel=CHANNEL, chat_id=user_id, user_key=user_id
        )
        return None if found is None else found[1]

    def question_peek(self, *, user_id: str) -> QuestionPeek:
        """`peek_question` as a read in the event's transaction (`found` after it)."""
        return QuestionPeek(user_id=user_id)

    def question_keeper(self, *, user_id: str, message_id: str, body: str, now: datetime) -> Along:
        """The question message with live buttons in a user's DM from now on, as a write for
        the transaction marking the reply sent."""
        return functools.partial(
            _keep_question, user_id=user_id, message_id=message_id, body=body, now=now
        )

    def question_forgetter(self, *, user_id: str) -> Along:
        """Forget the question message with live buttons in a user's DM, as a write for the
        transaction marking the reply sent."""
        return functools.partial(_forget_question, user_id=user_id)

    def messages_keeper(self, *, reference: str, chat_id: str, ts: list[str]) -> Along:
        """Remember the bot's DM messages about a ticket (a thread reply under one joins it), as
        a write for the transaction marking the reply sent."""
        return functools.partial(_keep_messages, reference=reference, chat_id=chat_id, ts=ts)

    def run(self, write: Along) -> None:
        """Run one of these writes in a transaction of its own."""
        with self.engine.begin() as connection:
            write(connection)

    def ticket_of_thread(self, *, chat_id: str, ts: str) -> str | None:
        """The reference of the ticket whose thread in `chat_id` starts at `ts`."""
        with transaction(self.engine) as session:
            return ticket_of_thread(session=session, chat_id=chat_id, ts=ts)


@dataclass
class QuestionPeek:
    """Reads the question with live buttons in a user's DM on a transaction's connection (a
    read the core runs in the event's transaction): `found` is its stored body, `done` says
    the read ran."""

    user_id: str
    found: str | None = None
    done: bool = False

    def __call__(self, connection: Connection) -> None:
        found = open_questions.peek_on(
            connection, channel=CHANNEL, chat_id=self.user_id, user_key=self.user_id
        )
        self.found = None if found is None else found[1]
        self.done = True


def _keep_question(
    connection: Connection, *, user_id: str, message_id: str, body: str, now: datetime
) -> None:
    open_questions.remember_on(
        connection,
        channel=CHANNEL,
        chat_id=user_id,
        user_key=user_id,
        message_id=message_id,
        body=body,
        now=now,
    )


def _forget_question(connection: Connection, *, user_id: str) -> None:
    open_questions.take_on(connection, channel=CHANNEL, chat_id=user_id, user_key=user_id)


def _keep_messages(connection: Connection, *, reference: str, chat_id: str, ts: list[str]) -> None:
    ticket_messages.remember_on(
        connection, channel=CHANNEL, reference=reference, chat_id=chat_id, message_ids=ts
    )


def remember_message(*, session: Session, ticket_id: int, chat_id: str, ts: str) -> None:
    """Remember a bot message about a ticket in a DM, by its `ts`."""
    _save_ref(
        session=session, ticket_id=ticket_id, chat_id=chat_id, purpose=f"{MESSAGE}{ts}", ts=ts
    )


def thread_root(*, session: Session, ticket_id: int, chat_id: str) -> str | None:
    """The `ts` of a ticket's root message in a channel, if posted."""
    query = select(MessageRef.message_id).where(
        MessageRef.ticket_id == ticket_id,
        MessageRef.channel == CHANNEL,
        MessageRef.chat_id == chat_id,
        MessageRef.purpose == THREAD,
    )
    return session.exec(query).first()


def save_thread_root(*, session: Session, ticket_id: int, chat_id: str, ts: str) -> None:
    """Remember a ticket's root message in a channel (the first one wins)."""
    _save_ref(session=session, ticket_id=ticket_id, chat_id=chat_id, purpose=THREAD, ts=ts)


def _save_ref(*, session: Session, ticket_id: int, chat_id: str, purpose: str, ts: str) -> None:
    """A message reference of a ticket; an existing one for the same purpose is kept."""
    session.execute(
        insert_ignoring(
            session.get_bind().dialect.name,
            MessageRef,
            ticket_id=ticket_id,
            channel=CHANNEL,
            chat_id=chat_id,
            purpose=purpose[:20],
            message_id=ts,
        )
    )


def ticket_of_thread(*, session: Session, chat_id: str, ts: str) -> str | None:
    """The reference of the ticket whose thread root in a channel is `ts`."""
    query = (
        select(Ticket.reference)
        .join(MessageRef, col(MessageRef.ticket_id) == col(Ticket.id))
        .where(
            MessageRef.channel == CHANNEL,
            MessageRef.chat_id == chat_id,
            MessageRef.purpose == THREAD,
            MessageRef.message_id == ts,
        )
    )
    return session.exec(query).first()


def set_unreachable(*, session: Session, external_id: str) -> None:
    """Stop sending to a Slack account that no longer exists or cannot be written to."""
    session.execute(
        update(ChannelIdentity)
        .where(
            col(ChannelIdentity.channel) == CHANNEL,
            col(ChannelIdentity.external_id) == external_id,
        )
        .values(reachable=False)
    )


class ThreadRoots:
    """The outbox sender's bookkeeping: each ticket's root message in an agents channel.

    Each read or write is its own short transaction, never held across a Slack call.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def root(self, *, ticket_id: int, chat_id: str) -> str | None:
        """The `ts` of the ticket's root message in the channel, if posted."""
        with transaction(self.engine) as session:
            return thread_root(session=session, ticket_id=ticket_id, chat_id=chat_id)

    def save_root(self, *, ticket_id: int, chat_id: str, ts: str) -> None:
        """Remember the ticket's root message in the channel (the first one wins)."""
        with transaction(self.engine) as session:
            save_thread_root(session=session, ticket_id=ticket_id, chat_id=chat_id, ts=ts)

    def remember(self, *, ticket_id: int, chat_id: str, ts: str) -> None:
        """Remember a message about the ticket in a customer's DM."""
        with transaction(self.engine) as session:
            remember_message(session=session, ticket_id=ticket_id, chat_id=chat_id, ts=ts)
