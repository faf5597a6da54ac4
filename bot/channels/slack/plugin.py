"""The Slack channel's registry entry: `POST /slack/events`, the outbox sender, the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import SecretStr

from bot.channels.http import BodyTooLargeError, read_body, too_large
from bot.channels.registry import BuiltChannel, ChannelEntry, ChannelRuntime, PlatformLimits
from bot.channels.slack import store, verify
from bot.channels.slack.adapter import SlackAdapter
from bot.channels.slack.blocks import SECTION_LIMIT
from bot.channels.slack.sender import DEFAULT_RATE, SlackSender
from bot.channels.slack.store import CHANNEL
from bot.settings import Settings
from handlers.core import entry

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BUTTONS = 25  # elements of one actions block


def add_route(app: FastAPI, adapter: SlackAdapter) -> None:
    """Mount `POST /slack/events` (events, interactivity and slash commands, all signed)."""
    secret = adapter.settings.slack_signing_secret
    key = (secret.get_secret_value() if secret is not None else "").encode()
    limit = adapter.settings.webhook_max_body_bytes

    @app.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Read at most the limit, verify the signature on the raw body, then dispatch."""
        try:
            body = await read_body(request, limit=limit)
        except BodyTooLargeError:
            return too_large(limit)
        refused = verify.refusal(secret=key, headers=request.headers, body=body)
        if refused is not None:
            status, reason = refused
            return JSONResponse({"ok": False, "error": reason}, status_code=status)
        return await adapter.dispatch(request, body)


def make_sender(adapter: SlackAdapter) -> SlackSender:
    """The outbox sender sharing the adapter's HTTP session (and its Home refresh)."""
    return SlackSender(
        client=adapter.outbox_client,
        store=store.ThreadRoots(adapter.store.engine),
        settings=adapter.settings,
        on_customer=adapter.publish_home,
    )


def _configured(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())


def enabled(settings: Settings) -> bool:
    """The HTTP channel runs with a bot token and a signing secret."""
    return _configured(settings.slack_bot_token) and _configured(settings.slack_signing_secret)


def unsafe(settings: Settings) -> str | None:
    """Why `serve` must not start with these Slack settings (one line), or None."""
    if not _configured(settings.slack_bot_token) or _configured(settings.slack_signing_secret):
        return None
    if _configured(settings.slack_app_token):
        return None  # Socket Mode (`supportbot slack socket`): no HTTP endpoint to protect
    return (
        "Slack channel without a signing secret: set SUPPORTBOT_SLACK_SIGNING_SECRET "
        "(Basic Information → Signing Secret), or unset SUPPORTBOT_SLACK_BOT_TOKEN"
    )


def agent_room(settings: Settings, provider_code: str) -> str | None:
    """The provider's agents channel (`slack_agents_channels`), when a bot token is set.

    The token alone is enough: Socket Mode (`supportbot slack socket`) sends without the
    signing secret.
    """
    channel = settings.slack_agents_channels.get(provider_code)
    return channel if channel is not None and _configured(settings.slack_bot_token) else None


def build(runtime: ChannelRuntime) -> BuiltChannel:
    """The running channel: events route, sender, adapter lifespan."""
    adapter = SlackAdapter(
        settings=runtime.settings,
        store=store.SlackStore(
            runtime.engine, payload_max_chars=runtime.settings.inbound_payload_max_chars
        ),
        core=entry(engine=runtime.engine, settings=runtime.settings),
    )

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await adapter.start()
        try:
            yield
        finally:
            await adapter.close()

    return BuiltChannel(
        name=CHANNEL,
        sender=make_sender(adapter),
        lifespan=lifespan,
        mount=lambda app: add_route(app, adapter),
        handle=adapter,
        inbox=adapter.handle_row,
    )


ENTRY = ChannelEntry(
    name=CHANNEL,
    settings_section="slack",
    enabled=enabled,
    # The sender refines the pace per channel from `slack_send_interval_seconds`.
    limits=PlatformLimits(max_text=SECTION_LIMIT, max_buttons=MAX_BUTTONS, rate=DEFAULT_RATE),
    agent_room=agent_room,
    build=build,
    unsafe=unsafe,
    off_notice=(
        "Slack channel off: SUPPORTBOT_SLACK_BOT_TOKEN and SUPPORTBOT_SLACK_SIGNING_SECRET "
        "are needed"
    ),
)

#: The channel as a plugin of `bot.app.create_app` (one channel alone, e.g. in tests).
slack_plugin = ENTRY.plugin
