"""The bot's messages about a ticket in a chat, per channel: a reply to one of them reaches the
ticket (a customer's reply to an answer, an agent's reply in a group or a thread)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection
from sqlmodel import col, select

from bot.db.dialect import insert_ignoring
from bot.db.models import MessageRef, Ticket

#: Purpose prefix of a message about a ticket (other than an agents' ping or thread root).
MESSAGE = "m:"


def remember_on(
    connection: Connection,
    *,
    channel: str,
    reference: str,
    chat_id: str,
    message_ids: Sequence[str],
) -> None:
    """Remember the bot's messages about the ticket `reference` in a chat, in the transaction
    of `connection` (a message remembered already is kept)."""
    ticket_id = connection.execute(
        select(col(Ticket.id)).where(col(Ticket.reference) == reference)
    ).scalar_one_or_none()
    if ticket_id is None or not message_ids:
        return
    connection.execute(
        insert_ignoring(connection.dialect.name, MessageRef),
        [
            {
                "ticket_id": ticket_id,
                "channel": channel,
                "chat_id": chat_id,
                "purpose": f"{MESSAGE}{message_id}"[:20],
                "message_id": message_id,
            }
            for message_id in message_ids
        ],
    )
