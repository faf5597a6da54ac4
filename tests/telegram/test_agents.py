"""The agents group: ticket pings with buttons, acting on them, the ping kept up to date."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import MessageRef, Ticket, TicketPause, TicketStatus
from bot.i18n import translator
from tests.handlers.i18n_check import assert_language
from tests.telegram.conftest import (
    AGENT_ID,
    AGENTS_GROUP,
    FRIDAY_1730,
    LANGS,
    REFERENCE,
    REQUESTER_ID,
    STRANGER_ID,
    UNKNOWN_USER,
    Bot,
    Updates,
    buttons,
    link,
    open_ticket,
)
from tests.telegram.fake_api import BOT_ID

MONDAY_0900 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def ping_of(bot: Bot, updates: Updates, seeded: Engine, lang: str) -> dict[str, Any]:
    """Open a ticket (requester in `lang`) and deliver the agents' ping; returns the ping."""
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    open_ticket(bot, updates, lang)
    bot.run_worker(FRIDAY_1730)
    pings = bot.fake.sent(AGENTS_GROUP)
    assert len(pings) == 1
    return pings[0]


def ticket_status(engine: Engine) -> TicketStatus:
    with transaction(engine) as session:
        return session.exec(select(Ticket).where(Ticket.reference == REFERENCE)).one().status


@pytest.mark.parametrize("default_locale", LANGS)
def test_new_ticket_ping_has_buttons_and_a_message_ref(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    ping = ping_of(bot, updates, seeded, default_locale)
    t = translator(default_locale)
    template = t.gettext(
        "New ticket %(ref)s: %(intervention)s, priority %(priority)s. "
        "Response due %(response_due)s."
    )
    assert ping["text"].startswith(template.split("%")[0] + REFERENCE)
    assert REFERENCE in ping["text"]
    assert_language(ping["text"], default_locale)
    # Issue 13: a new ticket's ping offers Acknowledge and Take; Pause and Resolve come once
    # it is acknowledged.
    assert buttons(ping) == [
        (t.gettext("Acknowledge"), f"t:ack:{REFERENCE}"),
        (t.gettext("Take"), f"t:take:{REFERENCE}"),
    ]
    with transaction(seeded) as session:
        # Issue 14: the customer's "opened" message is remembered too (a reply to it joins
        # the ticket), so the ping's ref is looked up in the agents group.
        ref = session.exec(select(MessageRef).where(MessageRef.chat_id == str(AGENTS_GROUP))).one()
        assert (ref.channel, ref.chat_id, ref.purpose) == ("telegram", str(AGENTS_GROUP), "ping")
        assert ref.message_id == str(ping["message_id"])


@pytest.mark.parametrize("default_locale", LANGS)
def test_agent_acknowledges_from_the_group(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    lang = default_locale
    ping = ping_of(bot, updates, seeded, lang)
    bot.fake.reset_calls()
    new = bot.deliver(
        updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang=lang, name="Bram")
    )
    t = translator(lang)
    said = t.gettext("%(ref)s acknowledged: the customer is told.") % {"ref": REFERENCE}
    [answer] = bot.fake.calls("answerCallbackQuery")
    assert answer.params["text"] == said
    assert answer.params.get("show_alert") in (None, "false")
    # The ping says who acknowledged, and only the buttons that still apply remain.
    updated = bot.fake.message(AGENTS_GROUP, ping["message_id"])
    assert updated["text"].startswith(ping["text"])
    assert updated["text"].endswith(f"✔ Bram: {said}")
    assert buttons(updated) == [
        (t.gettext("Pause"), f"t:pause:{REFERENCE}"),
        (t.gettext("Resolve"), f"t:resolve:{REFERENCE}"),
    ]
    # The ticket card follows in the group.
    assert new[0]["text"].startswith(t.gettext("Ticket %(ref)s") % {"ref": REFERENCE})
    for message in [updated, *new]:
        assert_language(message["text"], lang)
    assert ticket_status(seeded) is TicketStatus.RESPONDED
    # The customer hears of it through the outbox, in their language.
    bot.run_worker(FRIDAY_1730)
    told = translator(lang).gettext(
        "Ticket %(ref)s: an agent has started working on your request."
    ) % {"ref": REFERENCE}
    assert told in [m["text"] for m in bot.fake.sent(REQUESTER_ID)]


def fixed(t: Any, msgid: str, **known: str) -> str:
    """The longest fixed part of a catalog text, once the known values are in."""
    text = t.gettext(msgid)
    for name, value in known.items():
        text = text.replace(f"%({name})s", value)
    return str(max(re.split(r"%\(\w+\)s", text), key=len).strip())


@pytest.mark.parametrize("default_locale", LANGS)
def test_resolve_removes_every_button(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    lang = default_locale
    t = translator(lang)
    ping = ping_of(bot, updates, seeded, lang)
    bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang=lang))
    ping = bot.fake.message(AGENTS_GROUP, ping["message_id"])
    # Issue 13: Resolve asks the time spent, then what will be charged, before anything changes.
    [question] = bot.deliver(
        updates.click(ping, f"t:resolve:{REFERENCE}", user_id=AGENT_ID, lang=lang)
    )
    asked = "Resolving %(ref)s: how many minutes of work to add? %(recorded)s recorded so far."
    assert fixed(t, asked, ref=REFERENCE) in question["text"]
    [confirm] = bot.deliver(
        updates.message("20", user_id=AGENT_ID, lang=lang, chat_id=AGENTS_GROUP, reply_to=question)
    )
    assert fixed(t, "%(amount)s will be charged.") in confirm["text"]
    assert ticket_status(seeded) is TicketStatus.RESPONDED
    yes = next(data for label, data in buttons(confirm) if label == t.gettext("Resolve"))
    bot.deliver(updates.click(confirm, yes, user_id=AGENT_ID, lang=lang))
    assert ticket_status(seeded) is TicketStatus.RESOLVED
    bot.run_worker(FRIDAY_1730)  # the ping follows the ticket
    updated = bot.fake.message(AGENTS_GROUP, ping["message_id"])
    assert "reply_markup" not in updated


