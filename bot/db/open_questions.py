"""The open-question rows of every channel, in three prepared statements.

A channel asks a question with buttons, remembers its message here, and takes it back when
the next message makes its buttons stale. Every event of a conversation runs one or two of
these, so they are written once as SQL: building the equivalent expressions on each call
cost more than running them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, bindparam, text

from bot.db.engine import READ_ONLY
from bot.db.types import UTCDateTime

_WHERE = "channel = :channel AND chat_id = :chat_id AND user_key = :user_key"
_TAKE = text(f"DELETE FROM open_questions WHERE {_WHERE} RETURNING message_id, body")
_PEEK = text(f"SELECT message_id, body FROM open_questions WHERE {_WHERE}")
_REMEMBER = text(
    """
INSERT INTO open_questions (channel, chat_id, user_key, message_id, body, updated_at)
VALUES (:channel, :chat_id, :user_key, :message_id, :body, :now)
ON CONFLICT (channel, chat_id, user_key)
DO UPDATE SET
    message_id = excluded.message_id, body = excluded.body, updated_at = excluded.updated_at
"""
).bindparams(bindparam("now", type_=UTCDateTime()))


def take(*, engine: Engine, channel: str, chat_id: str, user_key: str) -> tuple[str, str] | None:
    """Forget the open question of a user in a chat: its (message id, body), if there was one."""
    with engine.begin() as connection:
        return take_on(connection, channel=channel, chat_id=chat_id, user_key=user_key)


def take_on(
    connection: Connection, *, channel: str, chat_id: str, user_key: str
) -> tuple[str, str] | None:
    """`take`, in the transaction of `connection`."""
    where = {"channel": channel, "chat_id": chat_id, "user_key": user_key}
    found = connection.execute(_TAKE, where).first()
    return None if found is None else (str(found.message_id), str(found.body))


def peek(*, engine: Engine, channel: str, chat_id: str, user_key: str) -> tuple[str, str] | None:
    """The open question of a user in a chat, (message id, body), left in place (a read)."""
    with engine.execution_options(**{READ_ONLY: True}).begin() as connection:
        return peek_on(connection, channel=channel, chat_id=chat_id, user_key=user_key)


def peek_on(
    connection: Connection, *, channel: str, chat_id: str, user_key: str
) -> tuple[str, str] | None:
    """`peek`, in the transaction of `connection`."""
    where = {"channel": channel, "chat_id": chat_id, "user_key": user_key}
    found = connection.execute(_PEEK, where).first()
    return None if found is None else (str(found.message_id), str(found.body))


def remember(
    *,
    engine: Engine,
    channel: str,
    chat_id: str,
    user_key: str,
    message_id: str,
    body: str,
    now: datetime,
) -> None:
    """Store (or replace) the open question of a user in a chat."""
    with engine.begin() as connection:
        remember_on(
            connection,
            channel=channel,
            chat_id=chat_id,
            user_key=user_key,
            message_id=message_id,
            body=body,
            now=now,
        )


def remember_on(
    connection: Connection,
    *,
    channel: str,
    chat_id: str,
    user_key: str,
    message_id: str,
    body: str,
    now: datetime,
) -> None:
    """`remember`, in the transaction of `connection`."""
    question = {"channel": channel, "chat_id": chat_id, "user_key": user_key}
    connection.execute(_REMEMBER, {**question, "message_id": message_id, "body": body, "now": now})
