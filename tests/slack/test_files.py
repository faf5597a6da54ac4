"""Slack conversation on a ticket: a `file_share` in the DM reaches the ticket's thread in the
agents channel (its permalink shared there); a thread reply under a ticket's message in the
DM joins the ticket."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.db.engine import transaction
from bot.db.models import Ticket, TicketAttachment, TicketSatisfaction
from bot.i18n import translator
from bot.services import tickets, users
from tests.handlers.i18n_check import assert_language
from tests.slack.conftest import AGENTS, REQUESTER, World, team_of, text_of
from tests.slack.test_agents import REF, deliver, open_ticket

PERMALINK = "https://example.slack.com/files/UREQ00001/F0SCREEN1/screen.png"
FILE = {
    "id": "F0SCREEN1",
    "name": "screen.png",
    "title": "screen.png",
    "mimetype": "image/png",
    "filetype": "png",
    "size": 52_000,
    "permalink": PERMALINK,
    "url_private": "https://files.slack.com/files-pri/T1-F0SCREEN1/screen.png",
}


async def file_share(
    world: World, text: str, *, thread_ts: str | None = None, partial: bool = False
) -> None:
    """The requester shares a file in their DM with the app (a `file_share` message); a
    `partial` one carries only the file's id (the rest comes from `files.info`)."""
    n = next(world.serial)
    world.fake.file_info[FILE["id"]] = FILE
    event: dict[str, Any] = {
        "type": "message",
        "subtype": "file_share",
        "channel": "D" + REQUESTER[1:],
        "channel_type": "im",
        "text": text,
        "files": [{"id": FILE["id"]} if partial else FILE],
        "ts": f"1790000200.{n:06d}",
        "team": team_of(REQUESTER),
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    await world.event(REQUESTER, event)


def thread_posts(world: World, root_ts: str) -> list[dict[str, Any]]:
    return [
        c.args
        for c in world.fake.of("chat.postMessage")
        if c.args["channel"] == AGENTS and c.args.get("thread_ts") == root_ts
    ]


@pytest.mark.parametrize("lang", ["fr", "nl", "en"])
async def test_a_file_share_in_the_dm_reaches_the_tickets_thread(make_world, lang):
    world: World = await make_world(lang)
    t = translator(lang)
    await open_ticket(world)
    await deliver(world)
    root = next(m for (c, _ts), m in world.fake.messages.items() if c == AGENTS)
    await file_share(world, "the error on screen", partial=lang == "nl")
    question = world.last_question(REQUESTER)
    assert t.gettext("Is this about one of your requests?") in text_of(question)
    await world.click(REQUESTER, REF, message=question)
    answer = world.dm(REQUESTER)[-1]
    assert REF in answer["text"]
    assert_language(answer["text"], lang)
    await deliver(world)
    [post] = thread_posts(world, root["ts"])
    shown = post["text"] + "\n" + text_of(post)
    assert "the error on screen" in shown
    assert PERMALINK in shown
    assert "screen.png" in shown
    # A file_share that carries only the file's id is completed with files.info.
    assert len(world.fake.of("files.info")) == (1 if lang == "nl" else 0)
    with transaction(world.engine) as session:
        [stored] = session.exec(select(TicketAttachment)).all()
    assert (stored.channel, stored.kind, stored.file_id, stored.permalink) == (
        "slack",
        "photo",
        "F0SCREEN1",
        PERMALINK,
    )


async def test_a_thread_reply_under_a_notification_joins_the_ticket(make_world):
    world: World = await make_world("en")
    await open_ticket(world)
    await deliver(world)
    told = [c for c in world.fake.of("chat.postMessage") if c.args["channel"] == REQUESTER]
    assert told, "the customer was told of the opening"
    notification_ts = next(
        ts
        for (c, ts), m in world.fake.messages.items()
        if c == "D" + REQUESTER[1:] and m["text"] == told[-1].args["text"]
    )
    n = next(world.serial)
    await world.event(
        REQUESTER,
        {
            "type": "message",
            "channel": "D" + REQUESTER[1:],
            "channel_type": "im",
            "text": "it is down again",
            "ts": f"1790000300.{n:06d}",
            "thread_ts": notification_ts,
            "team": team_of(REQUESTER),
        },
    )
    answer = world.dm(REQUESTER)[-1]
    assert "Added to TLN-2026-000001; the support team is told." in answer["text"]
    await deliver(world)
    root = next(m for (c, _ts), m in world.fake.messages.items() if c == AGENTS)
    assert any("it is down again" in p["text"] for p in thread_posts(world, root["ts"]))


async def test_solved_and_rated_from_the_dm(make_world):
    world: World = await make_world("en")
    await open_ticket(world)
    with transaction(world.engine) as session:
        agent = users.get_user_by_handle(session=session, handle="demo-agent")
        assert agent is not None
        ticket = session.exec(select(Ticket)).one()
        tickets.resolve(
            session=session,
            actor=tickets.actor_for(session=session, user=agent),
            ticket=ticket,
            now=world.clock.now(),
            minutes=30,
        )
    await deliver(world)
    resolved = next(m for m in world.dm(REQUESTER) if "Is it solved?" in m["text"])
    await world.click(REQUESTER, f"t:solved:{REF}", message=resolved)
    rating = world.dm(REQUESTER)[-1]
    assert "How satisfied are you" in text_of(rating)
    assert any("TLN-2026-000001 is closed." in m["text"] for m in world.dm(REQUESTER)[-2:])
    await world.click(REQUESTER, f"t:rate5:{REF}", message=rating)
    [opened] = world.fake.of("views.open")
    assert "Would you like to add a comment?" in text_of(opened.args["view"])
    with transaction(world.engine) as session:
        assert session.exec(select(TicketSatisfaction)).one().score == 5
