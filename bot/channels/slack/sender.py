"""The Slack sender of the outbox: one `chat.postMessage` per message.

The worker paces it (`limits`: about one message per second per channel) and retries; this
sender reports what Slack said: HTTP 429 with its `Retry-After`, a destination that is gone,
a message Slack will never accept, or a transient failure for the worker's backoff.

In an agents channel each ticket has one thread: the first message about a ticket becomes
its root (kept in `message_refs`) and later ones are posted in the thread; escalations
(at risk, due, breached) mention the provider's agents and are also shown in the channel.
The two small reads and the one write happen in their own short transactions, never across
the Slack call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import Engine

from bot.channels.slack import store
from bot.channels.slack.blocks import notification_blocks
from bot.db.engine import transaction
from bot.settings import Settings
from bot.worker.senders import OutboxMessage, RateLimit, SendResult

log = logging.getLogger(__name__)

ESCALATIONS = frozenset({"at_risk", "due", "breached"})
AGENTS = "agents"
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

    channel = store.CHANNEL

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        engine: Engine,
        settings: Settings,
        on_customer: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.engine = engine
        self.settings = settings
        self.on_customer = on_customer
        interval = settings.slack_send_interval_seconds
        self.limits = RateLimit(
            per_second=20, per_chat_per_second=1 / interval if interval > 0 else 1000, burst=1
        )

    async def send(self, notification: OutboxMessage) -> SendResult:
        """Post one message; in an agents channel, in the ticket's thread."""
        in_agents = notification.audience == AGENTS and notification.ticket_id is not None
        escalate = in_agents and notification.event in ESCALATIONS
        thread_ts: str | None = None
        mentions: list[str] = []
        if in_agents:
            thread_ts, mentions = await asyncio.to_thread(self._thread_and_mentions, notification)
        text, blocks = notification_blocks(
            text=notification.text,
            actions=notification.actions,
            mentions=mentions if escalate else (),
            command=self.settings.slack_command,
        )
        arguments: dict[str, Any] = {
            "channel": notification.chat_id,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
            arguments["reply_broadcast"] = escalate
        try:
            posted = await self.client.chat_postMessage(**arguments)
        except SlackApiError as exc:
            result = classify(exc)
            log.warning("slack refused message %s: %s", notification.id, result.error)
            return result
        except (aiohttp.ClientError, TimeoutError) as exc:
            return SendResult.retry_after(None, f"{type(exc).__name__}: {exc}")
        ts = str(posted["ts"])
        if in_agents and thread_ts is None:
            assert notification.ticket_id is not None
            await asyncio.to_thread(
                self._save_root, notification.ticket_id, notification.chat_id, ts
            )
        if notification.audience == "customer" and self.on_customer is not None:
            try:
                await self.on_customer(notification.chat_id)
            except Exception:  # the message is delivered; a stale Home tab is not a failure
                log.exception("home refresh failed for %s", notification.chat_id)
        return SendResult.delivered(external_id=ts)

    def _thread_and_mentions(self, notification: OutboxMessage) -> tuple[str | None, list[str]]:
        assert notification.ticket_id is not None
        providers = [
            code
            for code, channel in self.settings.slack_agents_channels.items()
            if channel == notification.chat_id
        ]
        with transaction(self.engine) as session:
            root = store.thread_root(
                session=session, ticket_id=notification.ticket_id, chat_id=notification.chat_id
            )
            mentions: list[str] = []
            if notification.event in ESCALATIONS:
                for code in providers:
                    for user_id in store.agent_user_ids(session=session, provider_code=code):
                        if user_id not in mentions:
                            mentions.append(user_id)
        return root, mentions

    def _save_root(self, ticket_id: int, chat_id: str, ts: str) -> None:
        with transaction(self.engine) as session:
            store.save_thread_root(session=session, ticket_id=ticket_id, chat_id=chat_id, ts=ts)
