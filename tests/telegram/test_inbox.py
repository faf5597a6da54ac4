"""Telegram through the inbox: one chat's updates in update_id order, open questions that
outlive the process, replies that outlive it too."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import col, select

from bot.app import create_app
from bot.channels.inbox import InboxRow, hub
from bot.channels.registry import ChannelRuntime
from bot.channels.telegram.channel import INTERACTIVE_ATTEMPTS, TelegramChannel
from bot.channels.telegram.plugin import make_channel, telegram_plugin
from bot.db.engine import transaction
from bot.db.models import InboundUpdate, TicketEvent
from bot.i18n import translator
from bot.inbox import store as inbox_store
from bot.inbox.drainer import Drainer
from bot.worker.clock import ManualClock
from handlers.core import Core
from handlers.model import InboundEvent, Outcome, Seal
from tests.telegram.conftest import (
    AGENT_ID,
    REQUESTER_ID,
    Bot,
    Updates,
    buttons,
    link,
    make_settings,
)
from tests.telegram.fake_api import Failure, FakeBotApi
from tests.worker.conftest import open_ticket


def _app_bot(seeded: Engine, fake_api: FakeBotApi, **overrides: Any) -> tuple[TestClient, Bot]:
    settings = make_settings(fake_api, default_locale="en", **overrides)
    client = TestClient(create_app(settings=settings, engine=seeded, plugins=[telegram_plugin]))
    client.__enter__()
    return client, Bot(client, fake_api)


def test_a_later_update_of_a_chat_never_overtakes_an_earlier_one(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    new = updates.message("/new", user_id=REQUESTER_ID, lang="en")
    cancel = updates.message("/cancel", user_id=REQUESTER_ID, lang="en")
    # Delivered concurrently, the later one stored first: a generous order window (the
    # test never relies on it being short) lets the earlier one be stored too.
    client, bot = _app_bot(seeded, fake_api, inbox_order_window_ms=3000)
    try:
        assert bot.post(cancel).status_code == 200
        assert bot.post(new).status_code == 200
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    first, *rest = fake_api.sent(REQUESTER_ID)
    t = translator("en")
    assert first["text"] == t.gettext("Which contract is this request about?")
    assert rest, "the /cancel was answered after the question"
    assert "reply_markup" not in fake_api.message(REQUESTER_ID, first["message_id"])


def test_with_every_earlier_update_stored_an_update_skips_the_order_window(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    """Telegram numbers a bot's updates one by one: once the numbers before an update are
    all stored, nothing earlier is in flight, and it is handled without waiting its window
    (an hour here). A gap (the earlier update delivered concurrently, stored second) still
    keeps the later one waiting, so one chat's order holds."""
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    before = updates.message("/help", user_id=AGENT_ID, lang="en")
    new = updates.message("/new", user_id=REQUESTER_ID, lang="en")
    cancel = updates.message("/cancel", user_id=REQUESTER_ID, lang="en")
    with transaction(seeded) as session:  # the last update before: stored a day ago
        session.add(
            InboundUpdate(
                channel="telegram",
                external_key=str(before["update_id"]),
                payload=json.dumps(before),
                received_at=datetime.now(UTC) - timedelta(days=1),
                processed_at=datetime.now(UTC) - timedelta(days=1),
                replied_at=datetime.now(UTC) - timedelta(days=1),
                chat_key=f"chat:{AGENT_ID}",
                seq=before["update_id"],
            )
        )
    client, bot = _app_bot(seeded, fake_api, inbox_order_window_ms=3_600_000)
    try:
        [drainer] = [d for d in hub._listeners if "telegram" in d.channels]
        assert isinstance(drainer, Drainer)

        async def claims(times: int) -> None:
            """Ring until the drainer claimed `times` more times, or both replies are sent
            (a drainer that waits the window never claims: the rings are bounded too)."""
            passes = drainer.passes
            for _ring in range(100 * times):
                if drainer.passes >= passes + times or len(fake_api.sent(REQUESTER_ID)) >= 2:
                    return
                drainer.wake()
                await asyncio.sleep(0.01)

        assert bot.post(cancel).status_code == 200
        client.portal.call(claims, 3)  # type: ignore[union-attr]
        assert fake_api.sent(REQUESTER_ID) == []  # /new's number is missing: /cancel waits
        assert bot.post(new).status_code == 200
        client.portal.call(claims, 50)  # type: ignore[union-attr]
    finally:
        client.__exit__(None, None, None)
    first, *rest = fake_api.sent(REQUESTER_ID)
    assert first["text"] == translator("en").gettext("Which contract is this request about?")
    assert rest, "the /cancel was answered after the question, within the window"


