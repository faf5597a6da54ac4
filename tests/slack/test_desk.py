"""The agent's desk in Slack: thread replies and notes, the root kept up to date by the worker
whatever triggered the change, private refusals, the staff card in the thread."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Notification, Ticket, TicketStatus
from bot.i18n import translator
from tests.slack.conftest import AGENT, AGENTS, REQUESTER, World, team_of, text_of
from tests.slack.test_agents import REF, deliver, open_ticket

LANGS = ["fr", "nl", "en"]


def root_of(world: World) -> dict[str, Any]:
    return next(m for (c, _ts), m in world.fake.messages.items() if c == AGENTS)


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def thread_message(world: World, user: str, text: str, thread_ts: str, n: int) -> None:
    """`user` writes `text` in the ticket's thread of the agents channel."""
    await world.event(
        user,
        {
            "type": "message",
            "channel": AGENTS,
            "channel_type": "channel",
            "text": text,
            "ts": f"1790000200.{n:06d}",
            "thread_ts": thread_ts,
            "team": team_of(user),
        },
    )
    await world.adapter.drain()


def customer_rows(world: World) -> list[Notification]:
    with transaction(world.engine) as session:
        return list(
            session.exec(select(Notification).where(Notification.audience == "customer")).all()
        )


@pytest.mark.parametrize("lang", LANGS)
async def test_thread_reply_reaches_the_customer_and_a_note_does_not(make_world, lang):
    world: World = await make_world(lang)
    await open_ticket(world)
    await deliver(world)
    root = root_of(world)
    before = len(customer_rows(world))
    world.fake.reset()
    await thread_message(world, AGENT, "!note customer is a reseller", root["ts"], 1)
    [reaction] = world.fake.of("reactions.add")
    assert reaction.args["timestamp"] == "1790000200.000001"
    assert len(customer_rows(world)) == before  # the note never reaches the customer
    await thread_message(world, AGENT, "We are restarting web01 now", root["ts"], 2)
    assert len(world.fake.of("reactions.add")) == 2
    rows = customer_rows(world)[before:]
    assert rows  # one per reachable identity of the requester
    assert all("We are restarting web01 now" in row.text for row in rows)
    assert all("Demo Agent" in row.text for row in rows)
    await deliver(world)
    told = [c.args for c in world.fake.of("chat.postMessage") if c.args["channel"] == REQUESTER]
    assert any("We are restarting web01 now" in m["text"] for m in told)
    with transaction(world.engine) as session:
        events = session.exec(select(Ticket)).one()
        assert events.status is TicketStatus.OPEN
    t = translator(lang)
    world.fake.reset()
    await world.command(AGENT, f"ticket {REF}")
    card = text_of(world.fake.of("chat.postMessage")[-1].args)
    assert t.gettext("internal note") in card
    assert "reseller" in card


async def test_a_requester_click_is_refused_privately(make_world):
    world: World = await make_world("en")
    await open_ticket(world)
    await deliver(world)
    root = root_of(world)
    world.fake.reset()
    await world.click(REQUESTER, f"t:ack:{REF}", message=root, channel=AGENTS)
    assert world.fake.of("chat.update") == []
    assert [c for c in world.fake.of("chat.postMessage") if c.args["channel"] == AGENTS] == []
    [ephemeral] = world.fake.of("chat.postEphemeral")
    assert ephemeral.args["user"] == REQUESTER
    with transaction(world.engine) as session:
        assert session.exec(select(Ticket)).one().status is TicketStatus.OPEN


async def test_the_root_follows_the_ticket_whatever_changes_it(make_world):
    world: World = await make_world("en")
    await open_ticket(world)
    await deliver(world)
    root = root_of(world)
    assert buttons(root) == [f"t:ack:{REF}", f"t:take:{REF}"]
    # Typed commands in the agent's DM: the worker updates the root in place.
    await world.command(AGENT, f"ack {REF}")
    await deliver(world)
    root = root_of(world)
    assert buttons(root) == [f"t:pause:{REF}", f"t:resolve:{REF}"]
    assert "owner: Demo Agent" in root["text"]
    await world.command(AGENT, f"pause {REF} waiting for the customer")
    await deliver(world)
    assert buttons(root_of(world)) == [f"t:resume:{REF}"]
    await world.command(AGENT, f"resume {REF}")
    await deliver(world)
    assert buttons(root_of(world)) == [f"t:pause:{REF}", f"t:resolve:{REF}"]
    await world.command(AGENT, f"resolve {REF} 30")
    await deliver(world)
    assert buttons(root_of(world)) == []
    assert "resolved" in root_of(world)["text"]


async def test_resolve_button_asks_time_then_confirms_in_a_modal(make_world):
    world: World = await make_world("en")
    await open_ticket(world)
    await deliver(world)
    await world.command(AGENT, f"ack {REF}")
    await deliver(world)
    root = root_of(world)
    world.fake.reset()
    await world.click(AGENT, f"t:resolve:{REF}", message=root, channel=AGENTS)
    view = world.fake.views[list(world.fake.views)[-1]]
    assert "how many minutes of work to add" in text_of(view)
    answer = await world.submit(AGENT, view, text="20")
    assert "will be charged" in text_of(answer["view"])
    with transaction(world.engine) as session:
        assert session.exec(select(Ticket)).one().status is TicketStatus.RESPONDED
    answer = await world.submit(AGENT, answer["view"])
    assert f"{REF} resolved" in text_of(answer["view"])
    await deliver(world)
    assert buttons(root_of(world)) == []
