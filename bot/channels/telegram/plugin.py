"""The Telegram channel in the HTTP app: webhook route, outbox sender, application lifespan."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from bot.channels.telegram.channel import (
    ChannelUnavailableError,
    MalformedUpdateError,
    TelegramChannel,
    build_application,
    configured_token,
)
from bot.channels.telegram.sender import TelegramSender
from bot.channels.telegram.store import TelegramStore
from bot.settings import Settings
from handlers.core import entry

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def make_channel(*, settings: Settings, engine: Engine, polling: bool = False) -> TelegramChannel:
    """The channel for the configured bot (webhook mode unless `polling`)."""
    application = build_application(settings=settings, polling=polling)
    return TelegramChannel(
        settings=settings,
        store=TelegramStore(engine),
        core=entry(engine=engine, settings=settings),
        application=application,
        claim_updates=polling,
    )


def make_sender(channel: TelegramChannel) -> TelegramSender:
    """The outbox sender of a channel: same bot, same flood limits."""
    return TelegramSender(bot=channel.bot, engine=channel.store.engine, limiter=channel.limiter)


def add_webhook(app: FastAPI, channel: TelegramChannel, secret: str) -> None:
    """Mount `POST /telegram/webhook` for `channel`, guarded by the webhook secret."""
    expected = secret.encode()

    @app.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> JSONResponse:
        """Store the update (deduplicated on update_id), answer, then handle it."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return JSONResponse({"ok": False, "error": "unauthorized"}, status_code=401)
        try:
            fresh = await channel.ingest(await request.body())
        except MalformedUpdateError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        except ChannelUnavailableError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=503)
        return JSONResponse({"ok": True, "duplicate": not fresh})


def telegram_plugin(
    app: FastAPI, settings: Settings, engine: Engine
) -> Callable[[], AbstractAsyncContextManager[None]] | None:
    """Plug the Telegram channel into the app, or leave it off when no token is set."""
    if configured_token(settings) is None:
        log.info("Telegram channel off: SUPPORTBOT_TELEGRAM_TOKEN is not set")
        return None
    channel = make_channel(settings=settings, engine=engine)
    app.state.telegram = channel
    app.state.telegram_sender = make_sender(channel)  # picked up by the worker
    if settings.telegram_webhook_secret is None:
        log.warning(
            "Telegram webhook off: SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET is not set "
            "(use `supportbot telegram poll` in development)"
        )
    else:
        add_webhook(app, channel, settings.telegram_webhook_secret.get_secret_value())

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        async with channel.running():
            yield

    return lifespan
