"""Agents in Slack: the ticket's thread in the provider's channel, ping buttons acting through
the core (the message updated in place), pause reasons by modal, breach escalations."""

from __future__ import annotations

import copy
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.channels.slack import store
from bot.db.engine import transaction
from bot.db.models import MessageRef, Notification, NotificationStatus, Ticket, TicketStatus
from bot.i18n import translator
from bot.worker.dispatcher import Dispatcher
from bot.worker.outbox import OutboxDrainer
from tests.handlers.i18n_check import assert_language
from tests.slack.conftest import AGENT, AGENTS, REQUESTER, World, find_label, text_of

REF = "TLN-2026-000001"
BREACH = {"fr": "n'a pas été respecté", "nl": "werd overschreden", "en": "time was missed"}
STATUS_IN_PROGRESS = {"fr": "en cours", "nl": "in behandeling", "en": "in progress"}


async def open_ticket(world: World) -> None:
    """The requester opens an Express incident on the Telenet hosting contract in the DM."""
    await world.command(REQUESTER, "new")
    question = world.last_question(REQUESTER)
    await world.click(REQUESTER, find_label(question, "Hosting & Cloud").rsplit(":", 1)[1])
    await world.click(REQUESTER, "dedicated-servers")
    await world.click(REQUESTER, "dedicated-server-down-not-hardware")
    await world.click(REQUESTER, "express")
    await world.say(REQUESTER, "web01.example.be")
    await world.say(REQUESTER, "30")
    await world.say(REQUESTER, "web01 answers no ping since 17:00")
    await world.click(REQUESTER, "~open")


async def deliver(world: World) -> int:
    """Send what is due in the Slack outbox through the worker's drainer and our sender."""
    drainer = OutboxDrainer(
        engine=world.engine, settings=world.settings, clock=world.clock, sender=world.sender()
    )
    sent = await drainer.drain()
    await world.adapter.drain()
    return sent


