"""Sending replies: transient errors retried, forum topics kept, group migration, length."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.channels.sending import Delivery, OutboxMessage
from bot.channels.telegram import render
from bot.db.engine import transaction
from bot.db.models import InboundUpdate
from bot.i18n import translator
from bot.inbox import store as inbox_store
from handlers.model import MAX_TEXT, Choices, Option, Prompt
from tests.telegram.conftest import (
    AGENT_ID,
    AGENTS_GROUP,
    REQUESTER_ID,
    UNKNOWN_USER,
    Bot,
    Updates,
    link,
)
from tests.telegram.fake_api import Failure

CUSTOMERS = -100_123  # a customer's forum supergroup


@pytest.fixture
def waits(bot: Bot) -> list[float]:
    """The pauses the channel takes between tries (recorded, not slept)."""
    recorded: list[float] = []

    async def sleep(seconds: float) -> None:
        recorded.append(seconds)

    bot.channel.sleep = sleep
    return recorded


def test_a_reply_is_retried_after_5xx_and_time_outs(
    bot: Bot, updates: Updates, waits: list[float]
) -> None:
    bot.fake.fail(Failure("sendMessage", 502, "Bad Gateway"))
    bot.fake.fail(Failure("sendMessage", 500, "Internal Server Error"))
    answer = bot.deliver(updates.message("hello", user_id=8301, lang="nl"))
    assert [m["text"] for m in answer] == [translator("nl").gettext(UNKNOWN_USER)]
    assert len(bot.fake.calls("sendMessage")) == 3
    assert waits == [0.5, 2.0]


def test_a_short_retry_after_is_waited_out(bot: Bot, updates: Updates, waits: list[float]) -> None:
    bot.fake.fail(
        Failure(
            "sendMessage", 429, "Too Many Requests: retry after 3", parameters={"retry_after": 3}
        )
    )
    answer = bot.deliver(updates.message("hello", user_id=8302, lang="en"))
    assert [m["text"] for m in answer] == [translator("en").gettext(UNKNOWN_USER)]
    assert waits == [3.0]


def test_a_bad_request_is_given_up_a_long_pause_left_to_the_inbox(
    bot: Bot, updates: Updates, waits: list[float], seeded: Engine
) -> None:
    bot.fake.fail(Failure("sendMessage", 400, "Bad Request: chat not found"))
    assert bot.deliver(updates.message("hello", user_id=8303, lang="en")) == []
    assert len(bot.fake.calls("sendMessage")) == 1
    bot.fake.fail(
        Failure(
            "sendMessage", 429, "Too Many Requests: retry after 90", parameters={"retry_after": 90}
        )
    )
    paused = updates.message("hello", user_id=8303, lang="en")
    assert bot.post(paused).status_code == 200
    key = str(paused["update_id"])
    deadline = time.monotonic() + 60
    while (row := stored_row(seeded, key)).failures == 0:
        assert time.monotonic() < deadline, "the pause was never recorded"
        time.sleep(0.02)
    assert waits == []  # not waited out in the process: the reply is sent again after it
    assert row.processed_at is not None
    assert row.replied_at is None
    assert row.lease_until is not None
    assert row.lease_until >= datetime.now(UTC) + timedelta(seconds=80)


def test_three_failures_in_a_row_leave_the_reply_to_the_inbox(
    bot: Bot, updates: Updates, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Was: given up. The reply is stored with the event: the inbox sends it again later.
    monkeypatch.setattr(inbox_store, "BACKOFF_BASE", 0.01)
    for _ in range(3):
        bot.fake.fail(Failure("sendMessage", 503, "Service Unavailable"))
    answer = bot.deliver(updates.message("hello", user_id=8304, lang="en"))
    assert [m["text"] for m in answer] == [translator("en").gettext(UNKNOWN_USER)]
    assert len(bot.fake.calls("sendMessage")) == 4
    assert waits == [0.5, 2.0]


def stored_row(engine: Engine, key: str) -> InboundUpdate:
    with transaction(engine) as session:
        return session.exec(select(InboundUpdate).where(InboundUpdate.external_key == key)).one()


def topic_message(
    updates: Updates,
    text: str,
    *,
    thread: int,
    user_id: int = AGENT_ID,
    chat_id: int = AGENTS_GROUP,
) -> dict[str, Any]:
    update = updates.message(text, user_id=user_id, lang="en", chat_id=chat_id)
    update["message"]["message_thread_id"] = thread
    update["message"]["is_topic_message"] = True
    updates.fake.note(update["message"])
    return update


def test_replies_stay_in_the_forum_topic(bot: Bot, updates: Updates, seeded: Engine) -> None:
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    answer = bot.deliver(topic_message(updates, "/help", thread=77))
    assert answer
    assert all(m.get("message_thread_id") == 77 for m in answer)
    calls = bot.fake.calls("sendMessage")
    assert {int(call.params["message_thread_id"]) for call in calls} == {77}
    # A message outside topics gets replies without a thread.
    bot.fake.reset_calls()
    plain = bot.deliver(updates.message("/help", user_id=AGENT_ID, lang="en", chat_id=AGENTS_GROUP))
    assert plain
    assert all("message_thread_id" not in call.params for call in bot.fake.calls("sendMessage"))


def test_a_button_in_a_topic_is_answered_in_the_topic(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    bot.deliver(topic_message(updates, "/new", thread=12, user_id=REQUESTER_ID, chat_id=CUSTOMERS))
    asked = [m for m in bot.fake.sent(CUSTOMERS) if m.get("reply_markup")]
    assert asked, "the agent is asked something with buttons"
    question = asked[-1]
    assert question["message_thread_id"] == 12
    data = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    bot.fake.reset_calls()
    bot.deliver(updates.click(question, data, user_id=REQUESTER_ID, lang="en"))
    calls = bot.fake.calls("sendMessage")
    assert calls
    assert {int(call.params["message_thread_id"]) for call in calls} == {12}


def test_a_group_that_becomes_a_supergroup_keeps_its_agents(
    bot: Bot, updates: Updates, caplog: pytest.LogCaptureFixture
) -> None:
    update = updates.message("x", user_id=AGENT_ID, lang="en", chat_id=AGENTS_GROUP)
    message = update["message"]
    del message["text"]
    message["migrate_to_chat_id"] = -100_999_000
    with caplog.at_level(logging.WARNING):
        assert bot.deliver(update) == []
    assert bot.channel.settings.telegram_agents_groups == {"TLN": -100_999_000}
    assert any("TLN" in r.getMessage() and "-100999000" in r.getMessage() for r in caplog.records)
    # Another group's migration changes nothing.
    assert bot.channel.migrate_group(-5, -6) == []
    assert bot.channel.settings.telegram_agents_groups == {"TLN": -100_999_000}


@pytest.mark.parametrize(
    "reply",
    [
        Prompt("x" * MAX_TEXT),
        Prompt(("line " * 50 + "\n") * 40),
        Choices("y" * (MAX_TEXT - 3), (Option("A", "a"), Option("B", "b"))),
    ],
)
def test_a_mention_never_pushes_a_message_over_the_limit(bot: Bot, reply: Prompt) -> None:
    mention = render.mention_html(AGENT_ID, "Ž" * 64)
    messages = render.render(reply, group=True, mention=mention)
    assert messages[0].text.startswith(mention)
    assert all(render.visible_length(m.text) <= MAX_TEXT for m in messages)
    # The fake Bot API refuses any text over 4,096 characters: every message goes out.
    sent = bot.client.portal.call(  # type: ignore[union-attr]
        lambda: bot.channel.send_replies(AGENTS_GROUP, [reply], group=True, mention=mention)
    )
    assert len(sent) == len(messages)


def test_the_outbox_follows_a_migrated_agents_group(bot: Bot) -> None:
    bot.fake.fail(
        Failure(
            "sendMessage",
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            chat_id=AGENTS_GROUP,
            parameters={"migrate_to_chat_id": -100_888_000},
        )
    )
    sender = bot.client.app.state.telegram_sender  # type: ignore[attr-defined]
    message = OutboxMessage(
        id=1,
        idempotency_key="k",
        channel="telegram",
        chat_id=str(AGENTS_GROUP),
        lang="en",
        text="A new ticket.",
        event="opened",
        audience="agents",
        user_id=None,
    )
    result = bot.client.portal.call(sender.send, message)  # type: ignore[union-attr]
    assert result.outcome is Delivery.DELIVERED
    assert [m["text"] for m in bot.fake.sent(-100_888_000)] == ["A new ticket."]
    assert bot.channel.settings.telegram_agents_groups == {"TLN": -100_888_000}
