"""The sender interface every channel implements, and what a send can come to.

A channel (console, Slack, Telegram…) implements `Sender` and declares it in its registry
entry (`bot.channels.registry`)::

    class TelegramSender:
        channel = "telegram"
        limits = RateLimit(per_second=30, per_chat_per_second=1)   # optional

        async def send(self, notification: OutboxMessage) -> SendResult:
            ...  # one platform call; never touches the database
            return SendResult.delivered(external_id=str(message.message_id))

and may implement `ConfirmingSender.confirm` to say whether a message whose outcome was
lost (the worker died between the platform call and recording it) already arrived.

`send` reports, never raises for platform answers:

- `SendResult.delivered(external_id)`: the platform accepted it;
- `SendResult.retry_after(seconds, error)`: a transient failure; `seconds` is the
  platform's own delay (HTTP 429 ``Retry-After``, Telegram ``retry_after``) or None for
  the worker's exponential backoff;
- `SendResult.permanent_failure(error)`: it will never go through (bad request):
  dead-lettered at once;
- `SendResult.unreachable(error)`: the destination is gone (bot blocked, chat deleted):
  dead-lettered and the identity is marked unreachable so nothing more is queued for it.

An exception raised by `send` counts as a transient failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from handlers.model import OutgoingFile


class Delivery(StrEnum):
    """The outcome of one send."""

    DELIVERED = "delivered"
    RETRY_AFTER = "retry_after"
    PERMANENT_FAILURE = "permanent_failure"
    UNREACHABLE = "unreachable"


class Audience(StrEnum):
    """Who an outbox row is for (its ``audience``), as senders read it."""

    CUSTOMER = "customer"  # the requester, on each of their identities
    AGENTS_ROOM = "agents"  # a provider's agents' room (a group or channel)
    AGENT = "agent"  # one agent, directly
    MANAGER = "manager"  # one manager (of the tenant or of the provider), directly
    ADMIN = "admin"  # an admin's alert


@dataclass(frozen=True)
class SendResult:
    """What a sender reports for one message."""

    outcome: Delivery
    external_id: str | None = None
    retry_after_seconds: float | None = None
    error: str | None = None

    @classmethod
    def delivered(cls, external_id: str | None = None) -> SendResult:
        """The platform accepted the message."""
        return cls(Delivery.DELIVERED, external_id=external_id)

    @classmethod
    def retry_after(cls, seconds: float | None = None, error: str | None = None) -> SendResult:
        """A transient failure: try again after `seconds` (None: the worker's backoff)."""
        return cls(Delivery.RETRY_AFTER, retry_after_seconds=seconds, error=error)

    @classmethod
    def permanent_failure(cls, error: str) -> SendResult:
        """The message can never be delivered."""
        return cls(Delivery.PERMANENT_FAILURE, error=error)

    @classmethod
    def unreachable(cls, error: str | None = None) -> SendResult:
        """The destination no longer accepts messages from the bot."""
        return cls(Delivery.UNREACHABLE, error=error)


@dataclass(frozen=True)
class OutboxMessage:
    """One outbox row as a sender sees it (a detached copy: no database access)."""

    id: int
    idempotency_key: str
    channel: str
    chat_id: str
    lang: str
    text: str
    event: str
    audience: str
    actions: tuple[dict[str, str], ...] = ()
    #: Platform user ids to mention (agents on duty, decided by routing), on this channel.
    mentions: tuple[str, ...] = ()
    #: Files to forward with the message: channel, kind, file_id, name, size, mime, permalink.
    attachments: tuple[dict[str, Any], ...] = ()
    ticket_id: int | None = None
    user_id: int | None = None
    attempt: int = 1
    in_doubt: bool = field(default=False, compare=False)
    #: Files sent after the text (a report's chart and export), in order.
    files: tuple[OutgoingFile, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class RateLimit:
    """How fast a channel may send: overall and per chat (messages per second).

    `burst` messages may go at once before the overall pace applies; `chat_burst` likewise
    for one chat (None: the same as `burst`).
    """

    per_second: float
    per_chat_per_second: float
    burst: int = 1
    chat_burst: int | None = None


#: The pace of a sender that declares none and whose channel entry declares none either.
FALLBACK_LIMIT = RateLimit(per_second=10, per_chat_per_second=1, burst=1)


@runtime_checkable
class Sender(Protocol):
    """Delivers outbox messages of one channel."""

    channel: str

    async def send(self, notification: OutboxMessage) -> SendResult:
        """Deliver one message; report the outcome (no database access here)."""
        ...


@runtime_checkable
class ConfirmingSender(Protocol):
    """A sender that can tell whether a message already arrived (dedupe after a crash)."""

    async def confirm(self, notification: OutboxMessage) -> bool | None:
        """True: it arrived; False: it did not; None: cannot tell (it is sent again)."""
        ...


def limits_of(sender: Sender, default: RateLimit | None = None) -> RateLimit:
    """The sender's own `limits`, else `default` (its channel entry's), else a cautious pace."""
    own = getattr(sender, "limits", None)
    if isinstance(own, RateLimit):
        return own
    return default or FALLBACK_LIMIT
