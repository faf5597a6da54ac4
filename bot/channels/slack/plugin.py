"""The Slack channel in the HTTP app: `POST /slack/events` and the adapter's lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy import Engine

from bot.channels.slack.adapter import SlackAdapter
from bot.channels.slack.sender import SlackSender
from bot.channels.slack.store import SlackStore
from bot.settings import Settings
from handlers.core import entry

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def add_route(app: FastAPI, adapter: SlackAdapter) -> None:
    """Mount `POST /slack/events` (events, interactivity and slash commands, all signed)."""

    @app.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Verify Slack's signature, acknowledge, and hand the work to the adapter."""
        return await adapter.handler.handle(request)


def make_sender(adapter: SlackAdapter) -> SlackSender:
    """The outbox sender sharing the adapter's HTTP session (and its Home refresh)."""
    return SlackSender(
        client=adapter.outbox_client,
        engine=adapter.store.engine,
        settings=adapter.settings,
        on_customer=adapter.publish_home,
    )


def slack_plugin(
    app: FastAPI, settings: Settings, engine: Engine
) -> Callable[[], AbstractAsyncContextManager[None]] | None:
    """Plug the Slack channel into the app, or leave it off without a token and secret."""
    if settings.slack_bot_token is None or settings.slack_signing_secret is None:
        log.info(
            "Slack channel off: SUPPORTBOT_SLACK_BOT_TOKEN and SUPPORTBOT_SLACK_SIGNING_SECRET "
            "are needed"
        )
        return None
    adapter = SlackAdapter(
        settings=settings, store=SlackStore(engine), core=entry(engine=engine, settings=settings)
    )
    app.state.slack = adapter
    app.state.slack_sender = make_sender(adapter)
    add_route(app, adapter)

    @asynccontextmanager
    async def lifespan() -> AsyncIterator[None]:
        await adapter.start()
        try:
            yield
        finally:
            await adapter.close()

    return lifespan
