"""Slack replies outlive the process: stored with the event's effects, sent once by the next
process without running the core again, in chat order; refusals given up, passing failures
retried by the inbox. One DM's messages delivered concurrently are handled in `ts` order."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import col, select

from bot.app import create_app
from bot.channels.inbox import InboxRow
from bot.channels.slack import SlackAdapter, slack_plugin
from bot.channels.slack.blocks import ANSWER_ACTION
from bot.db.engine import make_engine, transaction
from bot.db.models import InboundUpdate, TicketEvent
from bot.i18n import translator
from bot.inbox import store as inbox_store
from bot.inbox.drainer import Drainer
from bot.settings import Settings, get_settings
from bot.worker.clock import ManualClock
from handlers.core import Core
from handlers.model import InboundEvent, Outcome, Seal
from tests.slack.conftest import (
    AGENT,
    REQUESTER,
    TEAM,
    JumpingClock,
    World,
    env_for,
    input_block,
    seed,
    team_of,
    view_options,
)
from tests.slack.fake_slack import Failure, FakeSlack
from tests.worker.conftest import open_ticket


class Crash(BaseException):
    """The process stops dead here: nothing after it runs, no failure is recorded."""


@pytest.fixture
def engine_and_settings(
    fake: FakeSlack, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[Engine, Settings]:
    for key, value in env_for(fake, db_url, "en").items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(db_url)
    seed(engine, now=datetime.now(UTC))
    return engine, settings


@contextlib.asynccontextmanager
async def serving(
    engine: Engine,
    settings: Settings,
    fake: FakeSlack,
    *,
    clock: ManualClock | None = None,
    handled: list[str] | None = None,
) -> AsyncIterator[World]:
    """One serve process: the app, its adapter and its inbox drainer (stopped on exit); with
    `clock`, both run on it; `handled` records the inbox rows in the order they are handed."""
    app = create_app(settings=settings, engine=engine, plugins=[slack_plugin])
    adapter: SlackAdapter = app.state.slack
    await adapter.start()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    world = World(engine, settings, fake, adapter, http, JumpingClock(datetime.now(UTC)), "en")

    async def handle(row: InboxRow, seal: Seal) -> None:
        if handled is not None:
            handled.append(row.key)
        await adapter.handle_row(row, seal)

    drainer = Drainer(
        engine=engine,
        settings=settings,
        handlers={"slack": handle},
        clock=clock.now if clock is not None else lambda: datetime.now(UTC),
    )
    if clock is not None:
        adapter.clock = clock.now
    try:
        async with drainer.running():
            yield world
    finally:
        await http.aclose()
        await adapter.close()


async def command(world: World, user: str, text: str, n: int) -> None:
    """`/support <text>` in the user's DM, stored and acknowledged (not waited for)."""
    body = urlencode(
        {
            "team_id": team_of(user),
            "channel_id": "D" + user[1:],
            "user_id": user,
            "command": "/support",
            "text": text,
            "response_url": world.fake.response_url(f"cmd{n}"),
            "trigger_id": f"trigger-r{n}",
        }
    )
    response = await world.post(body, drain=False)
    assert response.status_code == 200


async def wait_for(check: Callable[[], bool], what: str) -> None:
    """Wait until `check()` holds (a generous limit only against a hang)."""
    deadline = time.monotonic() + 60
    while not await asyncio.to_thread(check):
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


def inbox(engine: Engine) -> list[InboundUpdate]:
    with transaction(engine) as session:
        return list(session.exec(select(InboundUpdate).order_by(col(InboundUpdate.id))).all())


def lease_ended(engine: Engine) -> None:
    """The stopped process's leases run out (as they would, later)."""
    with transaction(engine) as session:
        session.execute(
            update(InboundUpdate)
            .where(col(InboundUpdate.claim_token).is_not(None))
            .values(lease_until=datetime.now(UTC) - timedelta(seconds=1))
        )


def notes(engine: Engine, text: str) -> int:
    with transaction(engine) as session:
        found = session.exec(
            select(TicketEvent).where(TicketEvent.type == "note", TicketEvent.reason == text)
        ).all()
    return len(found)


def a_ticket(engine: Engine) -> str:
    """An open Telenet ticket (the demo agent's provider)."""
    ticket = open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-down-not-hardware",
        priority="express",
        now=datetime.now(UTC),
    )
    return ticket.reference


def noted(reference: str) -> str:
    said = translator("en").gettext("Internal note added to %(ref)s (not sent to the customer).")
    return said % {"ref": reference}


def dm_texts(fake: FakeSlack, user: str) -> list[str]:
    """The texts the bot posted in `user`'s DM (the posts that went through)."""
    return [str(m["text"]) for (c, _ts), m in fake.messages.items() if c == "D" + user[1:]]


