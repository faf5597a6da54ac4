"""Limits before work on `/telegram/webhook`: 413 past the body limit without reading the
body whole, and an empty secret never mounts an unauthenticated webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import create_app
from bot.channels.telegram.plugin import SECRET_HEADER, WEBHOOK_PATH, telegram_plugin
from bot.db.engine import transaction
from bot.db.models import InboundUpdate
from bot.settings import Settings
from tests.telegram.conftest import SECRET, Bot, make_settings
from tests.telegram.fake_api import FakeBotApi

CHUNK = 64 * 1024


def test_a_body_over_the_limit_gets_413_without_being_read_whole(bot: Bot, seeded: Engine) -> None:
    limit = bot.channel.settings.webhook_max_body_bytes
    consumed = 0

    async def thirty_megabytes() -> AsyncIterator[bytes]:
        nonlocal consumed
        yield b'{"update_id": 1, "message": {"text": "'
        for _ in range(30 * 1024 * 1024 // CHUNK):
            consumed += CHUNK
            yield b"x" * CHUNK

    async def post() -> int:
        transport = httpx.ASGITransport(app=bot.client.app)  # streams the body as it goes
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post(
                WEBHOOK_PATH,
                content=thirty_megabytes(),
                headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
            )
        return response.status_code

    assert bot.client.portal.call(post) == 413  # type: ignore[union-attr]
    assert consumed <= limit + 2 * CHUNK
    with transaction(seeded) as session:
        assert session.exec(select(InboundUpdate)).all() == []


def test_an_announced_length_over_the_limit_gets_413(bot: Bot) -> None:
    limit = bot.channel.settings.webhook_max_body_bytes
    response = bot.client.post(
        WEBHOOK_PATH, content=b" " * (limit + 1), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 413


@pytest.mark.parametrize("secret", ["", "   "])
def test_an_empty_secret_mounts_no_webhook(
    engine: Engine, fake_api: FakeBotApi, secret: str
) -> None:
    settings = make_settings(fake_api, telegram_webhook_secret=secret)
    app = create_app(settings=settings, engine=engine, plugins=[telegram_plugin])
    with TestClient(app) as client:
        assert client.post(WEBHOOK_PATH, content=b'{"update_id": 5}').status_code == 404


def test_the_limit_is_a_setting(engine: Engine, fake_api: FakeBotApi) -> None:
    settings: Settings = make_settings(fake_api, webhook_max_body_bytes=2048)
    app = create_app(settings=settings, engine=engine, plugins=[telegram_plugin])
    with TestClient(app) as client:
        big = b'{"update_id": 9, "x": "' + b"y" * 3000 + b'"}'
        assert (
            client.post(WEBHOOK_PATH, content=big, headers={SECRET_HEADER: SECRET}).status_code
            == 413
        )
