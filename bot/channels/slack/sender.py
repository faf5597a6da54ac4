"""The Slack sender of the outbox: one `chat.postMessage` per message.

The worker paces it (`limits`: about one message per second per channel) and retries; this
sender reports what Slack said: HTTP 429 with its `Retry-After`, a destination that is gone,
a message Slack will never accept, or a transient failure for the worker's backoff.

In an agents channel each ticket has one thread: the first message about a ticket becomes
its root (kept by the store, `store.ThreadRoots`) and later ones are posted in the thread;
escalations (at risk, due, breached) mention the agents the outbox row names (routing chose
them: the agents on duty) and are also shown in the channel. The store's read and write are
short transactions of their own, never across the Slack call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.sending import Audience, OutboxMessage, RateLimit, SendResult
from bot.channels.slack.blocks import notification_blocks
from bot.channels.slack.files import file_links, upload
from bot.channels.slack.store import CHANNEL
from bot.settings import Settings

log = logging.getLogger(__name__)

ESCALATIONS = frozenset({"at_risk", "due", "breached"})  # also shown in the channel
STATE_EVENT = "ticket_state"  # edits the ticket's root message in place
AGENTS = Audience.AGENTS_ROOM
UNREACHABLE = frozenset(
    {
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "messages_tab_disabled",
        "restricted_action",
    }
)
PERMANENT = frozenset(
    {
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "too_many_attachments",
        "invalid_arguments",
        "invalid_arg_name",
        "thread_reply_not_allowed",
    }
)


class ThreadStore(Protocol):
    """Where the sender keeps each ticket's root message per agents channel."""

    def root(self, *, ticket_id: int, chat_id: str) -> str | None:
        """The `ts` of the ticket's root message in the channel, if posted."""
        ...

    def save_root(self, *, ticket_id: int, chat_id: str, ts: str) -> None:
        """Remember the ticket's root message in the channel (the first one wins)."""
        ...

    def remember(self, *, ticket_id: int, chat_id: str, ts: str) -> None:
        """Remember a message about the ticket in a customer's DM."""
        ...


DEFAULT_RATE = RateLimit(per_second=20, per_chat_per_second=1, burst=1)


def rate(settings: Settings) -> RateLimit:
    """Slack's pace: about one message per second per channel (`slack_send_interval_seconds`)."""
    interval = settings.slack_send_interval_seconds
    return RateLimit(
        per_second=20, per_chat_per_second=1 / interval if interval > 0 else 1000, burst=1
    )


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return None
    return None


def classify(exc: SlackApiError) -> SendResult:
    """What a refused Web API call means for the outbox."""
    response = exc.response
    status = getattr(response, "status_code", None)
    error = str(response.get("error") or "") if response is not None else ""
    if status == 429 or error == "ratelimited":
        return SendResult.retry_after(_retry_after(response), "ratelimited")
    if error in UNREACHABLE:
        return SendResult.unreachable(error)
    if error in PERMANENT:
        return SendResult.permanent_failure(error)
    return SendResult.retry_after(None, error or f"HTTP {status}")


class SlackSender:
    """Delivers outbox messages to Slack channels and direct messages."""

    channel = CHANNEL

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        store: ThreadStore,
        settings: Settings,
        on_customer: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.settings = settings
        self.on_customer = on_customer
        self.limits = rate(settings)

    async def send(self, notification: OutboxMessage) -> SendResult:
        """Post one message; in an agents channel, in the ticket's thread."""
        ticket_id = notification.ticket_id if notification.audience == AGENTS else None
        in_agents = ticket_id is not None
        escalate = in_agents and notification.event in ESCALATIONS
        thread_ts: str | None = None
        if ticket_id is not None:
            thread_ts = await asyncio.to_thread(
                functools.partial(
                    self.store.root, ticket_id=ticket_id, chat_id=notification.chat_id
                )
            )
        links = file_links(notification.attachments)
        text, blocks = notification_blocks(
            text=f"{notification.text}\n{links}" if links else notification.text,
            actions=notification.actions,
            mentions=notification.mentions,
            command=self.settings.slack_command,
        )
        arguments: dict[str, Any] = {
            "channel": notification.chat_id,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if notification.event == STATE_EVENT:
            if thread_ts is None:  # no root in this channel: nothing to update
                return SendResult.delivered(None)
            return await self._update(arguments, thread_ts, notification.id)
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
            arguments["reply_broadcast"] = escalate
        try:
            posted = await self.client.chat_postMessage(**arguments)
            for file in notification.files:
                await upload(
                    self.client, channel=str(posted["channel"]), file=file, thread_ts=thread_ts
                )
        except SlackApiError as exc:
            result = classify(exc)
            log.warning("slack refused message %s: %s", notification.id, result.error)
            return result
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendResult.retry_after(None, f"{type(exc).__name__}: {exc}")
        ts = str(posted["ts"])
        if ticket_id is not None and thread_ts is None:
            save = functools.partial(
                self.store.save_root, ticket_id=ticket_id, chat_id=notification.chat_id, ts=ts
            )
            await asyncio.to_thread(save)
        if notification.audience == Audience.CUSTOMER and notification.ticket_id is not None:
            # A thread reply under it joins the ticket (the customer's DM, by user id).
            remember = functools.partial(
                self.store.remember,
                ticket_id=notification.ticket_id,
                chat_id=notification.chat_id,
                ts=ts,
            )
            try:
                await asyncio.to_thread(remember)
            except Exception:  # delivered; only a later thread reply would miss the ticket
                log.exception("message %s sent but not remembered", notification.id)
        if notification.audience == Audience.CUSTOMER and self.on_customer is not None:
            try:
                await self.on_customer(notification.chat_id)
            except Exception:  # the message is delivered; a stale Home tab is not a failure
                log.exception("home refresh failed for %s", notification.chat_id)
        return SendResult.delivered(external_id=ts)

    async def _update(self, arguments: dict[str, Any], ts: str, message_id: int) -> SendResult:
        """Edit a ticket's root message: its state line and the buttons that still apply."""
        try:
            await self.client.chat_update(
                channel=arguments["channel"],
                ts=ts,
                text=arguments["text"],
                blocks=arguments["blocks"],
            )
        except SlackApiError as exc:
            result = classify(exc)
            if result.outcome.value == "unreachable" or exc.response.get("error") in (
                "message_not_found",
                "cant_update_message",
                "edit_window_closed",
            ):
                log.info("root of message %s not updated: %s", message_id, result.error)
                return SendResult.delivered(None)
            return result
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendResult.retry_after(None, f"{type(exc).__name__}: {exc}")
        return SendResult.delivered(external_id=ts)