def test_a_stranger_cannot_use_the_ping(bot: Bot, updates: Updates, seeded: Engine) -> None:
    ping = ping_of(bot, updates, seeded, "nl")
    bot.fake.reset_calls()
    new = bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=STRANGER_ID, lang="nl"))
    [answer] = bot.fake.calls("answerCallbackQuery")
    assert answer.params["show_alert"] == "true"
    assert answer.params["text"] == translator("nl").gettext(UNKNOWN_USER)
    assert bot.fake.calls("editMessageText") == []
    assert bot.fake.message(AGENTS_GROUP, ping["message_id"]) == ping
    assert new == []
    assert ticket_status(seeded) is TicketStatus.OPEN


@pytest.mark.parametrize("default_locale", LANGS)
def test_pause_asks_the_reason_in_the_group(
    bot: Bot, updates: Updates, seeded: Engine, default_locale: str
) -> None:
    lang = default_locale
    ping = ping_of(bot, updates, seeded, lang)
    # Issue 13: Pause is on the ping once the ticket is acknowledged.
    bot.deliver(updates.click(ping, f"t:ack:{REFERENCE}", user_id=AGENT_ID, lang=lang))
    ping = bot.fake.message(AGENTS_GROUP, ping["message_id"])
    bot.fake.reset_calls()
    [question] = bot.deliver(
        updates.click(ping, f"t:pause:{REFERENCE}", user_id=AGENT_ID, lang=lang, name="Bram")
    )
    # Addressed to the agent, with a forced reply so the answer reaches the bot.
    assert question["text"].startswith("Bram ")
    mention = question["entities"][0]
    assert (mention["type"], mention["user"]["id"]) == ("text_mention", AGENT_ID)
    [sent] = [c for c in bot.fake.calls("sendMessage") if c.params["chat_id"] == AGENTS_GROUP]
    assert sent.params["reply_markup"] == {"force_reply": True, "selective": True}
    assert (
        ping["reply_markup"] == bot.fake.message(AGENTS_GROUP, ping["message_id"])["reply_markup"]
    ), "nothing is done yet: the ping keeps its buttons"
    answer = bot.deliver(
        updates.message(
            "customer asked to wait until Monday",
            user_id=AGENT_ID,
            lang=lang,
            chat_id=AGENTS_GROUP,
            reply_to=question,
        )
    )
    assert answer[0]["text"] == translator(lang).gettext("Clock stopped on %(ref)s.") % {
        "ref": REFERENCE
    }
    assert ticket_status(seeded) is TicketStatus.PAUSED
    with transaction(seeded) as session:
        pause = session.exec(select(TicketPause)).one()
        assert pause.reason == "customer asked to wait until Monday"


def test_group_chatter_is_ignored(bot: Bot, updates: Updates, seeded: Engine) -> None:
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    quiet = bot.deliver(
        updates.message("coffee anyone?", user_id=AGENT_ID, lang="en", chat_id=AGENTS_GROUP)
    )
    other_bot = bot.deliver(
        updates.message("/queue@another_bot", user_id=AGENT_ID, lang="en", chat_id=AGENTS_GROUP)
    )
    assert quiet == other_bot == []
    mine = bot.deliver(
        updates.message(
            "/queue@supportbot_test_bot", user_id=AGENT_ID, lang="en", chat_id=AGENTS_GROUP
        )
    )
    assert mine[0]["text"] == translator("en").gettext("The queue is empty.")
    assert mine[0]["reply_to_message"]["from"]["id"] == AGENT_ID
    assert BOT_ID != AGENT_ID


def test_a_new_ping_disarms_the_previous_one(bot: Bot, updates: Updates, seeded: Engine) -> None:
    first = ping_of(bot, updates, seeded, "fr")
    bot.run_worker(MONDAY_0900)  # the response clock is at risk: new pings
    pings = bot.fake.sent(AGENTS_GROUP)
    assert len(pings) > 1
    assert [m["message_id"] for m in pings if buttons(m)] == [pings[-1]["message_id"]]
    with transaction(seeded) as session:
        # Issue 14: the customer's messages are remembered too; the ping is the one ref.
        ref = session.exec(select(MessageRef).where(MessageRef.purpose == "ping")).one()
        assert ref.message_id == str(pings[-1]["message_id"])
    assert first["message_id"] != pings[-1]["message_id"]
