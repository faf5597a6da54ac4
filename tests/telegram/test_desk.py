"""The agent's desk in a Telegram agents group: replies to a ping reach the customer (notes
do not), the ping follows the ticket whatever changes it, refusals are private toasts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification
from bot.i18n import translator
from tests.telegram.conftest import (
    AGENT_ID,
    AGENTS_GROUP,
    FRIDAY_1730,
    LANGS,
    REFERENCE,
    REQUESTER_ID,
    Bot,
    Updates,
    buttons,
)
from tests.telegram.test_agents import ping_of


def customer_texts(engine: Engine) -> list[str]:
    with transaction(engine) as session:
        rows = session.exec(select(Notification).where(Notification.audience == "customer")).all()
        return [row.text for row in rows]


def payloads(message: dict) -> list[str]:
    return [data for _label, data in buttons(message)]


@pytest.mark.parametrize("default_locale", LANGS)
def test_a_reply_to_the_ping_reaches_the_customer_and_a_note_does_not(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    lang = default_locale
    ping = ping_of(bot, updates, seeded, lang)
    before = len(customer_texts(seeded))
    bot.fake.reset_calls()
    note = updates.message(
        "!note customer is a reseller",
        user_id=AGENT_ID,
        lang=lang,
        chat_id=AGENTS_GROUP,
        reply_to=ping,
    )
    assert bot.deliver(note) == []  # confirmed by a reaction, nothing posted
    [reaction] = bot.fake.calls("setMessageReaction")
    assert reaction.params["message_id"] in (
        note["message"]["message_id"],
        str(note["message"]["message_id"]),
    )
    assert len(customer_texts(seeded)) == before
    reply = updates.message(
        "We are restarting web01 now",
        user_id=AGENT_ID,
        lang=lang,
        chat_id=AGENTS_GROUP,
        reply_to=ping,
        name="Bram",
    )
    assert bot.deliver(reply) == []
    assert len(bot.fake.calls("setMessageReaction")) == 2
    new = customer_texts(seeded)[before:]
    assert new
    assert all("We are restarting web01 now" in text for text in new)
    assert all("Demo Agent" in text for text in new)  # the agent's display name
    bot.run_worker(FRIDAY_1730)
    told = [m["text"] for m in bot.fake.sent(REQUESTER_ID)]
    assert any("We are restarting web01 now" in text for text in told)
    t = translator(lang)
    assert any(
        t.gettext("internal note") in m["text"]
        for m in bot.deliver(updates.message(f"/ticket {REFERENCE}", user_id=AGENT_ID, lang=lang))
    )


def test_a_requesters_click_gets_a_private_refusal(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    ping = ping_of(bot, updates, seeded, "en")
    bot.fake.reset_calls()
    posted = bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=REQUESTER_ID, lang="en"))
    assert posted == []  # the room sees nothing
    [answer] = bot.fake.calls("answerCallbackQuery")
    assert answer.params["show_alert"] == "true"
    assert answer.params["text"]
    assert bot.fake.calls("editMessageText") == []
    assert bot.fake.calls("editMessageReplyMarkup") == []


def test_the_ping_follows_the_ticket_after_buttons_and_commands(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    room = translator(default_locale)  # the group's pings are in the default language
    ping = ping_of(bot, updates, seeded, "en")
    message_id = ping["message_id"]
    assert payloads(ping) == [f"t:ack:{REFERENCE}", f"t:take:{REFERENCE}"]
    bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang="en"))
    current = bot.fake.message(AGENTS_GROUP, message_id)
    assert payloads(current) == [f"t:pause:{REFERENCE}", f"t:resolve:{REFERENCE}"]
    bot.run_worker(FRIDAY_1730)
    current = bot.fake.message(AGENTS_GROUP, message_id)
    assert payloads(current) == [f"t:pause:{REFERENCE}", f"t:resolve:{REFERENCE}"]
    assert "Demo Agent" in current["text"]  # the owner
    # Typed commands in the agent's private chat: the worker edits the ping in place.
    bot.deliver(
        updates.message(f"/pause {REFERENCE} waiting for the customer", user_id=AGENT_ID, lang="en")
    )
    bot.run_worker(FRIDAY_1730)
    assert payloads(bot.fake.message(AGENTS_GROUP, message_id)) == [f"t:resume:{REFERENCE}"]
    current = bot.fake.message(AGENTS_GROUP, message_id)
    bot.deliver(updates.click(current, f"t:resume:{REFERENCE}", user_id=AGENT_ID, lang="en"))
    assert payloads(bot.fake.message(AGENTS_GROUP, message_id)) == [
        f"t:pause:{REFERENCE}",
        f"t:resolve:{REFERENCE}",
    ]
    bot.deliver(updates.message(f"/resolve {REFERENCE} 30", user_id=AGENT_ID, lang="en"))
    bot.run_worker(FRIDAY_1730)
    final = bot.fake.message(AGENTS_GROUP, message_id)
    assert "reply_markup" not in final
    assert room.gettext("resolved") in final["text"]
