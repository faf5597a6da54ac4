"""The agent's desk in a Telegram agents group: replies to a ping reach the customer (notes
do not), the ping follows the ticket whatever changes it, refusals are private toasts."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, TicketEvent, TicketPause, TicketStatus
from bot.i18n import translator
from handlers.render import status_label
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
    payload_for,
)
from tests.telegram.test_agents import ping_of, ticket_status


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


@pytest.mark.parametrize("default_locale", LANGS)
def test_a_requesters_click_gets_a_private_refusal(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    lang = default_locale
    ping = ping_of(bot, updates, seeded, lang)
    bot.fake.reset_calls()
    posted = bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=REQUESTER_ID, lang=lang))
    assert posted == []  # the room sees nothing
    [answer] = bot.fake.calls("answerCallbackQuery")
    assert answer.params["show_alert"] == "true"
    assert answer.params["text"] == translator(lang).gettext("You are not allowed to do that.")
    assert bot.fake.calls("editMessageText") == []
    assert bot.fake.calls("editMessageReplyMarkup") == []


@pytest.mark.parametrize("default_locale", LANGS)
def test_the_ping_follows_the_ticket_after_buttons_and_commands(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    lang = default_locale  # the group's pings and the agent speak the same language here
    t = translator(lang)
    ping = ping_of(bot, updates, seeded, lang)
    message_id = ping["message_id"]
    assert buttons(ping) == [
        (t.gettext("Acknowledge"), f"t:ack:{REFERENCE}"),
        (t.gettext("Take"), f"t:take:{REFERENCE}"),
    ]
    working = [
        (t.gettext("Pause"), f"t:pause:{REFERENCE}"),
        (t.gettext("Resolve"), f"t:resolve:{REFERENCE}"),
    ]
    bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang=lang))
    current = bot.fake.message(AGENTS_GROUP, message_id)
    assert buttons(current) == working
    bot.run_worker(FRIDAY_1730)
    current = bot.fake.message(AGENTS_GROUP, message_id)
    assert buttons(current) == working
    assert "Demo Agent" in current["text"]  # the owner
    # Typed commands in the agent's private chat: the worker edits the ping in place.
    bot.deliver(
        updates.message(f"/pause {REFERENCE} waiting for the customer", user_id=AGENT_ID, lang=lang)
    )
    bot.run_worker(FRIDAY_1730)
    current = bot.fake.message(AGENTS_GROUP, message_id)
    assert buttons(current) == [(t.gettext("Resume"), f"t:resume:{REFERENCE}")]
    assert status_label(t, TicketStatus.PAUSED) in current["text"]
    bot.deliver(updates.click(current, f"t:resume:{REFERENCE}", user_id=AGENT_ID, lang=lang))
    assert buttons(bot.fake.message(AGENTS_GROUP, message_id)) == working
    bot.deliver(updates.message(f"/resolve {REFERENCE} 30", user_id=AGENT_ID, lang=lang))
    bot.run_worker(FRIDAY_1730)
    final = bot.fake.message(AGENTS_GROUP, message_id)
    assert "reply_markup" not in final
    assert t.gettext("resolved") in final["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_cancelling_a_question_a_ping_button_opened_posts_nothing(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    t = translator(lang)
    ping = ping_of(bot, updates, seeded, lang)
    bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang=lang))
    ping = bot.fake.message(AGENTS_GROUP, ping["message_id"])
    markup = ping["reply_markup"]
    # Pause: the reason is asked; a typed "cancel" drops it, seen by a reaction only.
    [question] = bot.deliver(
        updates.click(ping, f"t:pause:{REFERENCE}", user_id=AGENT_ID, lang=lang)
    )
    bot.fake.reset_calls()
    cancel = updates.message(
        t.gettext("cancel"), user_id=AGENT_ID, lang=lang, chat_id=AGENTS_GROUP, reply_to=question
    )
    assert bot.deliver(cancel) == []
    [reaction] = bot.fake.calls("setMessageReaction")
    assert str(reaction.params["message_id"]) == str(cancel["message"]["message_id"])
    assert ticket_status(seeded) is TicketStatus.RESPONDED
    assert bot.fake.message(AGENTS_GROUP, ping["message_id"])["reply_markup"] == markup
    # Resolve: the minutes are asked, then the charge; its Cancel button posts nothing either.
    [question] = bot.deliver(
        updates.click(ping, f"t:resolve:{REFERENCE}", user_id=AGENT_ID, lang=lang)
    )
    [confirm] = bot.deliver(
        updates.message("20", user_id=AGENT_ID, lang=lang, chat_id=AGENTS_GROUP, reply_to=question)
    )
    bot.fake.reset_calls()
    posted = bot.deliver(
        updates.click(confirm, payload_for(confirm, "~cancel"), user_id=AGENT_ID, lang=lang)
    )
    assert posted == []
    assert [c for c in bot.fake.calls("sendMessage")] == []
    assert "reply_markup" not in bot.fake.message(AGENTS_GROUP, confirm["message_id"])
    assert ticket_status(seeded) is TicketStatus.RESPONDED
    with transaction(seeded) as session:
        assert session.exec(select(TicketEvent).where(TicketEvent.type == "time")).all() == []
    # A typed /cancel in the group is dropped the same way.
    [question] = bot.deliver(
        updates.click(ping, f"t:pause:{REFERENCE}", user_id=AGENT_ID, lang=lang)
    )
    typed = updates.message("/cancel", user_id=AGENT_ID, lang=lang, chat_id=AGENTS_GROUP)
    assert bot.deliver(typed) == []
    assert ticket_status(seeded) is TicketStatus.RESPONDED


def test_cancelling_in_a_private_chat_says_nothing_changed(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    ping_of(bot, updates, seeded, "en")
    bot.deliver(updates.message(f"/ack {REFERENCE}", user_id=AGENT_ID, lang="en"))
    bot.deliver(updates.message(f"/pause {REFERENCE}", user_id=AGENT_ID, lang="en"))
    [answer] = bot.deliver(updates.message("/cancel", user_id=AGENT_ID, lang="en"))
    assert answer["text"] == f"Cancelled. Nothing changed on {REFERENCE}."
    assert ticket_status(seeded) is TicketStatus.RESPONDED


@pytest.mark.parametrize("lang", LANGS)
def test_a_reply_to_any_bot_message_about_the_ticket_reaches_the_customer(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    ping = ping_of(bot, updates, seeded, lang)
    # The card the bot posts in the group after Acknowledge, then the one /ticket shows there.
    after_ack = bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang=lang))
    asked = bot.deliver(
        updates.message(f"/ticket {REFERENCE}", user_id=AGENT_ID, lang=lang, chat_id=AGENTS_GROUP)
    )
    assert after_ack
    assert asked
    for n, answer in enumerate([after_ack[0], asked[0], asked[-1]]):
        before = len(customer_texts(seeded))
        bot.fake.reset_calls()
        reply = updates.message(
            f"Disk replaced, step {n}",
            user_id=AGENT_ID,
            lang=lang,
            chat_id=AGENTS_GROUP,
            reply_to=answer,
        )
        assert bot.deliver(reply) == []  # confirmed by a reaction, nothing posted
        assert len(bot.fake.calls("setMessageReaction")) == 1
        new = customer_texts(seeded)[before:]
        assert new
        assert all(f"Disk replaced, step {n}" in text for text in new)
    # A reply to a question the bot asked is its answer, never a message to the customer.
    ping = bot.fake.message(AGENTS_GROUP, ping["message_id"])
    [question] = bot.deliver(
        updates.click(ping, f"t:pause:{REFERENCE}", user_id=AGENT_ID, lang=lang)
    )
    bot.deliver(
        updates.message(
            "waiting for spare parts",
            user_id=AGENT_ID,
            lang=lang,
            chat_id=AGENTS_GROUP,
            reply_to=question,
        )
    )
    assert ticket_status(seeded) is TicketStatus.PAUSED
    with transaction(seeded) as session:
        comments = session.exec(select(TicketEvent).where(TicketEvent.type == "comment")).all()
        assert not any("spare parts" in (event.reason or "") for event in comments)
        assert session.exec(select(TicketPause)).one().reason == "waiting for spare parts"
