"""Delivers outbox messages on Telegram, within the flood limits (the worker's `Sender`).

The worker claims a row and calls `TelegramSender.send`, which reports what became of it:
delivered (with the message id), retry (after Telegram's own `retry_after`, or with the
worker's backoff for other errors), failed for good (a bad request), or unreachable (the
user blocked the bot: the worker marks the identity so nothing more is queued for it).
The only bookkeeping is the ping's message ref, written through the store after the call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import anyio.to_thread
from telegram import Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.channels.sending import Audience, OutboxMessage, RateLimit, SendResult
from bot.channels.telegram import render
from bot.channels.telegram.channel import NO_PREVIEW, retry_after_seconds
from bot.channels.telegram.files import send_file, upload_file
from bot.channels.telegram.ratelimit import GLOBAL_RATE, PER_CHAT_RATE, FloodLimiter, is_group
from bot.channels.telegram.store import CHANNEL
from handlers.model import MAX_TEXT, Option

log = logging.getLogger(__name__)

AGENT_AUDIENCES = frozenset({Audience.AGENTS_ROOM, Audience.AGENT})
MAX_WAIT = 10.0  # seconds a send may wait for the flood limits before handing the row back
RATE = RateLimit(per_second=GLOBAL_RATE, per_chat_per_second=PER_CHAT_RATE, burst=1)


STATE_EVENT = "ticket_state"  # edits the ticket's ping in place instead of posting
#: Conversation messages in an agents group answer the ticket's ping (its thread).
THREADED_EVENTS = frozenset({"customer_comment", "reopened"})


class PingStore(Protocol):
    """Where the sender keeps each ticket's newest agent ping (`store.PingRefs`)."""

    def ping(self, *, ticket_id: int, chat_id: str) -> str | None:
        """The message id of the ticket's newest ping in the chat, if any."""
        ...

    def remember_message(self, *, ticket_id: int, chat_id: str, message_id: int) -> None:
        """Remember a bot message about the ticket in a chat."""
        ...

    def remember_ping(
        self, *, ticket_id: int, chat_id: str, message_id: int, now: datetime
    ) -> str | None:
        """Store the newest ping of a ticket; returns the previous one's message id."""
        ...