def test_a_question_s_buttons_go_even_after_a_restart(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    # Which message carries the live buttons is in the database: a new process knows it.
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    client, bot = _app_bot(seeded, fake_api)
    try:
        [question] = bot.deliver(updates.message("/new", user_id=REQUESTER_ID, lang="en"))
    finally:
        client.__exit__(None, None, None)
    assert buttons(question)
    client, bot = _app_bot(seeded, fake_api)  # another process
    try:
        bot.deliver(updates.message("/help", user_id=REQUESTER_ID, lang="en"))
    finally:
        client.__exit__(None, None, None)
    assert "reply_markup" not in fake_api.message(REQUESTER_ID, question["message_id"])


def test_a_stored_truncated_update_is_parked_not_crashed_on(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    client, bot = _app_bot(seeded, fake_api, inbound_payload_max_chars=1024)
    try:
        huge = updates.message("x" * 5000, user_id=REQUESTER_ID, lang="en")
        assert bot.post(huge).status_code == 200
        after = updates.message("/help", user_id=REQUESTER_ID, lang="en")
        assert bot.post(after).status_code == 200
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    with transaction(seeded) as session:
        rows = {r.external_key: r for r in session.exec(select(InboundUpdate)).all()}
    cut = rows[str(huge["update_id"])]
    assert cut.parked_at is not None
    assert cut.processed_at is None
    assert cut.last_error == "stored truncated (too large)"
    assert rows[str(after["update_id"])].processed_at is not None  # its chat moved on
    assert len(fake_api.sent(REQUESTER_ID)) == 1  # the /help answer only


# --------------------------------------------------------------------------- replies


class Crash(BaseException):
    """The process stops dead here: nothing after it runs, no failure is recorded."""


class CoreCalls:
    """Counts the events the core handles (patched on `Core` for the whole test)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.texts: list[str | None] = []
        real = Core.__call__

        def counting(
            core: Core, event: InboundEvent, seal: Seal | None = None, **options: Any
        ) -> Outcome:
            self.texts.append(event.text or event.action)
            return real(core, event, seal, **options)

        monkeypatch.setattr(Core, "__call__", counting)


def wait_for(check: Callable[[], bool], what: str) -> None:
    """Wait until `check()` holds (a generous limit only against a hang)."""
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def inbox(engine: Engine) -> dict[str, InboundUpdate]:
    with transaction(engine) as session:
        return {r.external_key: r for r in session.exec(select(InboundUpdate)).all()}


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
    """An open Telenet ticket (the agent's provider)."""
    ticket = open_ticket(
        engine,
        pack_id="telenet-hosting-cloud",
        intervention="dedicated-server-down-not-hardware",
        priority="express",
        now=datetime.now(UTC),
    )
    return ticket.reference


def crashing_send(sent: list[int]) -> Callable[..., Awaitable[None]]:
    async def send(_channel: TelegramChannel, chat_id: int | str, *_a: Any, **_k: Any) -> None:
        sent.append(int(chat_id))
        raise Crash

    return send


def test_a_reply_lost_when_the_process_stops_is_sent_once_by_the_next_one(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates, monkeypatch: pytest.MonkeyPatch
) -> None:
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    reference = a_ticket(seeded)
    note = updates.message(f"/note {reference} router rebooted", user_id=AGENT_ID, lang="en")
    key = str(note["update_id"])
    calls = CoreCalls(monkeypatch)
    # The first process dies after the note's transaction committed, before any send.
    tried: list[int] = []
    monkeypatch.setattr(TelegramChannel, "send", crashing_send(tried))
    client, bot = _app_bot(seeded, fake_api)
    try:
        assert bot.post(note).status_code == 200
        wait_for(lambda: inbox(seeded)[key].processed_at is not None, "the note committed")
        wait_for(lambda: bool(tried), "the send was tried")
    finally:
        client.__exit__(None, None, None)
    row = inbox(seeded)[key]
    assert (row.replied_at, row.reply is not None) == (None, True)
    assert fake_api.sent(AGENT_ID) == []
    assert notes(seeded, "router rebooted") == 1
    assert calls.texts == [f"/note {reference} router rebooted"]

    monkeypatch.undo()
    calls = CoreCalls(monkeypatch)
    lease_ended(seeded)
    client, bot = _app_bot(seeded, fake_api)  # a new process, the same database
    try:
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    said = translator("en").gettext("Internal note added to %(ref)s (not sent to the customer).")
    assert [m["text"] for m in fake_api.sent(AGENT_ID)] == [said % {"ref": reference}]
    assert notes(seeded, "router rebooted") == 1  # the effect once
    assert calls.texts == []  # the stored reply was sent: the core did not run again
    row = inbox(seeded)[key]
    assert row.replied_at is not None
    assert (row.reply, row.claim_token, row.parked_at) == (None, None, None)


def test_a_chat_s_next_update_waits_until_the_previous_reply_is_sent(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates, monkeypatch: pytest.MonkeyPatch
) -> None:
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    reference = a_ticket(seeded)
    first = updates.message(f"/note {reference} first", user_id=AGENT_ID, lang="en")
    second = updates.message(f"/note {reference} second", user_id=AGENT_ID, lang="en")
    tried: list[int] = []
    monkeypatch.setattr(TelegramChannel, "send", crashing_send(tried))
    client, bot = _app_bot(seeded, fake_api)
    try:
        assert bot.post(first).status_code == 200
        wait_for(lambda: bool(tried), "the first reply was tried")
        assert bot.post(second).status_code == 200
    finally:
        client.__exit__(None, None, None)
    assert notes(seeded, "second") == 0  # not handled while the first reply is unsent
    # Even once the first one's lease ends, only it can be claimed (to send its reply).
    lease_ended(seeded)
    common: dict[str, Any] = {
        "engine": seeded,
        "channels": {"telegram"},
        "limit": 10,
        "lease": timedelta(seconds=30),
        "settle": timedelta(0),
        "max_attempts": 5,
        "max_claims": 50,
    }
    [(row, _token)] = inbox_store.claim(now=datetime.now(UTC), **common)[0]
    assert (row.key, row.handled) == (str(first["update_id"]), True)
    assert inbox_store.claim(now=datetime.now(UTC), **common)[0] == []
    lease_ended(seeded)

    monkeypatch.undo()
    order: list[str] = []
    real_send = TelegramChannel.send
    real_call = Core.__call__

    async def send(channel: TelegramChannel, chat_id: int | str, outgoing: Any, **kw: Any) -> Any:
        order.append("sent: " + outgoing.text)
        return await real_send(channel, chat_id, outgoing, **kw)

    def call(core: Core, event: InboundEvent, seal: Seal | None = None, **options: Any) -> Outcome:
        order.append(f"core: {event.text}")
        return real_call(core, event, seal, **options)

    monkeypatch.setattr(TelegramChannel, "send", send)
    monkeypatch.setattr(Core, "__call__", call)
    client, bot = _app_bot(seeded, fake_api)
    try:
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    said = translator("en").gettext("Internal note added to %(ref)s (not sent to the customer).")
    assert order == [
        "sent: " + said % {"ref": reference},
        f"core: /note {reference} second",
        "sent: " + said % {"ref": reference},
    ]
    assert (notes(seeded, "first"), notes(seeded, "second")) == (1, 1)


def test_a_transient_send_failure_is_retried_as_reply_only_a_refusal_is_given_up(
    seeded: Engine,
    fake_api: FakeBotApi,
    updates: Updates,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    link(seeded, handle="demo-agent", external_id=AGENT_ID)
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    reference = a_ticket(seeded)
    monkeypatch.setattr(inbox_store, "BACKOFF_BASE", 0.01)
    calls = CoreCalls(monkeypatch)
    client, bot = _app_bot(seeded, fake_api)

    async def no_wait(_seconds: float) -> None:
        return None

    bot.channel.sleep = no_wait  # the channel's own retries do not wait
    try:
        # Telegram is down for longer than the channel's own tries: the inbox retries.
        for _ in range(INTERACTIVE_ATTEMPTS):
            fake_api.fail(Failure("sendMessage", 502, "Bad Gateway"))
        note = updates.message(f"/note {reference} flaky", user_id=AGENT_ID, lang="en")
        assert bot.post(note).status_code == 200
        bot.drain()
        # A user who blocked the bot: given up at once, never retried.
        fake_api.fail(Failure("sendMessage", 403, "Forbidden: bot was blocked by the user"))
        caplog.set_level(logging.INFO)
        help_ = updates.message("/help", user_id=REQUESTER_ID, lang="en")
        assert bot.post(help_).status_code == 200
        bot.drain()
    finally:
        client.__exit__(None, None, None)
    said = translator("en").gettext("Internal note added to %(ref)s (not sent to the customer).")
    assert [m["text"] for m in fake_api.sent(AGENT_ID)] == [said % {"ref": reference}]
    assert notes(seeded, "flaky") == 1
    assert calls.texts == [f"/note {reference} flaky", "/help"]  # the retry did not rerun it
    rows = inbox(seeded)
    flaky = rows[str(note["update_id"])]
    assert (flaky.attempts, flaky.failures) == (2, 1)
    assert flaky.replied_at is not None
    assert "Bad Gateway" in (flaky.last_error or "")
    blocked = rows[str(help_["update_id"])]
    assert (blocked.attempts, blocked.failures, blocked.parked_at) == (1, 0, None)
    assert blocked.replied_at is not None
    assert any("refuses messages" in r.getMessage() for r in caplog.records)


# --------------------------------------------------------------------------- order window


async def test_one_chat_s_updates_posted_concurrently_in_reverse_are_handled_in_order(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    """The order window runs from each row's storage, on the drainer's clock (a virtual one
    here, advanced by the test): a later update stored first waits for the earlier ones."""
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    settings = make_settings(fake_api, default_locale="en", inbox_order_window_ms=100)
    clock = ManualClock(datetime.now(UTC))
    channel = make_channel(runtime=ChannelRuntime(settings=settings, engine=seeded))
    channel.clock = clock.now
    handled: list[str] = []

    async def recording(row: InboxRow, seal: Seal) -> None:
        handled.append(row.key)
        await channel.handle_row(row, seal)

    langs = ["nl", "fr", "en", "nl", "fr", "en"]
    posted = [updates.message(f"/lang {lang}", user_id=REQUESTER_ID, lang="en") for lang in langs]
    bodies = [json.dumps(update).encode() for update in posted]
    drainer = Drainer(
        engine=seeded, settings=settings, handlers={"telegram": recording}, clock=clock.now
    )
    async with channel.running(), drainer.running():
        assert await channel.ingest(bodies[-1])  # the latest is stored first, and rings
        passes = drainer.passes
        while drainer.passes < passes + 2:  # the drainer looked after the ring, and again
            drainer.wake()
            await asyncio.sleep(0.01)
        assert handled == []  # the clock has not moved: the row is not past its window yet
        stored = await asyncio.gather(*(channel.ingest(body) for body in reversed(bodies[:-1])))
        assert all(stored)
        clock.advance(timedelta(milliseconds=100))
        await drainer.settled()
    assert handled == [str(update["update_id"]) for update in posted]
    said = [m["text"] for m in fake_api.sent(REQUESTER_ID)]
    assert said == [
        translator(lang).gettext("I will speak English with you from now on.") for lang in langs
    ]


async def test_an_earlier_update_stored_after_the_window_of_a_later_one_comes_after_it(
    seeded: Engine, fake_api: FakeBotApi, updates: Updates
) -> None:
    """The limit of the guarantee: the window is all an earlier update has to be stored."""
    link(seeded, handle="demo-requester", external_id=REQUESTER_ID)
    settings = make_settings(fake_api, default_locale="en", inbox_order_window_ms=100)
    clock = ManualClock(datetime.now(UTC))
    channel = make_channel(runtime=ChannelRuntime(settings=settings, engine=seeded))
    channel.clock = clock.now
    handled: list[str] = []

    async def recording(row: InboxRow, seal: Seal) -> None:
        handled.append(row.key)
        await channel.handle_row(row, seal)

    earlier = updates.message("/lang nl", user_id=REQUESTER_ID, lang="en")
    later = updates.message("/lang fr", user_id=REQUESTER_ID, lang="en")
    drainer = Drainer(
        engine=seeded, settings=settings, handlers={"telegram": recording}, clock=clock.now
    )
    async with channel.running(), drainer.running():
        assert await channel.ingest(json.dumps(later).encode())
        clock.advance(timedelta(milliseconds=100))
        await drainer.settled()
        assert await channel.ingest(json.dumps(earlier).encode())
        clock.advance(timedelta(milliseconds=100))
        await drainer.settled()
    assert handled == [str(later["update_id"]), str(earlier["update_id"])]