def count_core(monkeypatch: pytest.MonkeyPatch, seen: list[str]) -> None:
    real = Core.__call__

    def counting(
        core: Core, event: InboundEvent, seal: Seal | None = None, **options: Any
    ) -> Outcome:
        seen.append(str(event.text))
        return real(core, event, seal, **options)

    monkeypatch.setattr(Core, "__call__", counting)


async def crash_after_commit(world: World, tried: list[str]) -> None:
    """The process dies on its next post, after the event's transaction committed."""

    async def post(**kwargs: Any) -> Any:
        tried.append(str(kwargs.get("text")))
        raise Crash

    world.adapter.client.chat_postMessage = post  # type: ignore[method-assign]


async def test_a_reply_lost_when_the_process_stops_is_sent_once_by_the_next_one(
    engine_and_settings: tuple[Engine, Settings],
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, settings = engine_and_settings
    reference = a_ticket(engine)
    seen: list[str] = []
    count_core(monkeypatch, seen)
    tried: list[str] = []
    async with serving(engine, settings, fake) as world:
        await crash_after_commit(world, tried)
        await command(world, AGENT, f"note {reference} disk replaced", 1)
        await wait_for(lambda: bool(tried), "the reply was tried")
    [row] = inbox(engine)
    assert (row.processed_at is not None, row.replied_at, bool(row.reply)) == (True, None, True)
    assert notes(engine, "disk replaced") == 1
    assert dm_texts(fake, AGENT) == []
    assert seen == [f"/note {reference} disk replaced"]

    lease_ended(engine)
    async with serving(engine, settings, fake) as world:  # a new process, the same database
        await world.adapter.drain()
    assert dm_texts(fake, AGENT) == [noted(reference)]
    assert notes(engine, "disk replaced") == 1  # the effect once
    assert seen == [f"/note {reference} disk replaced"]  # the core did not run again
    [row] = inbox(engine)
    assert (row.replied_at is not None, row.reply, row.claim_token) == (True, None, None)


async def test_a_chat_s_next_event_waits_until_the_previous_reply_is_sent(
    engine_and_settings: tuple[Engine, Settings],
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, settings = engine_and_settings
    reference = a_ticket(engine)
    tried: list[str] = []
    async with serving(engine, settings, fake) as world:
        await crash_after_commit(world, tried)
        await command(world, AGENT, f"note {reference} first", 1)
        await wait_for(lambda: bool(tried), "the first reply was tried")
        await command(world, AGENT, f"note {reference} second", 2)
    assert notes(engine, "second") == 0  # not handled while the first reply is unsent
    lease_ended(engine)

    order: list[str] = []
    real = Core.__call__

    def call(core: Core, event: InboundEvent, seal: Seal | None = None, **options: Any) -> Outcome:
        order.append(f"core: {event.text}")
        return real(core, event, seal, **options)

    monkeypatch.setattr(Core, "__call__", call)
    async with serving(engine, settings, fake) as world:
        client = world.adapter.client
        post = client.chat_postMessage

        async def recorded(**kwargs: Any) -> Any:
            order.append(f"sent: {kwargs.get('text')}")
            return await post(**kwargs)

        client.chat_postMessage = recorded  # type: ignore[method-assign]
        await world.adapter.drain()
    assert order == [
        f"sent: {noted(reference)}",
        f"core: /note {reference} second",
        f"sent: {noted(reference)}",
    ]
    assert (notes(engine, "first"), notes(engine, "second")) == (1, 1)


async def test_a_passing_failure_is_retried_reply_only_a_refusal_is_given_up(
    engine_and_settings: tuple[Engine, Settings],
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, settings = engine_and_settings
    reference = a_ticket(engine)
    monkeypatch.setattr(inbox_store, "BACKOFF_BASE", 0.01)
    seen: list[str] = []
    count_core(monkeypatch, seen)
    async with serving(engine, settings, fake) as world:
        fake.fail_next("chat.postMessage", Failure(500, "internal_error"))
        await command(world, AGENT, f"note {reference} flaky", 1)
        await world.adapter.drain()
        fake.fail_next("chat.postMessage", Failure(200, "channel_not_found"))
        await command(world, AGENT, f"note {reference} refused", 2)
        await world.adapter.drain()
    assert dm_texts(fake, AGENT) == [noted(reference)]  # the refused one is not retried
    assert (notes(engine, "flaky"), notes(engine, "refused")) == (1, 1)
    assert seen == [f"/note {reference} flaky", f"/note {reference} refused"]
    flaky, refused = inbox(engine)
    assert (flaky.attempts, flaky.failures, flaky.replied_at is not None) == (2, 1, True)
    assert "internal_error" in (flaky.last_error or "")
    assert (refused.attempts, refused.failures, refused.replied_at is not None) == (1, 0, True)
    posts = [c for c in fake.of("chat.postMessage") if c.args["channel"] == AGENT]
    assert len(posts) == 3  # flaky: failed, then sent; refused: tried once, never again


async def test_one_dm_s_messages_delivered_concurrently_in_reverse_are_handled_in_ts_order(
    engine_and_settings: tuple[Engine, Settings], fake: FakeSlack
) -> None:
    """The order window runs from each row's storage, on the drainer's clock (a virtual one,
    advanced by the test): a later message stored first waits for the earlier ones."""
    engine, settings = engine_and_settings
    clock = ManualClock(datetime.now(UTC))
    handled: list[str] = []
    langs = ["nl", "fr", "en", "nl", "fr"]
    bodies = [
        json.dumps(
            {
                "team_id": TEAM,
                "api_app_id": "A0000001",
                "type": "event_callback",
                "event_id": f"EvOrder{n}",
                "event_time": 1790000200,
                "event": {
                    "type": "message",
                    "user": REQUESTER,
                    "channel": "D" + REQUESTER[1:],
                    "channel_type": "im",
                    "text": f"/lang {lang}",
                    "ts": f"1790000200.{n:06d}",
                    "team": TEAM,
                },
            }
        )
        for n, lang in enumerate(langs)
    ]
    async with serving(engine, settings, fake, clock=clock, handled=handled) as world:

        async def deliver(body: str) -> None:
            response = await world.post(body, content_type="application/json", drain=False)
            assert response.status_code == 200

        await deliver(bodies[-1])  # the latest first
        await asyncio.gather(*(deliver(body) for body in reversed(bodies[:-1])))
        assert handled == []  # the clock has not moved: no row is past its window yet
        clock.advance(timedelta(milliseconds=settings.inbox_order_window_ms))
        await world.adapter.drain()
    assert handled == [f"EvOrder{n}" for n in range(len(langs))]
    told = "I will speak English with you from now on."
    said = dm_texts(fake, REQUESTER)
    assert said == [translator(lang).gettext(told) for lang in langs]


async def test_a_modal_step_answered_inline_but_not_marked_replied_is_updated_by_the_next_process(
    engine_and_settings: tuple[Engine, Settings],
    fake: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A modal submission is handled inline (its answer in the acknowledgement): should the
    process stop before the replied mark, the next one updates the modal from the stored
    reply, without running the core again."""
    engine, settings = engine_and_settings
    seen: list[str] = []
    async with serving(engine, settings, fake) as world:
        await world.command(REQUESTER, "new modal")
        view = fake.views[next(iter(fake.views))]
        contract = next(
            o["value"] for o in view_options(view) if "Hosting & Cloud" in o["text"]["text"]
        )
        count_core(monkeypatch, seen)
        # The process stops once the acknowledgement is built, before the row is marked.
        monkeypatch.setattr(inbox_store.RowSeal, "release", lambda _seal: None)
        block = input_block(view)
        assert block is not None
        option = next(o for o in block["element"]["options"] if o["value"] == contract)
        answer = {"type": block["element"]["type"], "selected_option": option}
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM, "domain": "example"},
            "user": {"id": REQUESTER, "username": "req", "team_id": TEAM},
            "api_app_id": "A0000001",
            "trigger_id": "trigger-modal-1",
            "view": {**view, "state": {"values": {block["block_id"]: {ANSWER_ACTION: answer}}}},
            "response_urls": [],
        }
        response = await world.interaction(payload, drain=False)
        assert response.json()["response_action"] == "update"
    submitted = [row for row in inbox(engine) if row.external_key.startswith("submit:")]
    assert [(r.processed_at is not None, r.replied_at, bool(r.reply)) for r in submitted] == [
        (True, None, True)
    ]
    assert len(seen) == 1
    assert fake.of("views.update")[1:] == []  # only the loading view's update so far

    monkeypatch.undo()
    seen.clear()
    count_core(monkeypatch, seen)
    lease_ended(engine)
    async with serving(engine, settings, fake) as world:  # a new process
        await world.adapter.drain()
    assert seen == []  # the stored reply: the core did not run again
    [_loading, update_] = fake.of("views.update")
    assert update_.args["view_id"] == view["id"]
    shown = update_.args["view"]
    assert isinstance(shown, dict)
    assert shown["title"]["text"] == translator("en").gettext("Support")
    assert "dedicated" in json.dumps(shown).lower()  # the contract's next step
    [row] = [row for row in inbox(engine) if row.external_key.startswith("submit:")]
    assert row.replied_at is not None