class TelegramSender:
    """Sends outbox messages to Telegram chats: per chat, per group and bot-wide limits."""

    channel = CHANNEL
    limits = RATE

    def __init__(
        self,
        *,
        bot: Any,
        store: PingStore,
        limiter: FloodLimiter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_wait: float = MAX_WAIT,
        on_migrated: Callable[[int, int], object] | None = None,
    ) -> None:
        self.bot = bot
        self.on_migrated = on_migrated
        self.store = store
        self.limiter = limiter or FloodLimiter()
        self.clock = clock
        self.max_wait = max_wait

    async def send(self, notification: OutboxMessage) -> SendResult:
        """Deliver one outbox message (no database transaction is open during the call)."""
        chat_id = notification.chat_id
        options = [Option(a["label"], a["payload"]) for a in notification.actions]
        if notification.event == STATE_EVENT:
            return await self._update_ping(notification, options)
        messages = render.render_text(notification.text, render.keyboard(options))
        last: Message | None = None
        thread = await self._thread_of(notification)
        try:
            for outgoing in messages:
                wait = await self._slot(chat_id)
                if wait:
                    return SendResult.retry_after(wait, "flood limit")
                last = await self._send_message(chat_id, outgoing, reply_to=thread)
            for file in notification.files:
                wait = await self._slot(chat_id)
                if wait:
                    return SendResult.retry_after(wait, "flood limit")
                await upload_file(self.bot, int(chat_id), file)
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            self.limiter.block(chat_id, seconds)
            return SendResult.retry_after(seconds, str(exc))
        except Forbidden as exc:
            if is_group(chat_id):
                log.error("bot cannot post in Telegram group %s: %s", chat_id, exc)
                return SendResult.permanent_failure(f"Forbidden: {exc}")
            return SendResult.unreachable(f"Forbidden: {exc}")
        except BadRequest as exc:
            return SendResult.permanent_failure(f"BadRequest: {exc}")
        except TelegramError as exc:
            return SendResult.retry_after(None, f"{type(exc).__name__}: {exc}")
        assert last is not None
        if notification.audience in AGENT_AUDIENCES and notification.ticket_id and options:
            await self._remember_ping(notification.ticket_id, chat_id, last.message_id)
        elif notification.ticket_id:
            # A reply to it reaches the ticket: an agent's in a group, a customer's anywhere.
            await self._remember_message(notification.ticket_id, chat_id, last.message_id)
        await self._send_files(notification, last.message_id)
        return SendResult.delivered(str(last.message_id))

    async def _send_files(self, notification: OutboxMessage, text_id: int) -> None:
        """The message's Telegram files, by their `file_id`, as replies to its text (the
        ticket's thread of messages); each is remembered like the text. Best effort: the
        text went out and names every file, so a refused file does not send it again."""
        chat_id = notification.chat_id
        for file in notification.attachments:
            try:
                await self.limiter.acquire(chat_id)
                sent = await send_file(self.bot, chat_id=int(chat_id), file=file, reply_to=text_id)
            except Exception as exc:  # the text is delivered: never send it twice for a file
                log.warning("file of message %s not forwarded: %s", notification.id, exc)
                continue
            if sent is not None and notification.ticket_id:
                await self._remember_message(notification.ticket_id, chat_id, sent.message_id)

    async def _remember_message(self, ticket_id: int, chat_id: str, message_id: int) -> None:
        """Remember a message about a ticket: a reply to it reaches the ticket."""

        def remember() -> None:
            self.store.remember_message(ticket_id=ticket_id, chat_id=chat_id, message_id=message_id)

        try:
            await anyio.to_thread.run_sync(remember)
        except Exception:  # the message went out: a lost ref must not make it go out twice
            log.exception("message of ticket %s sent but not recorded", ticket_id)

    async def _update_ping(self, notification: OutboxMessage, options: list[Option]) -> SendResult:
        """Edit the ticket's ping: its new state line and the buttons that still apply."""
        chat_id = notification.chat_id
        if notification.ticket_id is None:
            return SendResult.delivered(None)
        ticket_id = notification.ticket_id

        def find() -> str | None:
            return self.store.ping(ticket_id=ticket_id, chat_id=chat_id)

        message_id = await anyio.to_thread.run_sync(find)
        if message_id is None:  # no ping in this group (sent before the bot was there)
            return SendResult.delivered(None)
        [outgoing] = render.render_text(notification.text[:MAX_TEXT], render.keyboard(options))
        wait = await self._slot(chat_id)
        if wait:
            return SendResult.retry_after(wait, "flood limit")
        try:
            await self.bot.edit_message_text(
                chat_id=int(chat_id),
                message_id=int(message_id),
                text=outgoing.text,
                parse_mode=ParseMode.HTML,
                reply_markup=outgoing.markup,
                link_preview_options=NO_PREVIEW,
            )
        except RetryAfter as exc:
            seconds = retry_after_seconds(exc)
            self.limiter.block(chat_id, seconds)
            return SendResult.retry_after(seconds, str(exc))
        except BadRequest as exc:  # not modified, deleted, too old: nothing more to do
            log.debug("ping %s of ticket %s not updated: %s", message_id, ticket_id, exc)
        except TelegramError as exc:
            return SendResult.retry_after(None, f"{type(exc).__name__}: {exc}")
        return SendResult.delivered(message_id)

    async def _slot(self, chat_id: str) -> float:
        """Wait for a flood-limit slot; returns the wait instead when it is too long."""
        while True:
            wait = self.limiter.try_take(chat_id)
            if wait <= 0:
                return 0.0
            if wait > self.max_wait:
                return wait
            await asyncio.sleep(wait)

    async def _thread_of(self, notification: OutboxMessage) -> int | None:
        """The ticket's ping in an agents group, which a conversation message answers (so
        the ticket's messages and files read as one thread); None for anything else."""
        if (
            notification.event not in THREADED_EVENTS
            or notification.audience != Audience.AGENTS_ROOM
            or notification.ticket_id is None
        ):
            return None
        ticket_id, chat_id = notification.ticket_id, notification.chat_id
        try:
            found = await anyio.to_thread.run_sync(
                lambda: self.store.ping(ticket_id=ticket_id, chat_id=chat_id)
            )
        except Exception:  # without the thread the message still goes out
            log.exception("ping of ticket %s not read", ticket_id)
            return None
        return int(found) if found else None

    async def _send_message(
        self, chat_id: str, outgoing: render.Outgoing, *, reply_to: int | None = None
    ) -> Message:
        try:
            return await self._post(chat_id, outgoing, reply_to=reply_to)
        except ChatMigrated as exc:
            # A group became a supergroup: deliver there; the agents-group mapping follows
            # (the channel logs it and asks the operator to update the setting).
            log.warning(
                "Telegram group %s is now %s: update the settings", chat_id, exc.new_chat_id
            )
            if self.on_migrated is not None:
                self.on_migrated(int(chat_id), int(exc.new_chat_id))
            return await self._post(str(exc.new_chat_id), outgoing)

    async def _post(
        self, chat_id: str, outgoing: render.Outgoing, *, reply_to: int | None = None
    ) -> Message:
        extra: dict[str, Any] = {}
        if reply_to is not None:
            extra["reply_parameters"] = ReplyParameters(reply_to, allow_sending_without_reply=True)
        return await self.bot.send_message(  # type: ignore[no-any-return]
            chat_id=int(chat_id),
            text=outgoing.text,
            parse_mode=ParseMode.HTML,
            reply_markup=outgoing.markup,
            link_preview_options=NO_PREVIEW,
            **extra,
        )

    async def _remember_ping(self, ticket_id: int, chat_id: str, message_id: int) -> None:
        """Store the ping's id; the ticket's previous ping loses its now stale buttons."""

        def remember() -> str | None:
            return self.store.remember_ping(
                ticket_id=ticket_id,
                chat_id=chat_id,
                message_id=message_id,
                now=self.clock(),
            )

        try:
            previous = await anyio.to_thread.run_sync(remember)
        except Exception:  # the message went out: a lost ref must not make it go out twice
            log.exception("ping of ticket %s sent but not recorded", ticket_id)
            return
        if previous is None:
            return
        try:
            await self.limiter.acquire(chat_id)
            await self.bot.edit_message_reply_markup(
                chat_id=int(chat_id), message_id=int(previous), reply_markup=None
            )
        except TelegramError as exc:  # already without buttons, deleted, too old: fine
            log.debug("previous ping %s of ticket %s not updated: %s", previous, ticket_id, exc)