def channel_posts(world: World) -> list[dict]:
    return [c.args for c in world.fake.of("chat.postMessage") if c.args["channel"] == AGENTS]


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
async def test_agent_acknowledges_from_the_channel(make_world, lang):
    world: World = await make_world(lang)
    t = translator(lang)
    await open_ticket(world)
    await deliver(world)
    [root_post] = channel_posts(world)
    assert REF in text_of(root_post)
    assert "thread_ts" not in root_post
    root = copy.deepcopy(next(m for (c, _ts), m in world.fake.messages.items() if c == AGENTS))
    buttons = [e for b in root["blocks"] if b["type"] == "actions" for e in b["elements"]]
    # Issue 13: a new ticket's ping offers Acknowledge and Take (Pause and Resolve come once
    # it is acknowledged).
    assert [b["value"] for b in buttons] == [f"t:ack:{REF}", f"t:take:{REF}"]
    assert buttons[0]["text"]["text"] == t.gettext("Acknowledge")
    with transaction(world.engine) as session:
        # Issue 14: the customer's DM messages about the ticket are remembered too (a thread
        # reply under one joins it), so the root's ref is looked up in the agents channel.
        ref = session.exec(select(MessageRef).where(MessageRef.chat_id == AGENTS)).one()
    assert (ref.chat_id, ref.purpose, ref.message_id) == (AGENTS, store.THREAD, root["ts"])

    world.clock.advance(minutes=20)
    response = await world.click(AGENT, f"t:ack:{REF}", message=root, channel=AGENTS)
    assert response.status_code == 200
    [update] = [c.args for c in world.fake.of("chat.update") if c.args["channel"] == AGENTS]
    assert update["ts"] == root["ts"]
    shown = text_of(update)
    assert f"<@{AGENT}>" in shown
    assert t.gettext("%(ref)s acknowledged: the customer is told.") % {"ref": REF} in shown
    assert STATUS_IN_PROGRESS[lang] in shown
    # The buttons are those that make sense now: Pause and Resolve.
    values = [e["value"] for b in update["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert values == [f"t:pause:{REF}", f"t:resolve:{REF}"]
    assert_language(shown, lang)
    with transaction(world.engine) as session:
        ticket = session.exec(select(Ticket)).one()
        assert ticket.status is TicketStatus.RESPONDED
        assert ticket.responded_at == world.clock.now()

    # The customer hears of it in their DM, in their language, and their Home is refreshed.
    world.fake.homes.clear()
    await deliver(world)
    told = [c.args for c in world.fake.of("chat.postMessage") if c.args["channel"] == REQUESTER]
    assert REF in told[-1]["text"]
    assert_language(told[-1]["text"], lang)
    assert REF in text_of(world.fake.homes[REQUESTER])

    # A second click (on a stale copy of the ping) is refused to the clicker alone (issue 13:
    # refusals are never posted in the room); the ping is not touched.
    world.fake.reset()
    await world.click(AGENT, f"t:ack:{REF}", message=root, channel=AGENTS)
    assert world.fake.of("chat.update") == []
    [ephemeral] = world.fake.of("chat.postEphemeral")
    assert ephemeral.args["user"] == AGENT


async def test_pause_asks_its_reason_in_a_modal(make_world):
    world: World = await make_world("en")
    await open_ticket(world)
    await deliver(world)
    # Issue 13: Pause is offered once the ticket is acknowledged (the worker updates the ping).
    await world.command(AGENT, f"ack {REF}")
    await deliver(world)
    root = next(m for (c, _ts), m in world.fake.messages.items() if c == AGENTS)
    await world.click(AGENT, f"t:pause:{REF}", message=root, channel=AGENTS)
    [opened] = world.fake.of("views.open")
    view = world.fake.views[next(iter(world.fake.views))]
    assert "Why is the clock stopped" in text_of(view)
    assert opened.args["trigger_id"].startswith("trigger-")
    answer = await world.submit(AGENT, view, text="waiting for the customer's VPN access")
    assert answer["response_action"] == "update"
    assert f"Clock stopped on {REF}" in text_of(answer["view"])
    await world.adapter.drain()
    thread = [p for p in channel_posts(world) if p.get("thread_ts") == root["ts"]]
    assert thread
    assert f"Clock stopped on {REF}" in thread[-1]["text"]
    with transaction(world.engine) as session:
        assert session.exec(select(Ticket)).one().status is TicketStatus.PAUSED


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
async def test_breach_is_delivered_by_the_sender(make_world, lang):
    world: World = await make_world(lang)
    await open_ticket(world)
    await deliver(world)
    root = next(m for (c, _ts), m in world.fake.messages.items() if c == AGENTS)
    with transaction(world.engine) as session:
        ticket = session.exec(select(Ticket)).one()
    assert ticket.response_due is not None
    world.clock.set(ticket.response_due + timedelta(minutes=1))
    dispatcher = Dispatcher(engine=world.engine, settings=world.settings, clock=world.clock)
    assert dispatcher.dispatch_due() > 0
    world.fake.reset()
    assert await deliver(world) >= 2

    posts = [c.args for c in world.fake.of("chat.postMessage")]
    breach_in_thread = [p for p in posts if p["channel"] == AGENTS and BREACH[lang] in p["text"]]
    assert breach_in_thread, posts
    escalation = breach_in_thread[-1]
    assert escalation["thread_ts"] == root["ts"]
    assert escalation["reply_broadcast"] is True
    assert f"<@{AGENT}>" in escalation["text"]  # the provider's agents are mentioned
    assert_language(escalation["text"], lang)
    customer = [p for p in posts if p["channel"] == REQUESTER and BREACH[lang] in p["text"]]
    assert customer, posts
    assert_language(customer[-1]["text"], lang)
    with transaction(world.engine) as session:
        rows = session.exec(select(Notification).where(Notification.event == "breached")).all()
    slack_rows = [r for r in rows if r.channel == "slack"]
    assert slack_rows
    assert all(r.status is NotificationStatus.SENT for r in slack_rows)
