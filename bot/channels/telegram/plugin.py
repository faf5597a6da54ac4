"""The Telegram channel's registry entry: webhook route, outbox sender, application lifespan."""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.channels.http import BodyTooLargeError, read_body, too_large
from bot.channels.registry import BuiltChannel, ChannelEntry, ChannelRuntime, PlatformLimits
from bot.channels.telegram import store
from bot.channels.telegram.channel import (
    ChannelUnavailableError,
    MalformedUpdateError,
    TelegramChannel,
    build_application,
    configured_token,
)
from bot.channels.telegram.ratelimit import GLOBAL_BURST, FloodLimiter
from bot.channels.telegram.render import ROW_BUTTONS
from bot.channels.telegram.sender import RATE, TelegramSender
from bot.channels.telegram.store import CHANNEL
from bot.settings import Settings
from handlers.core import entry

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_TEXT = 4096  # characters per message (longer texts are split)
MAX_BUTTON_ROWS = 100  # inline keyboard rows per message


def make_channel(*, runtime: ChannelRuntime, polling: bool = False) -> TelegramChannel:
    """The channel for the configured bot (webhook mode unless `polling`)."""
    application = build_application(settings=runtime.settings, polling=polling)
    return TelegramChannel(
        settings=runtime.settings,
        store=store.TelegramStore(
            runtime.engine, payload_max_chars=runtime.settings.inbound_payload_max_chars
        ),
        core=entry(engine=runtime.engine, settings=runtime.settings),
        application=application,
        limiter=flood_limiter(runtime.settings),
        claim_updates=polling,
    )


def flood_limiter(settings: Settings) -> FloodLimiter:
    """Telegram's flood limits, with the bot-wide rate of the settings."""
    return FloodLimiter(global_rate=settings.telegram_messages_per_second - GLOBAL_BURST)


def make_sender(channel: TelegramChannel) -> TelegramSender:
    """The outbox sender of a channel: same bot, same flood limits."""
    return TelegramSender(
        bot=channel.bot,
        store=store.PingRefs(channel.store.engine),
        limiter=channel.limiter,
        on_migrated=channel.migrate_group,
    )


# Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - as a webhook secret.
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}", re.ASCII)
MIN_SECRET = 16  # shorter secrets can be guessed


def secret_problem(secret: str | None) -> str | None:
    """Why a webhook secret is unusable, or None."""
    if secret is None or not secret.strip():
        return "is not set"
    if not SECRET_PATTERN.fullmatch(secret):
        return "may only hold 1-256 of A-Z, a-z, 0-9, _ and - (Telegram refuses others)"
    if len(secret) < MIN_SECRET:
        return f"is shorter than {MIN_SECRET} characters"
    return None


def unsafe(settings: Settings) -> str | None:
    """Why `serve` must not start with these Telegram settings (one line), or None."""
    if not enabled(settings):
        return None
    secret = settings.telegram_webhook_secret
    problem = secret_problem(None if secret is None else secret.get_secret_value())
    if problem is None:
        return None
    return (
        f"Telegram webhook secret {problem}: set SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET to "
        f"{MIN_SECRET}-256 random letters, digits, _ or - (development without a public URL: "
        "`supportbot telegram poll`)"
    )


def add_webhook(app: FastAPI, channel: TelegramChannel, secret: str) -> None:
    """Mount `POST /telegram/webhook` for `channel`, guarded by the webhook secret."""
    if not secret.strip():
        raise ValueError("an empty webhook secret would let anyone post updates")
    expected = secret.encode()
    limit = channel.settings.webhook_max_body_bytes

    @app.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        """Store the update (deduplicated on update_id), answer, then handle it."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"ok": False, "error": "unauthorized"}, status_code=401)
        try:
            body = await read_body(request, limit=limit)
        except BodyTooLargeError:
            return too_large(limit)
        try:
            fresh = await channel.ingest(body)
        except MalformedUpdateError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        except ChannelUnavailableError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=503)
        return JSONResponse({"ok": True, "duplicate": not fresh})


def enabled(settings: Settings) -> bool:
    """The channel runs when a bot token is set."""
    return configured_token(settings) is not None


def agent_room(settings: Settings, provider_code: str) -> str | None:
    """The provider's agents group (`telegram_agents_groups`), when the bot is configured."""
    group = settings.telegram_agents_groups.get(provider_code)
    return str(group) if group is not None and enabled(settings) else None


def build(runtime: ChannelRuntime) -> BuiltChannel:
    """The running channel: webhook route (when a secret is set), sender, lifespan."""
    channel = make_channel(runtime=runtime)
    secret = runtime.settings.telegram_webhook_secret

    def mount(app: FastAPI) -> None:
        if secret is None or not secret.get_secret_value().strip():
            log.warning(
                "Telegram webhook off: SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET is not set "
                "(use `supportbot telegram poll` in development)"
            )
            return
        add_webhook(app, channel, secret.get_secret_value())

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with channel.running():
            yield

    return BuiltChannel(
        name=CHANNEL,
        sender=make_sender(channel),
        lifespan=lifespan,
        mount=mount,
        handle=channel,
        inbox=channel.handle_row,
        # A bot's update ids "start from a certain positive number and increase sequentially"
        # (Bot API, Update): the Bot API server numbers every update it queues for the bot.
        inbox_gapless=True,
    )


ENTRY = ChannelEntry(
    name=CHANNEL,
    settings_section="telegram",
    enabled=enabled,
    limits=PlatformLimits(max_text=MAX_TEXT, max_buttons=MAX_BUTTON_ROWS * ROW_BUTTONS, rate=RATE),
    agent_room=agent_room,
    build=build,
    unsafe=unsafe,
    off_notice="Telegram channel off: SUPPORTBOT_TELEGRAM_TOKEN is not set",
)

#: The channel as a plugin of `bot.app.create_app` (one channel alone, e.g. in tests).
telegram_plugin = ENTRY.plugin
