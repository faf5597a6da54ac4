"""Fixtures for the Telegram channel: the fake Bot API, settings, the app, update builders."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.channels.telegram.channel import TelegramChannel
from bot.channels.telegram.plugin import SECRET_HEADER, WEBHOOK_PATH, telegram_plugin
from bot.channels.telegram.ratelimit import Unlimited
from bot.db.engine import transaction
from bot.i18n import translator
from bot.services import demo, users
from bot.settings import Settings
from bot.worker.clock import ManualClock
from bot.worker.runner import Worker
from bot.worker.senders import RateLimit
from tests.telegram.fake_api import BOT_ID, FakeBotApi, chat_of
from tests.wording_scan import assert_wording, guess_language

# Friday 20 November 2026, 17:30 in Brussels.
FRIDAY_1730 = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
TOKEN = "123456:TEST-TOKEN"
SECRET = "webhook-secret_42"
AGENTS_GROUP = -100_777
LANGS = ["fr", "nl", "en"]
REFERENCE = "TLN-2026-000001"
UNKNOWN_USER = (
    "I don't know you yet. Ask your company's administrator or your provider for an invite "
    "code, then send /start followed by the code."
)
REQUESTER_ID = 5001
AGENT_ID = 6001
STRANGER_ID = 7001


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    """The fake Bot API server on 127.0.0.1 (a free port)."""
    server = FakeBotApi().start()
    yield server
    server.stop()


def settings_env(fake_api: FakeBotApi, **overrides: str) -> dict[str, str]:
    """The environment of a bot talking to the fake server."""
    return {
        "SUPPORTBOT_TELEGRAM_TOKEN": TOKEN,
        "SUPPORTBOT_TELEGRAM_WEBHOOK_SECRET": SECRET,
        "SUPPORTBOT_TELEGRAM_BASE_URL": fake_api.base_url,
        "SUPPORTBOT_TELEGRAM_AGENTS_GROUPS": json.dumps({"TLN": AGENTS_GROUP}),
        **{f"SUPPORTBOT_{name.upper()}": value for name, value in overrides.items()},
    }


@pytest.fixture
def default_locale() -> str:
    """The bot's default language (tests parametrize it to check the agents group's)."""
    return "fr"


def make_settings(fake_api: FakeBotApi, **overrides: Any) -> Settings:
    """Settings of a bot talking to the fake server (not read from the environment)."""
    values: dict[str, Any] = {
        "telegram_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_base_url": fake_api.base_url,
        "telegram_agents_groups": {"TLN": AGENTS_GROUP},
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(fake_api: FakeBotApi, default_locale: str) -> Settings:
    """A token, a webhook secret and an agents group for Telenet (TLN)."""
    return make_settings(fake_api, default_locale=default_locale)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    """The per-test database with the demo data."""
    with transaction(engine) as session:
        demo.seed(session=session, now=FRIDAY_1730)
    return engine


def link(engine: Engine, *, handle: str, external_id: int, locale: str | None = None) -> None:
    """Link a Telegram account to a demo user."""
    with transaction(engine) as session:
        user = users.get_user_by_handle(session=session, handle=handle)
        assert user is not None
        users.link_identity(
            session=session,
            user=user,
            channel="telegram",
            external_id=str(external_id),
            platform_locale=locale,
        )


@dataclass
class Updates:
    """Builds Telegram updates the way Telegram would send them."""

    fake: FakeBotApi
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))
    message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(50_000))

    @staticmethod
    def user(user_id: int, lang: str | None, name: str = "Ana") -> dict[str, Any]:
        """A Telegram user object."""
        found: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
        if lang is not None:
            found["language_code"] = lang
        return found

    def message(
        self,
        text: str,
        *,
        user_id: int,
        lang: str | None,
        chat_id: int | None = None,
        name: str = "Ana",
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A text message update."""
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "date": 1_795_000_000,
            "chat": chat_of(chat_id if chat_id is not None else user_id),
            "from": self.user(user_id, lang, name),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.fake.note(message)
        return {"update_id": next(self.ids), "message": message}

    def photo(
        self,
        *,
        user_id: int,
        lang: str | None,
        file_id: str,
        caption: str | None = None,
        chat_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A photo message (two sizes, as Telegram sends them), with an optional caption."""
        message: dict[str, Any] = {
            "message_id": next(self.message_ids),
            "date": 1_795_000_000,
            "chat": chat_of(chat_id if chat_id is not None else user_id),
            "from": self.user(user_id, lang),
            "photo": [
                {
                    "file_id": f"{file_id}-small",
                    "file_unique_id": "s",
                    "width": 90,
                    "height": 60,
                    "file_size": 1_200,
                },
                {
                    "file_id": file_id,
                    "file_unique_id": "l",
                    "width": 1280,
                    "height": 853,
                    "file_size": 180_000,
                },
            ],
        }
        if caption is not None:
            message["caption"] = caption
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.fake.note(message)
        return {"update_id": next(self.ids), "message": message}

    def click(
        self,
        message: dict[str, Any],
        data: str,
        *,
        user_id: int,
        lang: str | None,
        name: str = "Ana",
    ) -> dict[str, Any]:
        """A button press on a message the bot sent."""
        return {
            "update_id": next(self.ids),
            "callback_query": {
                "id": str(next(self.ids)),
                "from": self.user(user_id, lang, name),
                "chat_instance": "ci",
                "message": message,
                "data": data,
            },
        }

    def blocked(self, user_id: int, *, blocked: bool = True) -> dict[str, Any]:
        """The user blocked (or unblocked) the bot."""
        bot = {"id": BOT_ID, "is_bot": True, "first_name": "Support"}
        old = {"status": "member", "user": bot}
        new = {"status": "kicked", "user": bot, "until_date": 0}
        if not blocked:
            old, new = new, old
        return {
            "update_id": next(self.ids),
            "my_chat_member": {
                "chat": chat_of(user_id),
                "from": self.user(user_id, None),
                "date": 1_795_000_000,
                "old_chat_member": old,
                "new_chat_member": new,
            },
        }


@pytest.fixture
def updates(fake_api: FakeBotApi) -> Updates:
    """The update builder."""
    return Updates(fake_api)


class Bot:
    """The app under test, its channel, and the way to post updates to its webhook."""

    def __init__(self, client: TestClient, fake: FakeBotApi) -> None:
        self.client = client
        self.fake = fake
        self.channel: TelegramChannel = client.app.state.telegram  # type: ignore[attr-defined]

    def post(self, update: dict[str, Any] | bytes, *, secret: str | None = SECRET) -> Any:
        """POST an update to the webhook (does not wait for its handling)."""
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        return self.client.post(WEBHOOK_PATH, content=body, headers=headers)

    def deliver(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """POST an update, wait until it is handled, return the new messages in its chat."""
        body = update.get("message") or update.get("callback_query", {}).get("message") or {}
        chat_id = body.get("chat", {}).get("id")
        before = {m["message_id"] for m in self.fake.sent(chat_id)}
        response = self.post(update)
        assert response.status_code == 200, response.text
        self.drain()
        return [m for m in self.fake.sent(chat_id) if m["message_id"] not in before]

    def drain(self) -> None:
        """Wait until every posted update is handled."""
        self.client.portal.call(self.channel.drain)  # type: ignore[union-attr]

    def run_worker(self, at: datetime) -> dict[str, int]:
        """One pass of the worker at `at`: fire due milestones, send the Telegram outbox."""
        worker = Worker(
            engine=self.channel.store.engine,
            settings=self.channel.settings,
            clock=ManualClock(at),
            senders=[self.client.app.state.telegram_sender],  # type: ignore[attr-defined]
        )
        figures: dict[str, int] = self.client.portal.call(worker.run_once)  # type: ignore[union-attr]
        return figures


@pytest.fixture
def bot(seeded: Engine, settings: Settings, fake_api: FakeBotApi) -> Iterator[Bot]:
    """The HTTP app with the Telegram channel, started, on the seeded database."""
    app = create_app(settings=settings, engine=seeded, plugins=[telegram_plugin])
    with TestClient(app) as client:
        running = Bot(client, fake_api)
        running.channel.clock = lambda: FRIDAY_1730
        # Pacing is covered by its own tests; here messages go out at once.
        unlimited = Unlimited()
        sender = client.app.state.telegram_sender  # type: ignore[attr-defined]
        running.channel.limiter = sender.limiter = unlimited
        sender.limits = RateLimit(per_second=10_000, per_chat_per_second=10_000, burst=1000)
        yield running
    for message in fake_api.sent():
        shown = "\n".join([message.get("text", ""), *(label for label, _d in buttons(message))])
        assert_wording(shown, guess_language(shown))


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback_data) of a message's inline keyboard, row by row."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def payload_for(message: dict[str, Any], value: str) -> str:
    """The callback data of the button answering `value` (`c:TOKEN:value`, `t:verb:REF`)."""
    for _label, data in buttons(message):
        if data.endswith(":" + value) or data == value:
            return data
    raise AssertionError(f"no button for {value!r} in {buttons(message)}")


REFERENCE = "TLN-2026-000001"
# Telenet Support Hosting & Cloud → dedicated servers → server down (not hardware) → Express,
# then the details typed, an estimate if asked, and the confirmation.
CLICKS = ["1", "dedicated-servers", "dedicated-server-down-not-hardware", "express", "30"]
TYPED = ["web01.example.be", "web01 answers no ping since 17:00"]
CONFIRM = "~open"


def _has(question: dict[str, Any], value: str) -> bool:
    return any(data.endswith(":" + value) for _label, data in buttons(question))


def open_ticket(bot: Bot, updates: Updates, lang: str) -> list[dict[str, Any]]:
    """Open a ticket from the requester's private chat, clicking and typing as a user would."""
    shown = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang=lang))
    assert shown[0]["text"] == translator(lang).gettext("Which contract is this request about?")
    clicks, typed = list(CLICKS), list(TYPED)
    for _step in range(12):
        question = shown[-1]
        if clicks and _has(question, clicks[0]):
            value = clicks.pop(0)
        elif _has(question, CONFIRM):
            value = CONFIRM
        else:
            assert typed, f"unexpected question: {question['text']}"
            shown = bot.deliver(updates.message(typed.pop(0), user_id=REQUESTER_ID, lang=lang))
            continue
        data = payload_for(question, value)
        label = next(text for text, payload in buttons(question) if payload == data)
        bot.fake.reset_calls()
        shown = bot.deliver(updates.click(question, data, user_id=REQUESTER_ID, lang=lang))
        # The question keeps what was picked and loses its keyboard; the click is answered.
        closed = bot.fake.message(REQUESTER_ID, question["message_id"])
        assert "reply_markup" not in closed
        assert closed["text"].endswith(f"→ {label}")
        assert len(bot.fake.calls("answerCallbackQuery")) == 1
        assert shown, f"no answer to {value}"
        if value == CONFIRM:
            return bot.fake.sent(REQUESTER_ID)
    raise AssertionError("the intake did not end")
