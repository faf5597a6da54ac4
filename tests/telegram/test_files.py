"""Telegram conversation on a ticket: photos with and without a caption reach the agents
group (sent again by `file_id`, in the ticket's thread); a reply to a notification joins the
ticket; an agent's photo reply reaches the customer."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Ticket, TicketAttachment, TicketSatisfaction
from bot.i18n import translator
from bot.services import tickets, users
from tests.handlers.i18n_check import assert_language
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
    link,
    open_ticket,
)

PHOTO_ID = "AgACAgQAAxkBAAIBQ2Vphoto"


def _opened(bot: Bot, updates: Updates, seeded: Engine, lang: str) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    open_ticket(bot, updates, lang)
    bot.run_worker(FRIDAY_1730)


def _photos_in(bot: Bot, chat_id: int) -> list[dict[str, object]]:
    return [m for m in bot.fake.sent(chat_id) if "photo" in m]


@pytest.mark.parametrize("lang", LANGS)
def test_a_photo_on_an_open_ticket_reaches_the_agents_group(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    _opened(bot, updates, seeded, lang)
    t = translator(lang)
    # Without a caption: which request? Then the photo goes to the group by its file_id.
    shown = bot.deliver(updates.photo(user_id=REQUESTER_ID, lang=lang, file_id=PHOTO_ID))
    question = shown[-1]
    assert question["text"] == t.gettext("Is this about one of your requests?")
    data = next(d for _label, d in buttons(question) if d.endswith(":" + REFERENCE))
    shown = bot.deliver(updates.click(question, data, user_id=REQUESTER_ID, lang=lang))
    assert REFERENCE in shown[-1]["text"]
    assert_language(shown[-1]["text"], lang)
    bot.run_worker(FRIDAY_1730)
    [photo] = _photos_in(bot, AGENTS_GROUP)
    assert photo["photo"][0]["file_id"] == PHOTO_ID  # the largest size, by id
    # In the ticket's thread: a reply to the message that names the file, itself a reply
    # to the ticket's ping.
    assert REFERENCE in photo["reply_to_message"]["text"]
    assert "photo.jpg" in photo["reply_to_message"]["text"]
    [ping] = [m for m in bot.fake.sent(AGENTS_GROUP) if "reply_markup" in m]
    assert photo["reply_to_message"]["reply_to_message"]["message_id"] == ping["message_id"]
    # With a caption, as a reply to the bot's notification: it joins that ticket at once.
    notification = next(
        m for m in bot.fake.sent(REQUESTER_ID) if REFERENCE in m["text"] and "reply_markup" not in m
    )
    shown = bot.deliver(
        updates.photo(
            user_id=REQUESTER_ID,
            lang=lang,
            file_id=PHOTO_ID + "2",
            caption="the console shows this",
            reply_to=notification,
        )
    )
    assert REFERENCE in shown[-1]["text"]
    bot.run_worker(FRIDAY_1730)
    photos = _photos_in(bot, AGENTS_GROUP)
    assert [p["photo"][0]["file_id"] for p in photos] == [PHOTO_ID, PHOTO_ID + "2"]
    assert "the console shows this" in photos[-1]["reply_to_message"]["text"]
    with transaction(seeded) as session:
        stored = session.exec(select(TicketAttachment)).all()
        assert [(a.channel, a.kind, a.file_id, a.size) for a in stored] == [
            ("telegram", "photo", PHOTO_ID, 180_000),
            ("telegram", "photo", PHOTO_ID + "2", 180_000),
        ]


@pytest.mark.parametrize("lang", LANGS)
def test_a_photo_at_the_description_step_reaches_the_agents_group(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    t = translator(lang)
    shown = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang=lang))
    for value in ("1", "dedicated-servers", "dedicated-server-down-not-hardware", "express"):
        question = shown[-1]
        data = next(d for _label, d in buttons(question) if d.endswith(":" + value))
        shown = bot.deliver(updates.click(question, data, user_id=REQUESTER_ID, lang=lang))
    shown = bot.deliver(updates.message("web01.example.be", user_id=REQUESTER_ID, lang=lang))
    shown = bot.deliver(updates.message("30", user_id=REQUESTER_ID, lang=lang))
    # The description step: a photo without a caption is kept, the step asked again.
    shown = bot.deliver(updates.photo(user_id=REQUESTER_ID, lang=lang, file_id=PHOTO_ID))
    kept = t.ngettext(
        "Kept: %(n)d file will join your request.", "Kept: %(n)d files will join your request.", 1
    ) % {"n": 1}
    assert shown[0]["text"] == kept
    # A photo with a caption answers the description.
    shown = bot.deliver(
        updates.photo(
            user_id=REQUESTER_ID,
            lang=lang,
            file_id=PHOTO_ID + "2",
            caption="web01 answers no ping since 17:00",
        )
    )
    confirm = shown[-1]
    data = next(d for _label, d in buttons(confirm) if d.endswith(":~open"))
    shown = bot.deliver(updates.click(confirm, data, user_id=REQUESTER_ID, lang=lang))
    assert any(REFERENCE in m["text"] for m in shown)
    bot.run_worker(FRIDAY_1730)
    photos = _photos_in(bot, AGENTS_GROUP)
    assert [p["photo"][0]["file_id"] for p in photos] == [PHOTO_ID, PHOTO_ID + "2"]


def test_an_agents_photo_reply_in_the_group_reaches_the_customer(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    _opened(bot, updates, seeded, "en")
    [ping] = [m for m in bot.fake.sent(AGENTS_GROUP) if "reply_markup" in m]
    bot.deliver(
        updates.photo(
            user_id=AGENT_ID,
            lang="en",
            file_id=PHOTO_ID,
            caption="Is this the screen you see?",
            chat_id=AGENTS_GROUP,
            reply_to=ping,
        )
    )
    bot.run_worker(FRIDAY_1730)
    [photo] = _photos_in(bot, REQUESTER_ID)
    assert photo["photo"][0]["file_id"] == PHOTO_ID
    assert "Is this the screen you see?" in photo["reply_to_message"]["text"]
    assert "Demo Agent" in photo["reply_to_message"]["text"]


@pytest.mark.parametrize("lang", LANGS)
def test_solved_then_rated_from_the_private_chat(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    _opened(bot, updates, seeded, lang)
    t = translator(lang)
    with transaction(seeded) as session:
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert agent is not None
        ticket = session.exec(select(Ticket)).one()
        tickets.resolve(
            session=session,
            actor=tickets.actor_for(session=session, user=agent),
            ticket=ticket,
            now=FRIDAY_1730,
            minutes=30,
        )
    bot.run_worker(FRIDAY_1730)
    question = t.gettext("Is it solved? If not, say so and the ticket goes back to the team.")
    [resolved] = [m for m in bot.fake.sent(REQUESTER_ID) if question in m["text"]]
    assert [d for _label, d in buttons(resolved)] == [
        f"t:solved:{REFERENCE}",
        f"t:unsolved:{REFERENCE}",
    ]
    shown = bot.deliver(
        updates.click(resolved, f"t:solved:{REFERENCE}", user_id=REQUESTER_ID, lang=lang)
    )
    assert "reply_markup" not in bot.fake.message(REQUESTER_ID, resolved["message_id"])
    rating = shown[-1]
    assert [d for _label, d in buttons(rating)] == [f"t:rate{n}:{REFERENCE}" for n in range(1, 6)]
    shown = bot.deliver(
        updates.click(rating, f"t:rate3:{REFERENCE}", user_id=REQUESTER_ID, lang=lang)
    )
    assert t.gettext("Would you like to add a comment? Write it, or skip.") in shown[-1]["text"]
    shown = bot.deliver(updates.message("ok", user_id=REQUESTER_ID, lang=lang))
    assert shown[-1]["text"] == t.gettext("Thank you, your comment is recorded.")
    with transaction(seeded) as session:
        rated = session.exec(select(TicketSatisfaction)).one()
        assert (rated.score, rated.comment) == (3, "ok")
