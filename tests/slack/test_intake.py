"""A full intake in Slack, in French, Dutch and English: by slash command and DM Block Kit
messages, and by modal."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, Ticket, TicketStatus
from bot.i18n import translator
from tests.handlers.i18n_check import assert_language
from tests.slack.conftest import (
    AGENTS,
    REQUESTER,
    World,
    find_element,
    find_label,
    input_block,
    text_of,
    view_options,
)

TEXTS = {
    "fr": {
        "contract": "Quel contrat",
        "opened": "Votre ticket est ouvert",
        "response_due": "lun. 23 nov. 2026 10:30",
        "resolution_due": "lun. 23 nov. 2026 17:30",
    },
    "nl": {
        "contract": "Over welk contract",
        "opened": "Uw ticket is geopend",
        "response_due": "ma 23 nov 2026 10:30",
        "resolution_due": "ma 23 nov 2026 17:30",
    },
    "en": {
        "contract": "Which contract",
        "opened": "Your ticket is open",
        "response_due": "Mon 23 Nov 2026 10:30",
        "resolution_due": "Mon 23 Nov 2026 17:30",
    },
}
LANGS = ["fr", "nl", "en"]


def _has_actions(message: dict[str, Any]) -> bool:
    return any(block.get("type") == "actions" for block in message.get("blocks", []))


def _select_used(world: World) -> bool:
    return any(
        element.get("type") == "static_select"
        for call in world.fake.of("chat.postMessage")
        for block in call.args.get("blocks", [])
        if block.get("type") == "actions"
        for element in block["elements"]
    )


@pytest.mark.parametrize("lang", LANGS)
async def test_intake_by_slash_command_in_the_dm(make_world, lang):
    world: World = await make_world(lang)
    texts = TEXTS[lang]
    await world.command(REQUESTER, "new")
    question = world.last_question(REQUESTER)
    assert texts["contract"] in text_of(question)
    await world.click(REQUESTER, find_label(question, "Hosting & Cloud").rsplit(":", 1)[1])
    # The clicked question keeps its text, shows the choice and has no button left.
    clicked = world.fake.messages[("D" + REQUESTER[1:], question["ts"])]
    assert not _has_actions(clicked)
    assert "✓" in text_of(clicked)
    assert "Hosting & Cloud" in text_of(clicked)
    await world.click(REQUESTER, "dedicated-servers")
    await world.click(REQUESTER, "dedicated-server-down-not-hardware")
    await world.click(REQUESTER, "express")
    await world.say(REQUESTER, "web01.example.be")
    await world.say(REQUESTER, "30")
    await world.say(REQUESTER, "web01 answers no ping since 17:00")
    confirm = world.last_question(REQUESTER)
    assert "40" in text_of(confirm)  # the balance before the request
    await world.click(REQUESTER, "~open")

    dm = world.dm(REQUESTER)
    final = text_of(dm[-1])
    assert texts["opened"] in final
    assert "TLN-2026-000001" in final
    assert texts["response_due"] in final
    assert texts["resolution_due"] in final
    # No stale buttons anywhere in the conversation.
    assert not any(_has_actions(message) for message in dm)
    for message in dm:
        assert_language(text_of(message), lang)
    assert _select_used(world)  # the long category list came as a static_select
    # The Home tab now lists the ticket with its countdowns.
    home = world.fake.homes[REQUESTER]
    assert "TLN-2026-000001" in text_of(home)
    assert translator(lang).gettext("Response due") in text_of(home)
    with transaction(world.engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status is TicketStatus.OPEN
        pings = session.exec(
            select(Notification).where(
                Notification.channel == "slack", Notification.chat_id == AGENTS
            )
        ).all()
    assert [p.event for p in pings] == ["opened"]


@pytest.mark.parametrize("lang", LANGS)
async def test_intake_by_modal(make_world, lang):
    world: World = await make_world(lang)
    texts = TEXTS[lang]
    t = translator(lang)
    await world.command(REQUESTER, "new modal")
    opened = world.fake.of("views.open")
    assert len(opened) == 1
    assert opened[0].args["trigger_id"].startswith("trigger-")
    view = world.fake.views[next(iter(world.fake.views))]
    assert texts["contract"] in text_of(view)
    contract = next(
        o["value"] for o in view_options(view) if "Hosting & Cloud" in o["text"]["text"]
    )

    answer = await world.submit(REQUESTER, view, value=contract)
    assert answer["response_action"] == "update"
    view = answer["view"]
    assert view["submit"]["text"] == t.gettext("Next")
    assert view["title"]["text"] == t.gettext("Support")
    if lang != "en":
        assert view["submit"]["text"] != "Next"
    answer = await world.submit(REQUESTER, view, value="dedicated-servers")
    view = answer["view"]
    answer = await world.submit(REQUESTER, view, value="dedicated-server-down-not-hardware")
    view = answer["view"]
    answer = await world.submit(REQUESTER, view, value="express")
    view = answer["view"]
    assert input_block(view)["element"]["type"] == "plain_text_input"  # the server name
    answer = await world.submit(REQUESTER, view, text="web01.example.be")
    view = answer["view"]
    answer = await world.submit(REQUESTER, view, value="30")
    view = answer["view"]

    # Too short a description: the core refuses it and the modal shows why, in place.
    answer = await world.submit(REQUESTER, view, text="no")
    assert answer["response_action"] == "errors"
    [(block_id, message)] = answer["errors"].items()
    assert block_id == input_block(view)["block_id"]
    assert message == t.gettext("Please describe the request in a few words.")
    if lang != "en":
        assert message != "Please describe the request in a few words."

    answer = await world.submit(REQUESTER, view, text="web01 answers no ping since 17:00")
    view = answer["view"]
    assert input_block(view) is None  # the confirmation: the submit button opens the ticket
    assert view["submit"]["text"] == t.gettext("Open the ticket")
    answer = await world.submit(REQUESTER, view)
    view = answer["view"]
    final = text_of(view)
    assert texts["opened"] in final
    assert "TLN-2026-000001" in final
    assert texts["response_due"] in final
    assert "submit" not in view
    assert_language(final, lang)
    await world.adapter.drain()
    assert "TLN-2026-000001" in text_of(world.fake.homes[REQUESTER])
    with transaction(world.engine) as session:
        assert session.exec(select(Ticket)).one().reference == "TLN-2026-000001"


async def test_modal_back_button_updates_the_view(make_world):
    world: World = await make_world("en")
    await world.command(REQUESTER, "new modal")
    view = world.fake.views[next(iter(world.fake.views))]
    contract = next(
        o["value"] for o in view_options(view) if "Hosting & Cloud" in o["text"]["text"]
    )
    view = (await world.submit(REQUESTER, view, value=contract))["view"]
    # « Back » is a button in the modal: the view goes back to the contract question.
    back = next(
        element
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["value"].endswith(":~back")
    )
    stored = {**view, "id": "VMODAL1", "type": "modal"}
    world.fake.views["VMODAL1"] = stored
    payload = {
        "type": "block_actions",
        "user": {"id": REQUESTER, "team_id": "T0000001"},
        "team": {"id": "T0000001"},
        "container": {"type": "view", "view_id": "VMODAL1"},
        "trigger_id": "trigger-back",
        "view": stored,
        "actions": [{"type": "button", "action_id": back["action_id"], "value": back["value"]}],
    }
    response = await world.interaction(payload)
    assert response.status_code == 200
    updated = world.fake.of("views.update")[-1]
    assert updated.args["view_id"] == "VMODAL1"
    assert "Which contract" in text_of(updated.args["view"])


async def test_typed_answer_removes_the_stale_buttons(make_world):
    world: World = await make_world("en")
    await world.command(REQUESTER, "new")
    first = world.last_question(REQUESTER)
    await world.say(REQUESTER, "1")  # typed: the first contract
    assert not _has_actions(world.fake.messages[("D" + REQUESTER[1:], first["ts"])])
    assert world.last_question(REQUESTER)["ts"] != first["ts"]


async def test_stale_button_gets_the_core_answer(make_world):
    world: World = await make_world("en")
    await world.command(REQUESTER, "new")
    first = world.last_question(REQUESTER)
    stale = dict(first)
    await world.command(REQUESTER, "new")  # a new intake: the first question's token is old
    value = find_label(stale, "Hosting & Cloud").rsplit(":", 1)[1]
    await world.click(REQUESTER, value, message=stale)
    assert "This choice has expired" in text_of(world.dm(REQUESTER)[-1])


async def test_home_tab_on_app_home_opened(make_world):
    world: World = await make_world("nl")
    await world.event(REQUESTER, {"type": "app_home_opened", "tab": "home", "channel": "D1"})
    home = world.fake.homes[REQUESTER]
    assert home["type"] == "home"
    assert translator("nl").gettext("No tickets to show.") in text_of(home)


async def test_user_choice_beats_the_slack_locale(make_world):
    world: World = await make_world("fr")  # the Slack locale says French
    await world.command(REQUESTER, "lang nl")
    await world.command(REQUESTER, "new")
    assert TEXTS["nl"]["contract"] in text_of(world.last_question(REQUESTER))
    assert world.fake.of("users.info")[0].args["include_locale"] in (True, "1", "true")
    assert len(world.fake.of("users.info")) == 1  # cached


async def test_click_on_an_ephemeral_question_in_a_channel(make_world):
    world: World = await make_world("en")
    await world.command(REQUESTER, "new")
    question = world.last_question(REQUESTER)
    value = find_label(question, "Hosting & Cloud").rsplit(":", 1)[1]
    ephemeral = {**question, "ts": "1790000999.000001"}
    payload_message = dict(ephemeral)
    _element, action = find_element(payload_message, value)
    response = await world.interaction(
        {
            "type": "block_actions",
            "user": {"id": REQUESTER, "team_id": "T0000001"},
            "team": {"id": "T0000001"},
            "container": {
                "type": "message",
                "message_ts": ephemeral["ts"],
                "channel_id": "CSUPPORT1",
                "is_ephemeral": True,
            },
            "channel": {"id": "CSUPPORT1"},
            "trigger_id": "trigger-eph",
            "message": payload_message,
            "response_url": world.fake.response_url("eph"),
            "actions": [action],
        }
    )
    assert response.status_code == 200
    [replaced] = world.fake.of("response_url")
    assert replaced.args["replace_original"] is True
    assert not any(b["type"] == "actions" for b in replaced.args["blocks"])
    [answer] = world.fake.of("chat.postEphemeral")
    assert answer.args["channel"] == "CSUPPORT1"
    assert answer.args["user"] == REQUESTER
