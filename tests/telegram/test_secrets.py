"""Secrets never leave the process: a whole Telegram session, then a refused token, and not
one log line (httpx request lines included, at DEBUG) carries the token or the secret."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot import redact
from bot.app import create_app
from bot.channels.telegram.plugin import telegram_plugin
from tests.telegram.conftest import (
    REQUESTER_ID,
    Bot,
    Updates,
    link,
    make_settings,
    open_ticket,
)
from tests.telegram.fake_api import Failure, FakeBotApi

# The shape of a real token (bot id, colon, 35 characters) and a real webhook secret.
REAL_TOKEN = "7301234567:AAF3kR-x9QpZtY2mW8vBnC4dE5fG6hJ7kL0"
REAL_SECRET = "Wh-Secret_9f8e7d6c5b4a3928172635445362718"


def _all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_a_session_and_a_refused_token_log_no_secret(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        fake_api, telegram_token=REAL_TOKEN, telegram_webhook_secret=REAL_SECRET
    )
    redact.install(settings)
    caplog.set_level(logging.DEBUG)
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    app = create_app(settings=settings, engine=seeded, plugins=[telegram_plugin])
    with TestClient(app) as client:
        bot = Bot(client, fake_api)
        original = bot.post

        def post(update: object, *, secret: str | None = REAL_SECRET) -> object:
            return original(update, secret=secret)  # type: ignore[arg-type]

        bot.post = post  # type: ignore[method-assign]
        open_ticket(bot, updates, "en")
        bot.post({"update_id": 1}, secret="wrong")
    fake_api.fail(Failure("getMe", 401, "Unauthorized"))
    refused = create_app(settings=settings, engine=seeded, plugins=[telegram_plugin])
    with TestClient(refused) as client:
        client.get("/healthz")

    text = _all_log_text(caplog)
    assert "HTTP Request" in text or "sendMessage" in text  # the request lines were logged
    assert "token was refused" in text
    assert REAL_TOKEN not in text
    assert REAL_TOKEN.split(":", 1)[1] not in text
    assert REAL_SECRET not in text


def test_a_token_shape_is_masked_even_when_not_configured() -> None:
    line = f"HTTP Request: POST https://api.telegram.org/bot{REAL_TOKEN}/sendMessage"
    assert REAL_TOKEN not in redact.redact(line)
    assert "xoxb-" + "1234-5678-abcdEFGH" not in redact.redact("token xoxb-1234-5678-abcdEFGH")
    assert "hunter2" not in redact.redact("postgresql+psycopg://bot:hunter2@db/bot")
