"""Unsafe configuration is refused at start-up with one line; API docs are off by default."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.server import UnsafeConfigurationError, build_app
from bot.settings import Settings

GOOD_SECRET = "a-good-webhook-secret_0123456789"


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"telegram_token": "1:x"}, "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET"),
        ({"telegram_token": "1:x", "telegram_webhook_secret": ""}, "is not set"),
        ({"telegram_token": "1:x", "telegram_webhook_secret": "tiny-9"}, "shorter than 16"),
        (
            {"telegram_token": "1:x", "telegram_webhook_secret": "with space" * 3},
            "Telegram refuses",
        ),
        ({"slack_bot_token": "xoxb-1"}, "SUPPORTBOT_SLACK_SIGNING_SECRET"),
        (
            {"slack_bot_token": "xoxb-1", "slack_signing_secret": " "},
            "SUPPORTBOT_SLACK_SIGNING_SECRET",
        ),
    ],
)
def test_unsafe_settings_are_refused_in_one_line(
    engine: Engine, values: dict[str, object], words: str
) -> None:
    with pytest.raises(UnsafeConfigurationError) as caught:
        build_app(settings=settings(**values), engine=engine)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    for value in values.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in message  # no secret in the refusal


def test_safe_settings_start(engine: Engine) -> None:
    build_app(
        settings=settings(telegram_token="1:x", telegram_webhook_secret=GOOD_SECRET),
        engine=engine,
    )
    build_app(settings=settings(slack_bot_token="xoxb-1", slack_app_token="xapp-1"), engine=engine)


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_api_docs_are_off_unless_asked(engine: Engine, path: str) -> None:
    with TestClient(create_app(settings=settings(), engine=engine)) as client:
        assert client.get(path).status_code == 404
    with TestClient(create_app(settings=settings(api_docs=True), engine=engine)) as client:
        assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://bot:hunter2@db/bot",
        "postgresql+psycopg://bot@db/bot?password=hunter2&sslmode=require",
        "postgresql+psycopg://bot@db/bot?sslpassword=hunter2",
    ],
)
def test_config_masks_the_database_password_wherever_the_url_carries_it(url: str) -> None:
    shown = settings(database_url=url).masked()["database_url"]
    assert "hunter2" not in str(shown)
    assert "db/bot" in str(shown)
