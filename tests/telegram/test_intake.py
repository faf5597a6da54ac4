"""A customer on Telegram: invite deep link, guided intake with buttons, expired buttons."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import ChannelIdentity, Role, Tenant, Ticket, TicketStatus, User
from bot.i18n import translator
from bot.services import users
from bot.services.demo import DEMO_TENANT
from tests.handlers.i18n_check import assert_language
from tests.telegram.conftest import (
    FRIDAY_1730,
    LANGS,
    REFERENCE,
    REQUESTER_ID,
    UNKNOWN_USER,
    Bot,
    Updates,
    buttons,
    link,
    open_ticket,
    payload_for,
)


@pytest.mark.parametrize("lang", LANGS)
def test_full_intake_opens_a_ticket(bot: Bot, updates: Updates, seeded: Engine, lang: str) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    messages = open_ticket(bot, updates, lang)
    t = translator(lang)
    texts = [m["text"] for m in messages]
    opened = t.gettext("Your ticket is open. Keep its reference for any later exchange: %(ref)s")
    assert opened % {"ref": REFERENCE} in texts
    card = next(
        m
        for m in messages
        if m["text"].startswith(t.gettext("Ticket %(ref)s") % {"ref": REFERENCE})
    )
    title = t.gettext("Ticket %(ref)s") % {"ref": REFERENCE}
    assert {"offset": 0, "length": len(title), "type": "bold"} in card["entities"]
    for text in texts:
        assert_language(text, lang)
    # No question is left clickable but the card's own actions, if any.
    assert [m for m in messages if buttons(m) and m is not card] == []
    for message in messages:
        for _label, data in buttons(message):
            assert len(data.encode()) <= 64
    with transaction(seeded) as session:
        ticket = session.exec(select(Ticket).where(Ticket.reference == REFERENCE)).one()
        assert ticket.status is TicketStatus.OPEN
        assert ticket.logged_at == FRIDAY_1730
        assert ticket.priority == "express"


@pytest.mark.parametrize("lang", LANGS)
def test_expired_button_gets_a_localized_answer(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    first = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang=lang))[-1]
    bot.deliver(updates.click(first, payload_for(first, "1"), user_id=REQUESTER_ID, lang=lang))
    # The same keyboard clicked again (a second client still showing it): its token is stale.
    stale = payload_for(first, "2")
    answer = bot.deliver(updates.click(first, stale, user_id=REQUESTER_ID, lang=lang))
    t = translator(lang)
    assert answer[0]["text"] == t.gettext("This choice has expired. Here is where we are now.")
    assert buttons(answer[-1]), "the current question is asked again"
    for message in answer:
        assert_language(message["text"], lang)


@pytest.mark.parametrize("lang", LANGS)
def test_start_code_links_an_invited_user(
    bot: Bot, updates: Updates, seeded: Engine, lang: str
) -> None:
    with transaction(seeded) as session:
        tenant = session.exec(select(Tenant).where(Tenant.slug == DEMO_TENANT)).one()
        code = users.create_invite(
            session=session, role=Role.REQUESTER, now=FRIDAY_1730, valid_days=7, tenant=tenant
        ).code
    newcomer = 8101
    answer = bot.deliver(
        updates.message(f"/start {code}", user_id=newcomer, lang=lang, name="Lena")
    )
    t = translator(lang)
    assert answer[0]["text"] == t.gettext("Welcome, %(name)s: your account is linked.") % {
        "name": "Lena"
    }
    assert_language("\n".join(m["text"] for m in answer), lang)
    with transaction(seeded) as session:
        identity = users.find_identity(session=session, channel="telegram", external_id="8101")
        assert identity is not None
        user = session.get(User, identity.user_id)
        assert user is not None
        assert user.role is Role.REQUESTER
    # The linked user can open a ticket straight away.
    menu = bot.deliver(updates.message("/new", user_id=newcomer, lang=lang))
    assert menu[0]["text"] == t.gettext("Which contract is this request about?")


def test_unknown_user_is_told_how_to_join(bot: Bot, updates: Updates) -> None:
    answer = bot.deliver(updates.message("hello", user_id=8202, lang="nl"))
    assert answer[0]["text"] == translator("nl").gettext(UNKNOWN_USER)


def test_chosen_language_beats_telegram_language(
    bot: Bot, updates: Updates, seeded: Engine
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    bot.deliver(updates.message("/lang nl", user_id=REQUESTER_ID, lang="fr"))
    answer = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang="fr"))
    assert answer[0]["text"] == translator("nl").gettext("Which contract is this request about?")
    with transaction(seeded) as session:
        identity = session.exec(
            select(ChannelIdentity).where(ChannelIdentity.external_id == str(REQUESTER_ID))
        ).one()
        assert identity.platform_locale == "fr"
