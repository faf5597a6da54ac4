"""The webhook route, start-up, long polling and the CLI."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.app import create_app
from bot.channels.registry import ChannelRuntime
from bot.channels.telegram import channel as channel_module
from bot.channels.telegram.plugin import WEBHOOK_PATH, make_channel, telegram_plugin
from bot.cli.main import app as cli
from bot.db.engine import transaction
from bot.db.models import InboundUpdate, Role
from bot.i18n import translator
from bot.inbox.drainer import draining
from bot.settings import Settings, get_settings
from handlers import commands as command_table
from tests.telegram.conftest import (
    AGENT_ID,
    AGENTS_GROUP,
    REQUESTER_ID,
    SECRET,
    Bot,
    Updates,
    link,
    settings_env,
)
from tests.telegram.fake_api import Failure, FakeBotApi


def stored(engine: Engine) -> list[InboundUpdate]:
    with transaction(engine) as session:
        return list(session.exec(select(InboundUpdate)).all())


@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x"])
def test_a_forged_secret_is_refused(
    bot: Bot, updates: Updates, seeded: Engine, secret: str | None
) -> None:
    response = bot.post(updates.message("/help", user_id=1, lang="en"), secret=secret)
    assert response.status_code == 401
    bot.drain()
    assert stored(seeded) == []
    assert bot.fake.calls("sendMessage") == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[1, 2]",
        b'{"message": {"text": "hi"}}',
        b'{"update_id": "12"}',
        b'{"update_id": true}',
        b'{"update_id": 12, "message": {"text": "no chat, no date"}}',
    ],
)
def test_a_malformed_body_is_refused_and_not_stored(bot: Bot, seeded: Engine, body: bytes) -> None:
    assert bot.post(body).status_code == 400
    assert stored(seeded) == []


def test_a_redelivered_update_is_handled_once(bot: Bot, updates: Updates, seeded: Engine) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    update = updates.message("/help", user_id=REQUESTER_ID, lang="en")
    first, second = bot.post(update), bot.post(update)
    bot.drain()
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert bot.post(update).json()["duplicate"] is True  # after it was handled, too
    bot.drain()
    assert len(bot.fake.calls("sendMessage")) == 1
    [row] = stored(seeded)
    assert (row.channel, row.external_key) == ("telegram", str(update["update_id"]))
    assert json.loads(row.payload) == update
    assert row.processed_at is not None


def _menus_by_scope(fake_api: FakeBotApi) -> dict[str, dict[str | None, list[dict[str, str]]]]:
    by_scope: dict[str, dict[str | None, list[dict[str, str]]]] = {}
    for call in fake_api.calls("setMyCommands"):
        scope = json.dumps(call.params["scope"], sort_keys=True)
        by_scope.setdefault(scope, {})[call.params.get("language_code")] = call.params["commands"]
    return by_scope


def _expected(lang: str, role: Role, *, has_tenant: bool, is_staff: bool) -> list[dict[str, str]]:
    t = translator(lang)
    entries = command_table.menu(t, role=role, has_tenant=has_tenant, is_staff=is_staff)
    return [{"command": name, "description": description} for name, description in entries]


def test_commands_are_registered_per_language(bot: Bot) -> None:
    # The menus are generated from the core's command table (they used to be a separate
    # list, without /notify, /duty, /status, /sla and /credits).
    by_scope = _menus_by_scope(bot.fake)
    default = json.dumps({"type": "default"}, sort_keys=True)
    group = json.dumps({"type": "chat", "chat_id": AGENTS_GROUP}, sort_keys=True)
    assert set(by_scope) == {default, group}
    kinds = {
        default: {"role": Role.REQUESTER, "has_tenant": True, "is_staff": False},
        group: {"role": Role.AGENT, "has_tenant": False, "is_staff": True},
    }
    for scope, kind in kinds.items():
        assert set(by_scope[scope]) == {"fr", "nl", "en", None}
        for code, entries in by_scope[scope].items():
            # The default menu speaks the default language.
            assert entries == _expected(code or "fr", **kind)  # type: ignore[arg-type]
    customer = [entry["command"] for entry in by_scope[default]["en"]]
    agents = [entry["command"] for entry in by_scope[group]["en"]]
    assert {"new", "balance", "notify", "help"} <= set(customer)
    assert not {"queue", "ack", "status"} & set(customer)
    assert {"queue", "duty", "ack", "resolve", "notify"} <= set(agents)
    assert "new" not in agents
    assert translator("nl").gettext("open a ticket (guided)") in json.dumps(
        by_scope[default]["nl"], ensure_ascii=False
    )


async def test_staff_get_their_own_menu_in_their_private_chat(
    seeded: Engine, settings: Settings, fake_api: FakeBotApi
) -> None:
    link(seeded, handle="demo-manager", external_id=AGENT_ID, locale="nl")
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    channel = make_channel(runtime=ChannelRuntime(settings=settings, engine=seeded))
    async with channel.running():  # the menus are set at start-up
        pass
    by_scope = _menus_by_scope(fake_api)
    mine = json.dumps({"type": "chat", "chat_id": AGENT_ID}, sort_keys=True)
    assert by_scope[mine] == {None: _expected("nl", Role.MANAGER, has_tenant=False, is_staff=True)}
    names = {entry["command"] for entry in by_scope[mine][None]}
    assert {"status", "sla", "credits", "queue", "duty"} <= names
    requester = json.dumps({"type": "chat", "chat_id": REQUESTER_ID}, sort_keys=True)
    assert requester not in by_scope  # customers have the default menu


@pytest.mark.parametrize("token", [None, " "])
def test_channel_is_off_without_a_token(
    engine: Engine, caplog: pytest.LogCaptureFixture, token: str | None
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.telegram.plugin")
    settings = Settings(_env_file=None, telegram_token=token)  # type: ignore[call-arg]
    app = create_app(settings=settings, engine=engine, plugins=[telegram_plugin])
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.post(WEBHOOK_PATH, content=b"{}").status_code == 404
    assert [r.getMessage() for r in caplog.records] == [
        "Telegram channel off: SUPPORTBOT_TELEGRAM_TOKEN is not set"
    ]


def test_webhook_is_off_without_a_secret(
    engine: Engine, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_token="1:x", telegram_base_url=fake_api.base_url
    )
    app = create_app(settings=settings, engine=engine, plugins=[telegram_plugin])
    with TestClient(app) as client:
        assert client.post(WEBHOOK_PATH, content=b"{}").status_code == 404
    assert any("SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET" in r.getMessage() for r in caplog.records)


async def test_long_polling_uses_the_same_translation(
    seeded: Engine, settings: Settings, fake_api: FakeBotApi, updates: Updates
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    channel = make_channel(runtime=ChannelRuntime(settings=settings, engine=seeded), polling=True)
    update = updates.message("/new", user_id=REQUESTER_ID, lang="nl")
    fake_api.push_update(update)
    # Polled updates go through the inbox too: `telegram poll` runs a drainer beside them.
    handlers = {"telegram": channel.handle_row}
    async with channel.running(), draining(engine=seeded, settings=settings, handlers=handlers):
        for _ in range(200):
            if fake_api.sent(REQUESTER_ID):
                break
            await asyncio.sleep(0.02)
        await channel.drain()
    [question] = fake_api.sent(REQUESTER_ID)
    assert question["text"] == translator("nl").gettext("Which contract is this request about?")
    assert fake_api.calls("deleteWebhook"), "polling replaces the webhook"
    assert [row.external_key for row in stored(seeded)] == [str(update["update_id"])]


@pytest.fixture
def cli_env(fake_api: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> FakeBotApi:
    for name, value in settings_env(fake_api).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return fake_api


def test_set_webhook_registers_the_secret_and_update_types(cli_env: FakeBotApi) -> None:
    url = "https://bot.example.be/telegram/webhook"
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", url])
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    [call] = cli_env.calls("setWebhook")
    assert call.params["url"] == url
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "callback_query", "my_chat_member"]


def test_set_webhook_needs_a_secret(cli_env: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["telegram", "set-webhook", "https://x.example/"])
    get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET" in result.output
    assert cli_env.calls("setWebhook") == []


def test_updates_of_one_chat_are_handled_in_order(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    for lang in ("nl", "en", "fr", "nl"):
        bot.post(updates.message(f"/lang {lang}", user_id=REQUESTER_ID, lang="en"))
    bot.drain()
    said = [m["text"] for m in bot.fake.sent(REQUESTER_ID)]
    expected = [
        translator(lang).gettext("I will speak English with you from now on.")
        for lang in ("nl", "en", "fr", "nl")
    ]
    assert said == expected


def test_updates_stored_but_not_handled_are_handled_by_the_next_process(
    seeded: Engine, settings: Settings, fake_api: FakeBotApi, updates: Updates
) -> None:
    # Was: only updates 30 s - 1 h old were replayed, at start-up. The inbox hands every
    # stored, unhandled update to the next drainer, whatever its age, in update_id order.
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    now = datetime.now(UTC)
    first = updates.message("/new", user_id=REQUESTER_ID, lang="en")
    second = updates.message("/help", user_id=REQUESTER_ID, lang="en")
    with transaction(seeded) as session:
        # Stored in the opposite order, the later one a day later (a long outage).
        for update, age in ((second, timedelta(minutes=5)), (first, timedelta(days=1))):
            session.add(
                InboundUpdate(
                    channel="telegram",
                    external_key=str(update["update_id"]),
                    payload=json.dumps(update),
                    received_at=now - age,
                    chat_key=f"chat:{REQUESTER_ID}",
                    seq=update["update_id"],
                )
            )
    app = create_app(settings=settings, engine=seeded, plugins=[telegram_plugin])
    with TestClient(app) as client:
        client.portal.call(app.state.telegram.drain)  # type: ignore[union-attr]
    question, *_help = fake_api.sent(REQUESTER_ID)
    assert question["text"] == translator("en").gettext("Which contract is this request about?")
    assert _help
    assert all(row.processed_at is not None for row in stored(seeded))


def test_telegram_unreachable_at_start_up_does_not_stop_the_app(
    seeded: Engine,
    settings: Settings,
    fake_api: FakeBotApi,
    updates: Updates,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(channel_module, "START_RETRY_SECONDS", 0.05)
    fake_api.fail(Failure("getMe", 502, "Bad Gateway"))
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    app = create_app(settings=settings, engine=seeded, plugins=[telegram_plugin])
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        running = Bot(client, fake_api)
        update = updates.message("/help", user_id=REQUESTER_ID, lang="en")
        early = running.post(update)
        for _ in range(100):
            if running.channel.application.running:
                break
            time.sleep(0.02)
        later = running.post(update)
        running.drain()
    assert (early.status_code, later.status_code) == (503, 200)
    assert len(fake_api.sent(REQUESTER_ID)) == 1


def test_a_refused_token_turns_the_channel_off(
    seeded: Engine, settings: Settings, fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.fail(Failure("getMe", 401, "Unauthorized"))
    app = create_app(settings=settings, engine=seeded, plugins=[telegram_plugin])
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert Bot(client, fake_api).post({"update_id": 1}).status_code == 503
    assert any("token was refused" in r.getMessage() for r in caplog.records)
