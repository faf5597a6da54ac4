"""Telegram through the inbox: one chat's updates in update_id order, open questions that
outlive the process."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from bot.app import create_app
from bot.channels.telegram.plugin import telegram_plugin
from bot.db.engine import transaction
from bot.db.models import InboundUpdate
from bot.i18n import translator
from tests.telegram.conftest import (
    REQUESTER_ID,
    Bot,
    Updates,
    buttons,
    link,
    make_settings,
)
from tests.telegram.fake_api import FakeBotApi


def _app_bot(seeded: Engine, fake_api: FakeBotApi, **overrides: Any) -> tuple[TestClient, Bot]:
    settings = make_settings(fake_api, default_locale="en", **overrides)
    client = TestClient(create_app(settings=settings, engine=seeded, plugins=[telegram_plugin]))
    client.__enter__()
    return client, Bot(client, fake_api)


def test_a_later_update_of_a_chat_never_overtakes_an_earlier_one(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    new = updates.message("/new", user_id=REQUESTER_ID, lang="en")
    cancel = updates.message("/cancel", user_id=REQUESTER_ID, lang="en")
    # Delivered concurrently, the later one stored first: a generous order window (the
    # test never relies on it being short) lets the earlier one be stored too.
    client, bot = _app_bot(seeded, fake_api, inbox_order_window_ms=3000)
    try:
        assert bot.post(cancel).status_code == 200
        assert bot.post(new).status_code == 200
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    first, *rest = fake_api.sent(REQUESTER_ID)
    t = translator("en")
    assert first["text"] == t.gettext("Which contract is this request about?")
    assert rest, "the /cancel was answered after the question"
    assert "reply_markup" not in fake_api.message(REQUESTER_ID, first["message_id"])


def test_a_question_s_buttons_go_even_after_a_restart(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    # Which message carries the live buttons is in the database: a new process knows it.
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    client, bot = _app_bot(seeded, fake_api)
    try:
        [question] = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang="en"))
    finally:
        client.__exit__(None, None, None)
    assert buttons(question)
    client, bot = _app_bot(seeded, fake_api)  # another process
    try:
        bot.deliver(updates.message("/help", user_id=REQUESTER_ID, lang="en"))
    finally:
        client.__exit__(None, None, None)
    assert "reply_markup" not in fake_api.message(REQUESTER_ID, question["message_id"])


def test_a_stored_truncated_update_is_parked_not_crashed_on(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    client, bot = _app_bot(seeded, fake_api, inbound_payload_max_chars=1024)
    try:
        huge = updates.message("x" * 5000, user_id=REQUESTER_ID, lang="en")
        assert bot.post(huge).status_code == 200
        after = updates.message("/help", user_id=REQUESTER_ID, lang="en")
        assert bot.post(after).status_code == 200
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    with transaction(seeded) as session:
        rows = {r.external_key: r for r in session.exec(select(InboundUpdate)).all()}
    cut = rows[str(huge["update_id"])]
    assert cut.parked_at is not None
    assert cut.processed_at is None
    assert cut.last_error == "stored truncated (too large)"
    assert rows[str(after["update_id"])].processed_at is not None  # its chat moved on
    assert len(fake_api.sent(REQUESTER_ID)) == 1  # the /help answer only
